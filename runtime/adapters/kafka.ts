import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { RuntimeError } from '../core/errors.js';
import { sendAcknowledged } from '../produce.js';
import type { LogRecord, PartitionHandlers, PartitionSource, RecordSink } from '../ports/ports.js';

export interface KafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

export function kafkaClient(o: KafkaOptions): Kafka {
  return new Kafka({ clientId: o.clientId, brokers: [...o.brokers], logLevel: logLevel.WARN, retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 } });
}

/** How the topics this process creates are replicated; unset fields are derived from the cluster. */
export interface TopicReplication {
  /** Replicas per partition. Default: min(3, brokers the cluster reports now). */
  readonly replicationFactor?: number;
  /** `min.insync.replicas` of the topic. Default: 2 with 3 or more replicas, else 1. */
  readonly minInsyncReplicas?: number;
}

/**
 * The replication a new topic gets on a cluster of `brokers` live brokers: min(3, brokers) replicas and,
 * from 3 replicas, min ISR 2 — with acks=all a write then survives one broker's loss and is refused
 * rather than kept on a single copy when two are gone.
 */
export function topicReplication(brokers: number, r: TopicReplication = {}): { replicationFactor: number; minInsyncReplicas: number } {
  const replicationFactor = r.replicationFactor ?? Math.max(1, Math.min(3, brokers));
  const minInsyncReplicas = r.minInsyncReplicas ?? (replicationFactor >= 3 ? 2 : 1);
  if (minInsyncReplicas > replicationFactor) {
    throw new RuntimeError('RT_BAD_REPLICATION', `min.insync.replicas ${minInsyncReplicas} exceeds the replication factor ${replicationFactor}`, false);
  }
  return { replicationFactor, minInsyncReplicas };
}

/**
 * Creates topics that are missing, with the given partition count and replication (derived from the
 * cluster's broker count unless given); existing ones are left as they are.
 */
export async function ensureTopics(kafka: Kafka, topics: readonly { topic: string; partitions: number }[], replication: TopicReplication = {}): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      const brokers = replication.replicationFactor === undefined ? (await admin.describeCluster()).brokers.length : 0;
      const r = topicReplication(brokers, replication);
      await admin.createTopics({
        topics: missing.map((t) => ({
          topic: t.topic, numPartitions: t.partitions, replicationFactor: r.replicationFactor,
          configEntries: [{ name: 'min.insync.replicas', value: String(r.minInsyncReplicas) }],
        })),
        waitForLeaders: true,
      });
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
        const { nextOffset } = await h.onBatch(batch.partition, records, () => payload.heartbeat(), Number(batch.highWatermark));
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

  pause(partition: number): void {
    this.consumer.pause([{ topic: this.o.topic, partitions: [partition] }]);
  }

  resume(partition: number): void {
    this.consumer.resume([{ topic: this.o.topic, partitions: [partition] }]);
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

export interface RecordSinkOptions extends KafkaOptions {
  /**
   * Idempotent with acks=all (records that must not be lost or duplicated), or acks=1 without
   * idempotence (a view stream whose readers detect gaps themselves, where latency matters more).
   */
  readonly durable: boolean;
  /**
   * Bytes of record values per request, at most (default {@link MAX_REQUEST_BYTES}): the records queued
   * meanwhile go out in several requests rather than one that the broker refuses.
   */
  readonly maxRequestBytes?: number;
}

/**
 * Below the broker's default `message.max.bytes` (1 MiB), which bounds each partition's record batch
 * of a request: kafkajs puts all of one request's records of a partition in one batch, so a restored
 * shard's first deltas (its whole state, 2 MB over 7 records for 26 k cells) in one request were refused
 * whole ("larger than the max message size").
 */
export const MAX_REQUEST_BYTES = 768 * 1024;

/**
 * Cuts records, in order, into runs of at most `maxBytes` of values each (a record bigger than that on
 * its own): the requests a sink sends one after the other.
 */
export function chunkByBytes<R extends { readonly value: Buffer }>(records: readonly R[], maxBytes: number): R[][] {
  const out: R[][] = [];
  let cur: R[] = [];
  let bytes = 0;
  for (const r of records) {
    if (cur.length > 0 && bytes + r.value.byteLength > maxBytes) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += r.value.byteLength;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * A producer writing to explicit partitions that coalesces: kafkajs has no linger, and an idempotent
 * kafkajs producer effectively sends one request at a time, so many small `send`s queue up behind each
 * other. Here every `send` made while a request is in flight joins the next request. A durable sink has
 * one request in flight; a non-durable one (acks=1) two, so one slow acknowledgement does not hold the
 * next batch back. Requests go out in order on the broker connection, which keeps a partition's records
 * in order unless a request is retried (readers of such a stream detect reordering by sequence). What is
 * queued goes out in requests of at most `maxRequestBytes` each, one after the other.
 */
export class KafkaRecordSink implements RecordSink {
  private queue: { topic: string; records: readonly { partition: number; value: Buffer }[]; done: (err?: unknown) => void }[] = [];
  private sending = 0;

  private constructor(private readonly producer: Producer, private readonly acks: number, private readonly maxInFlight: number, private readonly maxRequestBytes: number) {}

  static async open(o: RecordSinkOptions): Promise<KafkaRecordSink> {
    const producer = kafkaClient(o).producer(o.durable
      ? { idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false }
      : { idempotent: false, allowAutoTopicCreation: false });
    await producer.connect();
    return new KafkaRecordSink(producer, o.durable ? -1 : 1, o.durable ? 1 : 2, o.maxRequestBytes ?? MAX_REQUEST_BYTES);
  }

  send(topic: string, records: readonly { partition: number; value: Buffer }[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, records, done: (err) => (err === undefined ? resolve() : reject(err instanceof Error ? err : new Error("record sink send failed", { cause: err }))) });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.sending >= this.maxInFlight) return;
    this.sending++;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        // Each send's records, tagged with the send, in order; a send is done once its last request is.
        const tagged = batch.flatMap((q, i) => q.records.map((r) => ({ i, topic: q.topic, partition: r.partition, value: r.value })));
        const requests = chunkByBytes(tagged, this.maxRequestBytes);
        let settled = 0;
        try {
          for (const req of requests) {
            const byTopic = new Map<string, { partition: number; value: Buffer }[]>();
            for (const r of req) {
              let l = byTopic.get(r.topic);
              if (!l) byTopic.set(r.topic, (l = []));
              l.push({ partition: r.partition, value: r.value });
            }
            // A durable sink's records must each be written once (runtime/produce.ts); a view stream's
            // readers detect a lost or doubled record by sequence and resync, so one request serves it.
            const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
            if (this.acks === -1) await sendAcknowledged(this.producer, { acks: this.acks, topicMessages });
            else await this.producer.sendBatch({ acks: this.acks, topicMessages });
            const through = req[req.length - 1]!.i;
            for (; settled < through; settled++) batch[settled]!.done();
          }
          for (; settled < batch.length; settled++) batch[settled]!.done();
        } catch (err) {
          for (; settled < batch.length; settled++) batch[settled]!.done(err);
        }
      }
    } finally {
      this.sending--;
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
