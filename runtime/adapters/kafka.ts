import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import type { LogRecord, PartitionHandlers, PartitionSource, RecordSink } from '../ports/ports.js';

export interface KafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

export function kafkaClient(o: KafkaOptions): Kafka {
  return new Kafka({ clientId: o.clientId, brokers: [...o.brokers], logLevel: logLevel.WARN, retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 } });
}

/** Creates topics that are missing, with the given partition count; existing ones are left as they are. */
export async function ensureTopics(kafka: Kafka, topics: readonly { topic: string; partitions: number }[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({ topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1 })), waitForLeaders: true });
    }
  } finally {
    await admin.disconnect();
  }
}

export interface GroupSourceOptions extends KafkaOptions {
  readonly topic: string;
  readonly groupId: string;
  /** A member silent this long loses its partitions (broker bounds: 6-300 s by default). */
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxBytesPerPartition: number;
  /** Cap of one fetch response over all partitions. */
  readonly maxBytes: number;
  readonly maxWaitMs: number;
}

/** A kafkajs consumer-group member: the group protocol decides which partitions this process owns. */
export class KafkaGroupSource implements PartitionSource {
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;

  constructor(private readonly o: GroupSourceOptions) {
    this.kafka = kafkaClient(o);
    this.consumer = this.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      rebalanceTimeout: Math.max(o.sessionTimeoutMs * 2, 20_000),
      heartbeatInterval: o.heartbeatIntervalMs,
      maxBytesPerPartition: o.maxBytesPerPartition,
      maxBytes: o.maxBytes,
      maxWaitTimeInMs: o.maxWaitMs,
      allowAutoTopicCreation: false,
    });
  }

  async start(h: PartitionHandlers): Promise<void> {
    const { topic } = this.o;
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const mine = (e.payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b);
      void h.onAssignment(mine);
    });
    this.consumer.on(this.consumer.events.REBALANCING, () => {
      void h.onRebalancing();
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1024,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
        const records: LogRecord[] = batch.messages.map((m) => ({ offset: Number(m.offset), value: m.value ?? Buffer.alloc(0) }));
        const { nextOffset } = await h.onBatch(batch.partition, records, () => payload.heartbeat());
        if (nextOffset === undefined) return; // not processed: kafkajs fetches it again
        const last = records[records.length - 1]!.offset;
        // kafkajs fetches from the last resolved offset: resolving is how the fetch position moves on.
        if (nextOffset === last + 1) payload.resolveOffset(String(last));
        else this.consumer.seek({ topic, partition: batch.partition, offset: String(nextOffset) });
      },
    });
  }

  async commitForMonitoring(partition: number, nextOffset: number): Promise<void> {
    await this.consumer.commitOffsets([{ topic: this.o.topic, partition, offset: String(nextOffset) }]);
  }

  async highWatermarks(): Promise<Map<number, number>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(this.o.topic);
      return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    } finally {
      await admin.disconnect();
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/** Idempotent producer (acks=all) writing to explicit partitions. */
export class KafkaRecordSink implements RecordSink {
  private constructor(private readonly producer: Producer) {}

  static async open(o: KafkaOptions): Promise<KafkaRecordSink> {
    const producer = kafkaClient(o).producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false });
    await producer.connect();
    return new KafkaRecordSink(producer);
  }

  async send(topic: string, records: readonly { partition: number; value: Buffer }[]): Promise<void> {
    if (records.length === 0) return;
    await this.producer.send({ topic, acks: -1, messages: records.map((r) => ({ partition: r.partition, value: r.value })) });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
