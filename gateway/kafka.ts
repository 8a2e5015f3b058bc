/**
 * The gateway's Kafka side: creates the events topic if missing, produces with an idempotent producer
 * (acks=all), and keeps an availability flag. After a failed produce the gateway answers 503 at once
 * (nothing is sent) until a probe reaches the broker again; the producer is then rebuilt, so a retry
 * never reuses the failed producer's sequence numbers.
 */
import { Kafka, logLevel, type Admin, type Producer, type logCreator } from 'kafkajs';
import { SEND_ROUNDS, sendAcknowledged } from '../runtime/produce.js';
import type { ProduceRecord } from './batcher.js';
import { KafkaUnavailableError } from './errors.js';

/**
 * kafkajs logs every retry and lost connection as an error; the gateway reports availability itself, so
 * only other errors reach its log.
 */
export function quietKafkaLog(log: (message: string) => void): logCreator {
  return () => ({ level, log: entry }) => {
    if (level <= logLevel.ERROR && !/^Response |Connection error|ECONNREFUSED|retry|timed out|disconnected|not connected|connect ECONN|The group is rebalancing/i.test(entry.message)) {
      log(`kafkajs: ${entry.message}`);
    }
  };
}

/** Replication of a topic the gateway creates; unset fields are derived from the cluster. */
export interface TopicReplication {
  readonly replicationFactor?: number | undefined;
  readonly minInsyncReplicas?: number | undefined;
}

/**
 * The settings of a topic the gateway creates: min(3, live brokers) replicas, min ISR 2 from 3 replicas.
 * The same rule as the runtime's `topicReplication` (runtime/index.js is not imported here: it would load
 * the Cassandra and MongoDB drivers into every gateway thread).
 */
export async function topicSettings(admin: Admin, r: TopicReplication): Promise<{ replicationFactor: number; configEntries: { name: string; value: string }[] }> {
  const replicationFactor = r.replicationFactor ?? Math.max(1, Math.min(3, (await admin.describeCluster()).brokers.length));
  const minIsr = r.minInsyncReplicas ?? (replicationFactor >= 3 ? 2 : 1);
  return { replicationFactor, configEntries: [{ name: 'min.insync.replicas', value: String(Math.min(minIsr, replicationFactor)) }] };
}

export interface GatewayKafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly log: (message: string) => void;
  /** kafkajs request timeout, ms (its default when absent). */
  readonly requestTimeoutMs?: number;
  /** kafkajs retries of a request; bounded, so that the gateway answers rather than waits. */
  readonly retries?: number;
}

/**
 * The one place the gateway builds a Kafka client (the producer of each uWS thread and the process's delta
 * feed): quiet logs, a 1 s connection timeout, bounded retries. Not runtime/'s kafkaClient: importing
 * runtime/index.js would load the Cassandra and MongoDB drivers into every gateway thread.
 */
export function gatewayKafka(o: GatewayKafkaOptions): Kafka {
  return new Kafka({
    clientId: o.clientId,
    brokers: [...o.brokers],
    logLevel: logLevel.ERROR,
    logCreator: quietKafkaLog(o.log),
    connectionTimeout: 1000,
    ...(o.requestTimeoutMs !== undefined ? { requestTimeout: o.requestTimeoutMs } : {}),
    retry: { retries: o.retries ?? 3, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/**
 * Creates `topic` with `partitions` when it is missing (another process creating it at the same time
 * is harmless); answers whether this call created it.
 */
export async function ensureTopic(admin: Admin, topic: string, partitions: number, replication: TopicReplication = {}): Promise<boolean> {
  if ((await admin.listTopics()).includes(topic)) return false;
  return admin.createTopics({ topics: [{ topic, numPartitions: partitions, ...await topicSettings(admin, replication) }], waitForLeaders: true }).catch(() => false);
}

export interface EventProducerOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topic: string;
  readonly partitions: number;
  readonly replication?: TopicReplication;
  readonly produceTimeoutMs: number;
  readonly retryAfterMs: number;
  readonly log: (message: string) => void;
  /** Hears of each re-send of partitions a produce's answer left out (see runtime/produce.ts). */
  readonly onResend?: (partitions: readonly string[]) => void;
  /** ms between probes while Kafka is unavailable. */
  readonly probeEveryMs?: number;
}

export class EventProducer {
  private readonly kafka: Kafka;
  private admin: Admin | undefined;
  private producer: Producer | undefined;
  private partitionCount = 0;
  private up = false;
  private probing: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: EventProducerOptions) {
    this.kafka = gatewayKafka({ brokers: opts.brokers, clientId: opts.clientId, log: opts.log, requestTimeoutMs: opts.produceTimeoutMs });
  }

  get available(): boolean {
    return this.up;
  }

  get partitions(): number {
    return this.partitionCount;
  }

  /** Creates the topic when missing (with the configured partition count) and connects the producer. */
  async start(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    const created = await ensureTopic(this.admin, this.opts.topic, this.opts.partitions, this.opts.replication ?? {});
    const meta = await this.admin.fetchTopicMetadata({ topics: [this.opts.topic] });
    this.partitionCount = meta.topics[0]?.partitions.length ?? 0;
    if (this.partitionCount === 0) throw new Error(`topic ${this.opts.topic} has no partitions`);
    this.opts.log(`topic ${this.opts.topic}: ${created ? 'created with' : 'exists,'} ${this.partitionCount} partitions`);
    await this.connectProducer();
    this.up = true;
  }

  private async connectProducer(): Promise<void> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Bounded retries: the gateway must answer (503) rather than hold requests forever.
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    await producer.connect();
    this.producer = producer;
  }

  /** Produces the records; resolves once Kafka acknowledged all of them (acks=all). */
  async send(records: ProduceRecord[]): Promise<void> {
    const producer = this.producer;
    if (!this.up || !producer) throw new KafkaUnavailableError('Kafka is unavailable; nothing was written', this.opts.retryAfterMs);
    try {
      await sendAcknowledged(producer, {
        topicMessages: [{ topic: this.opts.topic, messages: records.map((r) => ({ partition: r.partition, value: r.value })) }],
        acks: -1,
        timeout: this.opts.produceTimeoutMs,
      }, SEND_ROUNDS, (missing) => {
        this.opts.log(`Kafka left ${missing.join(', ')} out of its answer; sending them again`);
        this.opts.onResend?.(missing);
      });
    } catch (err) {
      this.markDown(err as Error);
      throw new KafkaUnavailableError(`Kafka did not acknowledge the events: ${(err as Error).message}`, this.opts.retryAfterMs, err);
    }
  }

  private markDown(err: Error): void {
    if (!this.up) return;
    this.up = false;
    this.opts.log(`Kafka unavailable (${err.message}); answering 503 until it is back`);
    const old = this.producer;
    this.producer = undefined;
    void old?.disconnect().catch(() => undefined);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.closed || this.probing) return;
    this.probing = setTimeout(() => {
      this.probing = undefined;
      void this.probe().then((ok) => {
        if (!ok) this.scheduleProbe();
      });
    }, this.opts.probeEveryMs ?? 500);
  }

  private async probe(): Promise<boolean> {
    try {
      await this.admin?.fetchTopicMetadata({ topics: [this.opts.topic] });
      await this.connectProducer();
      this.up = true;
      this.opts.log('Kafka is back; accepting events');
      return true;
    } catch {
      return false;
    }
  }

  /** For /readyz: the broker answers a metadata request now. */
  async reachable(): Promise<boolean> {
    if (!this.up) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      // kafkajs retries for seconds when the broker is gone; a readiness probe answers within 2 s.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('metadata request timed out')), 2000);
      });
      await Promise.race([this.admin?.fetchTopicMetadata({ topics: [this.opts.topic] }), timeout]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probing) clearTimeout(this.probing);
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
