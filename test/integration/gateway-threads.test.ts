/**
 * A gateway of two uWS threads with the process's one live view on the main thread (live/remote.ts):
 * deltas written before it starts are replayed once, /readyz waits for that, and every viewer, whatever
 * thread took its connection, gets the exact cells; the query API answers from the same store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, EVENT_TYPES, type DeltaRecord, type TopAnswer } from '../../actors/model/index.js';
import { createKey } from '../../gateway/index.js';
import { ADME_BIN, stackConfig, uniqueName, waitFor } from '../support/env.js';
import { TestViewer } from '../support/viewer.js';
import { kafka } from './gateway-helpers.js';

const W = 10_000;
const N = EVENT_TYPES.length;
const WORLD = [-180, -90, 180, 90] as const;

function delta(partition: number, seq: number, window: number, rows: [string, number][]): DeltaRecord {
  const counts = new Uint32Array(rows.length * N);
  rows.forEach(([, n], i) => {
    counts[i * N] = n;
  });
  return {
    v: 1, partition, epoch: 1, seq, at: Date.now(), oldestAt: Date.now(), precision: 6, windowMs: W,
    windows: new Float64Array(rows.length).fill(window), cells: rows.map((r) => r[0]), counts,
    values: new Float64Array(rows.length), users: new Uint32Array(rows.length),
  };
}

describe('gateway threads: one live view per process', () => {
  const deltasTopic = uniqueName('adme.test.deltas');
  const keysFile = join(mkdtempSync(join(tmpdir(), 'adme-gw-')), 'keys.json');
  const key = createKey(keysFile, ['view'], {}).secret;
  const window = Math.floor(Date.now() / W) * W;
  let gw: ChildProcess | undefined;
  let url: string;
  const viewers: TestViewer[] = [];

  beforeAll(async () => {
    const producer = kafka.producer();
    await producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: deltasTopic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    // Partition 0 replaces its own value of u09tvw (absolute values): 5 then 9.
    await producer.send({ topic: deltasTopic, messages: [
      { partition: 0, value: Buffer.from(encode(delta(0, 1, window, [['u09tvw', 5], ['gcpvj0', 2]]))) },
      { partition: 0, value: Buffer.from(encode(delta(0, 2, window, [['u09tvw', 9]]))) },
      { partition: 1, value: Buffer.from(encode(delta(1, 1, window, [['u09tvw', 4]]))) },
    ] });
    await producer.disconnect();
    // The compiled CLI: worker threads load compiled modules.
    const env = {
      ...process.env, ADME_PRIVACY_K: '0', ADME_PORT: '0', ADME_GATEWAY_THREADS: '2', ADME_EVENTS_TOPIC: uniqueName('adme.test.events'), ADME_DELTAS_TOPIC: deltasTopic,
      ADME_PARTITIONS: '2', ADME_KEYS_FILE: keysFile, ADME_MONGO_URL: stackConfig().mongo.url, ADME_MONGO_DB: uniqueName('adme_test'), ADME_QUERY_CACHE_MS: '0',
    };
    const proc = spawn(process.execPath, [ADME_BIN, 'gateway'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    gw = proc;
    const log: string[] = [];
    const onData = (b: Buffer) => log.push(...b.toString().split('\n'));
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    const port = await waitFor('the gateway to listen', () => {
      if (proc.exitCode !== null) throw new Error(`gateway exited: ${log.slice(-10).join('\n')}`);
      const m = log.map((l) => /ready on http:\/\/[\d.]+:(\d+) with 2 thread/.exec(l)).find(Boolean);
      return m ? Number(m[1]) : undefined;
    }, 60_000);
    url = `http://127.0.0.1:${port}`;
  }, 90_000);

  afterAll(async () => {
    await Promise.all(viewers.map((v) => v.close()));
    if (gw && gw.exitCode === null) {
      const exited = new Promise((resolve) => gw!.once('exit', resolve));
      gw.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  it('is ready once the replay is done; every viewer gets the exact cells; queries read the same store', async () => {
    await waitFor('/readyz 200', async () => (await fetch(`${url}/readyz`)).status === 200);
    for (let i = 0; i < 8; i++) viewers.push(await TestViewer.open(url, key));
    for (const v of viewers) v.send({ type: 'subscribe', bbox: [...WORLD], precision: 6, windowS: 10 });
    for (const v of viewers) await v.until('the replayed cells', (x) => x.cells.size === 2);
    for (const v of viewers) expect(Object.fromEntries([...v.cells].map(([c, x]) => [c, x.counts[0]]))).toEqual({ u09tvw: 13, gcpvj0: 2 });

    const top = await (await fetch(`${url}/v1/top?precision=6`, { headers: { authorization: `Bearer ${key}` } })).json() as TopAnswer & { source: string };
    expect([top.source, top.rows.map((r) => [r.cell, r.total])]).toEqual(['live', [['u09tvw', 13], ['gcpvj0', 2]]]);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    // One delta consumer for the process: each delta counted once, whatever the thread count.
    expect([gauge('adme_gateway_threads'), gauge('adme_stream_viewers'), gauge('adme_stream_deltas_total'), gauge('adme_stream_live_rows'), gauge('adme_stream_live_ready')]).toEqual([2, 8, 3, 2, 1]);
  }, 60_000);
});
