/** Shared set-up of the gateway integration tests: a gateway on a free port, its own topic and key file. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { AdEvent, EventBatchRecord } from '../../actors/model/index.js';
import { createKey, decodeMsgpack, loadGatewayConfig, startGateway, type GatewayConfig, type RunningGateway, type Scope } from '../../gateway/index.js';
import { stackConfig, uniqueName, waitFor } from '../support/env.js';

export const kafka = new Kafka({ clientId: 'adme-test', brokers: stackConfig().kafka.brokers, logLevel: logLevel.NOTHING });

export interface TestGateway {
  readonly gw: RunningGateway;
  readonly url: string;
  readonly cfg: GatewayConfig;
  readonly keysFile: string;
  key(scopes: Scope[], opts?: { rate?: number; burst?: number }): string;
}

export async function testGateway(env: Record<string, string> = {}, partitions = 4): Promise<TestGateway> {
  const keysFile = join(mkdtempSync(join(tmpdir(), 'adme-gw-')), 'keys.json');
  const c = stackConfig();
  const cfg = loadGatewayConfig({ brokers: c.kafka.brokers, stateDir: c.stateDir, cassandra: { contactPoints: c.cassandra.contactPoints, localDc: c.cassandra.localDc } }, {
    // A deltas topic of its own: the live view then has nothing of other runs to replay. No privacy floor
    // unless a test sets one: most tests count a handful of users per cell (its own tests are in stream-live).
    ADME_PRIVACY_K: '0', ADME_PORT: '0', ADME_EVENTS_TOPIC: uniqueName('adme.test.events'), ADME_DELTAS_TOPIC: uniqueName('adme.test.deltas'), ADME_PARTITIONS: String(partitions), ADME_KEYS_FILE: keysFile, ...env,
  });
  const gw = await startGateway(cfg);
  return { gw, cfg, keysFile, url: `http://127.0.0.1:${gw.port}`, key: (scopes, opts = {}) => {
    const { secret } = createKey(keysFile, scopes, opts);
    gw.keys.reload(); // the gateway also notices within ~0.5 s by itself (file watch)
    return secret;
  } };
}

/** Reads the topic from the beginning until `expected` events arrived; returns them per partition, in offset order. */
export async function readEvents(topic: string, expected: number, timeoutMs = 30_000): Promise<Map<number, AdEvent[]>> {
  const consumer = kafka.consumer({ groupId: uniqueName('adme-test-read') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const byPartition = new Map<number, AdEvent[]>();
  let count = 0;
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const rec = decodeMsgpack(m.value!) as EventBatchRecord;
        const list = byPartition.get(batch.partition) ?? [];
        list.push(...rec.events);
        byPartition.set(batch.partition, list);
        count += rec.events.length;
      }
    },
  });
  try {
    await waitFor(`${expected} events in ${topic} (have ${count})`, () => count >= expected, timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return byPartition;
}

/** Events grouped by user, in order. */
export function byUser(events: Iterable<AdEvent>): Map<string, AdEvent[]> {
  const m = new Map<string, AdEvent[]>();
  for (const e of events) m.set(e.userId, [...(m.get(e.userId) ?? []), e]);
  return m;
}

/** Counts the events now in a topic (sum over partitions of high watermarks is records, not events). */
export async function topicOffsets(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}
