/**
 * Reads every partition of `adme.deltas.v1` for one gateway process (live/service.ts). Each reader is its own consumer
 * group (a fresh id), so every gateway sees all deltas; it starts `replayMs` back in time (offsets by
 * timestamp) so the live windows are complete from the first viewer on — deltas carry absolute values,
 * so replaying them rebuilds exactly the current state. No offsets are committed.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { decode, type DeltaRecord } from '../../actors/model/index.js';
import { ensureTopic, gatewayKafka, type TopicReplication } from '../kafka.js';

/** Work on deltas between two turns of the event loop, ms (the frame clock ticks every 100 ms). */
const SLICE_MS = 10;

export interface DeltaFeedOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topic: string;
  /** Partitions when the topic has to be created (the runtime uses the events topic's count). */
  readonly partitions: number;
  readonly replication?: TopicReplication;
  readonly replayMs: number;
  readonly log: (message: string) => void;
  readonly onDeltas: (deltas: DeltaRecord[]) => void;
}

export class DeltaFeed {
  private consumer: Consumer | undefined;
  private stopped = false;
  /** Partitions still replaying towards the end they had at start (→ offset to reach). */
  private behind: Map<number, number> | undefined;
  /** Wall time the replay started from; undefined until connected. */
  private replayFrom: number | undefined;
  badRecords = 0;
  /** Start of the current slice of delta work (see eachBatch). */
  private sliceAt = 0;

  constructor(private readonly o: DeltaFeedOptions) {}

  /** Starts in the background, retrying every few seconds until Kafka answers; never throws. */
  start(): void {
    const attempt = (n: number): void => {
      if (this.stopped) return;
      this.connect().catch((err: unknown) => {
        if (n === 0 || n % 10 === 0) this.o.log(`live view: cannot read ${this.o.topic} yet (${(err as Error).message}); retrying`);
        void this.consumer?.disconnect().catch(() => undefined);
        this.consumer = undefined;
        setTimeout(() => attempt(n + 1), 3000).unref();
      });
    };
    attempt(0);
  }

  private async connect(): Promise<void> {
    const kafka = gatewayKafka({ brokers: this.o.brokers, clientId: this.o.clientId, log: this.o.log, retries: 5 });
    const admin = kafka.admin();
    await admin.connect();
    let offsets: { partition: number; offset: string }[];
    try {
      // The runtime creates the topic too (runtime/index.js's ensureTopics, not imported here: it would load
      // the Cassandra and MongoDB drivers into the gateway); losing that race is harmless.
      await ensureTopic(admin, this.o.topic, this.o.partitions, this.o.replication ?? {});
      const from = Date.now() - this.o.replayMs;
      const byTime = await admin.fetchTopicOffsetsByTimestamp(this.o.topic, from);
      const latest = new Map((await admin.fetchTopicOffsets(this.o.topic)).map((p) => [p.partition, Number(p.high)]));
      // -1: no record at or after that time; start at the end.
      offsets = byTime.map((p) => ({ partition: p.partition, offset: p.offset === '-1' ? String(latest.get(p.partition) ?? 0) : p.offset }));
      // The replay is complete once every partition reaches the end it has now.
      this.behind = new Map();
      for (const p of offsets) {
        const high = latest.get(p.partition) ?? 0;
        if (high > Number(p.offset)) this.behind.set(p.partition, high);
      }
      this.replayFrom = from;
    } finally {
      await admin.disconnect();
    }
    if (this.stopped) return;
    const consumer = kafka.consumer({ groupId: `adme-view-${randomUUID()}`, maxWaitTimeInMs: 100, sessionTimeout: 30_000, allowAutoTopicCreation: false });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.o.topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        // kafkajs chains batches through promises, which never let a timer run: after about SLICE_MS of
        // work (in a batch or over several), a turn of the event loop lets the frame clock tick on time.
        let deltas: DeltaRecord[] = [];
        for (const m of batch.messages) {
          if (!m.value) continue;
          try {
            deltas.push(decode<DeltaRecord>(m.value));
          } catch (err) {
            if (this.badRecords++ === 0) this.o.log(`live view: skipping an undecodable record at ${batch.partition}/${m.offset}: ${(err as Error).message}`);
            continue;
          }
          if (performance.now() - this.sliceAt < SLICE_MS) continue;
          this.o.onDeltas(deltas);
          deltas = [];
          await this.yieldTurn();
        }
        if (deltas.length > 0) this.o.onDeltas(deltas);
        if (performance.now() - this.sliceAt >= SLICE_MS) await this.yieldTurn();
        const target = this.behind?.get(batch.partition);
        if (target !== undefined && Number(batch.lastOffset()) + 1 >= target) this.behind!.delete(batch.partition);
      },
    });
    for (const p of offsets) consumer.seek({ topic: this.o.topic, partition: p.partition, offset: p.offset });
    this.o.log(`live view: reading ${this.o.topic} from ${Math.round(this.o.replayMs / 1000)} s ago`);
  }

  /**
   * Wall time from which the deltas read are complete: the replay start, once every partition has
   * caught up with the end it had at start; Infinity before (nothing may be answered from memory yet).
   */
  get completeFrom(): number {
    return this.replayFrom !== undefined && this.behind?.size === 0 ? this.replayFrom : Infinity;
  }

  private async yieldTurn(): Promise<void> {
    await new Promise((r) => setTimeout(r, 0));
    this.sliceAt = performance.now();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
