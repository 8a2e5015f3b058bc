// The real adapters against the conformance suites the memory adapters pass too
// (test/unit/runtime/memory-ports.test.ts): each test gets a keyspace, database, topic and group of its own.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CassandraArchiveStore, CassandraCheckpointStore, KafkaGroupSource, KafkaRecordSink, MongoDocStore, cassandraClient, type CheckpointStore } from '../../runtime/index.js';
import { archiveStoreConformance } from '../conformance/archive-store.suite.js';
import { checkpointStoreConformance } from '../conformance/checkpoint-store.suite.js';
import { docStoreConformance } from '../conformance/doc-store.suite.js';
import { partitionSourceConformance } from '../conformance/partition-source.suite.js';
import { recordSinkConformance } from '../conformance/record-sink.suite.js';
import { stackConfig, uniqueName, waitFor } from '../support/env.js';

const stack = stackConfig();
const kafka = new Kafka({ clientId: 'adme-test-conformance', brokers: stack.kafka.brokers, logLevel: logLevel.ERROR });
const admin = kafka.admin();
const cassandra = cassandraClient({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc });

beforeAll(async () => {
  await admin.connect();
  await cassandra.connect();
});
afterAll(async () => {
  await admin.disconnect();
  await cassandra.shutdown();
});

const createTopic = async (partitions: number) => {
  const topic = uniqueName('adme.test.conformance');
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  // Leaders are elected before they serve the partition: a send in between fails with "does not host".
  await waitFor(`${topic} served`, async () => (await admin.fetchTopicOffsets(topic)).length === partitions, 30_000, 50);
  return topic;
};

checkpointStoreConformance('Cassandra', async () => {
  const keyspace = uniqueName('rt_conformance');
  const stores: CheckpointStore[] = [];
  return {
    // 1 KiB rows, so that the suite's larger parts span several chunks.
    open: async () => {
      const s = await CassandraCheckpointStore.open({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc, keyspace, chunkBytes: 1024 });
      stores.push(s);
      return s;
    },
    dispose: async () => {
      await Promise.all(stores.map((s) => s.close()));
      await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    },
  };
});

archiveStoreConformance('Cassandra', async () => {
  const keyspace = uniqueName('rt_archive');
  const stores: { close(): Promise<void> }[] = [];
  return {
    open: async () => {
      const s = await CassandraArchiveStore.open({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc, keyspace, ttlSeconds: 3600 });
      stores.push(s);
      return s;
    },
    dispose: async () => {
      await Promise.all(stores.map((s) => s.close()));
      await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    },
  };
});

docStoreConformance('MongoDB protocol (FerretDB)', async () => {
  const store = await MongoDocStore.open(stack.mongo.url, uniqueName('adme_conformance'));
  return {
    store,
    read: async (c) => store.database.collection(c).find().sort({ _id: 1 }).toArray(),
    dispose: async () => {
      await store.database.dropDatabase().catch(() => undefined);
      await store.close();
    },
  };
});

/** Every record of `topic` up to its high watermarks, read with a consumer group of its own. */
async function readTopic(topic: string): Promise<Map<number, Buffer[]>> {
  const high = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  const got = new Map<number, Buffer[]>([...high.keys()].map((p) => [p, []]));
  const consumer = kafka.consumer({ groupId: uniqueName('adme-test-conformance-read') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.get(partition)!.push(Buffer.from(message.value ?? Buffer.alloc(0)));
      },
    });
    await waitFor(`every record of ${topic}`, () => [...high].every(([p, n]) => got.get(p)!.length >= n), 60_000, 50);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

for (const durable of [true, false]) {
  recordSinkConformance(`Kafka (${durable ? 'durable: idempotent, acks=all' : 'view stream: acks=1, two in flight'})`, async () => {
    const sink = await KafkaRecordSink.open({ brokers: stack.kafka.brokers, clientId: 'adme-test-conformance-sink', durable });
    const topics: string[] = [];
    return {
      sink,
      createTopic: async (partitions) => {
        const t = await createTopic(partitions);
        topics.push(t);
        return t;
      },
      read: readTopic,
      dispose: async () => {
        await sink.close();
        if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
      },
    };
  }, { order: durable ? 'sends' : 'within-send' });
}

partitionSourceConformance('Kafka consumer group', async (partitions) => {
  const topic = await createTopic(partitions);
  const groupId = uniqueName('adme-test-conformance-group');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const members: KafkaGroupSource[] = [];
  return {
    append: async (partition, values) => {
      await producer.send({ topic, acks: -1, messages: values.map((value) => ({ partition, value })) });
    },
    member: (id) => {
      // Small fetches, so that records of one append arrive in several batches where they can.
      const m = new KafkaGroupSource({
        brokers: stack.kafka.brokers, clientId: `adme-test-conformance-${id}`, topic, groupId,
        sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxBytesPerPartition: 256, maxBytes: 1024 * 1024, maxWaitMs: 50,
      });
      members.push(m);
      return m;
    },
    dispose: async () => {
      await Promise.all(members.map((m) => m.stop().catch(() => undefined)));
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    },
  };
}, { timeoutMs: 60_000 });

// Beyond the contract, what only Cassandra's layout can show: parts are stored as chunk rows, and the
// rows of a part that left the manifest are deleted after the commit.
describe('CassandraCheckpointStore rows', () => {
  const keyspace = uniqueName('rt_ckpt_rows');
  const stores: CheckpointStore[] = [];
  const open = async () => {
    const s = await CassandraCheckpointStore.open({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc, keyspace, chunkBytes: 1024 });
    stores.push(s);
    return s;
  };
  const rows = async (part: string) => {
    const rs = await cassandra.execute(`SELECT data FROM ${keyspace}.checkpoints WHERE shard = ? AND part = ?`, ['s/0', part], { prepare: true });
    return rs.rows.map((r) => (r.get('data') as Buffer).byteLength);
  };
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
  });

  it('a part spans chunk rows of at most chunkBytes; a dropped part and a replaced one leave no rows behind', async () => {
    const a = await open();
    const { epoch } = await a.acquire('s/0', 'a');
    await a.save('s/0', epoch, 10, new Map([['meta', Uint8Array.of(1)], ['w:0', new Uint8Array(randomBytes(2500))], ['c:0:1', new Uint8Array(randomBytes(3000))]]));
    expect([await rows('meta'), await rows('w:0'), await rows('c:0:1')]).toEqual([[1], [1024, 1024, 452], [1024, 1024, 952]]);
    await a.save('s/0', epoch, 20, new Map([['meta', Uint8Array.of(2, 2)], ['w:0', null]]));
    expect([await rows('meta'), await rows('w:0'), await rows('c:0:1')]).toEqual([[2], [1024, 1024, 452], []]);
  });
});
