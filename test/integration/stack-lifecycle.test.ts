import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { ADME_BIN, stackConfig, uniqueName } from '../support/env.js';

const run = promisify(execFile);
const c = stackConfig();
const adme = (...args: string[]) => run(process.execPath, [ADME_BIN, ...args], { env: process.env, timeout: 300_000 });

async function statusOf(name: string): Promise<{ state: string; pid: number | null }> {
  const { stdout } = await adme('stack', 'status', '--json');
  const rows = JSON.parse(stdout) as { name: string; state: string; pid?: number }[];
  const row = rows.find((r) => r.name === name);
  if (!row) throw new Error(`no status row for ${name}`);
  return { state: row.state, pid: row.pid ?? null };
}

// Skipped only against external servers (MONGO_URL / KAFKA_BROKERS set): `adme stack down|up` leaves
// those alone by design, so there is no lifecycle of ours to test.
// Skip reason: external MongoDB or Kafka servers are not started or stopped by adme, so there is no lifecycle to test.
describe.skipIf(c.mongo.external || c.kafka.external)('stack lifecycle (adme CLI)', () => { // skipped only against external servers
  afterAll(async () => {
    // Leave the stack as the suite found it: every server up.
    await adme('stack', 'up');
  });

  it('down then up keeps FerretDB data; status reports the stopped server as stopped', async () => {
    const dbName = uniqueName('adme_life');
    const write = new MongoClient(c.mongo.url);
    await write.connect();
    await write.db(dbName).collection('kept').insertOne({ _id: 'a' as never, n: 42 });
    await write.close();

    await adme('stack', 'down', 'ferretdb');
    expect(await statusOf('ferretdb')).toEqual({ state: 'stopped', pid: null });
    expect((await statusOf('kafka')).state).toBe('running');

    await adme('stack', 'up', 'ferretdb');
    const after = await statusOf('ferretdb');
    expect(after.state).toBe('running');
    expect(after.pid).toBeGreaterThan(0);

    const read = new MongoClient(c.mongo.url);
    await read.connect();
    expect(await read.db(dbName).collection('kept').findOne({ _id: 'a' as never })).toEqual({ _id: 'a', n: 42 });
    await read.db(dbName).dropDatabase();
    await read.close();
  });

  it('down then up keeps Kafka topics and records', async () => {
    const topic = uniqueName('adme.test.life');
    const kafka = new Kafka({ clientId: 'adme-test', brokers: c.kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'one' }, { value: 'two' }] });
    await producer.disconnect();

    await adme('stack', 'down', 'kafka');
    expect((await statusOf('kafka')).state).toBe('stopped');
    await adme('stack', 'up', 'kafka');
    expect((await statusOf('kafka')).state).toBe('running');

    const admin2 = kafka.admin();
    await admin2.connect();
    const offsets = await admin2.fetchTopicOffsets(topic);
    await admin2.deleteTopics({ topics: [topic] });
    await admin2.disconnect();
    expect(offsets.map((o) => [o.partition, o.low, o.high])).toEqual([[0, '0', '2']]);
  });

  it('up twice is harmless: the running servers keep their pids', async () => {
    const before = await statusOf('cassandra');
    await adme('stack', 'up');
    expect(await statusOf('cassandra')).toEqual(before);
  });
});
