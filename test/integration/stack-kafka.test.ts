import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackConfig, uniqueName, waitFor } from '../support/env.js';

const c = stackConfig();
const kafka = new Kafka({ clientId: 'adme-test', brokers: c.kafka.brokers, logLevel: logLevel.ERROR });

describe('Kafka (local stack)', () => {
  const topic = uniqueName('adme.test.stack');
  const admin = kafka.admin();

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('the admin client sees the created topic with its partitions', async () => {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
  });

  it('an idempotent producer writes; a consumer group reads back exactly the bytes written', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
    await producer.connect();
    const sent = Array.from({ length: 300 }, (_, i) => ({
      key: `user-${i % 17}`,
      value: Buffer.from(Array.from({ length: 64 }, (_, j) => (i * 31 + j * 7) % 256)),
    }));
    const acks = await producer.send({ topic, acks: -1, messages: sent });
    await producer.disconnect();
    expect(acks.every((a) => a.errorCode === 0)).toBe(true);

    const groupId = uniqueName('adme-test-group');
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; value: Buffer; partition: number }[] = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push({ key: message.key!.toString(), value: Buffer.from(message.value!), partition });
      },
    });
    await waitFor('all 300 records', () => received.length >= sent.length, 60_000);
    await consumer.disconnect();

    expect(received).toHaveLength(sent.length);
    const want = new Map<string, Buffer[]>();
    for (const m of sent) want.set(m.key, [...(want.get(m.key) ?? []), m.value]);
    const got = new Map<string, Buffer[]>();
    for (const m of received) got.set(m.key, [...(got.get(m.key) ?? []), m.value]);
    // Same key -> same partition -> same order.
    for (const [key, values] of want) expect(Buffer.concat(got.get(key) ?? [])).toEqual(Buffer.concat(values));
    for (const key of want.keys()) expect(new Set(received.filter((r) => r.key === key).map((r) => r.partition)).size).toBe(1);
  });
});
