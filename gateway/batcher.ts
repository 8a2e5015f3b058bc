/**
 * Micro-batcher: kafkajs has no linger, so concurrent requests' events are coalesced here into one
 * produce call holding one record per partition (split when a record would exceed `maxRecordBytes`).
 * Events arrive as msgpack bytes (model wire.ts) and are copied into their record as they are.
 * A flush happens `lingerMs` after the first waiting event or as soon as `flushEvents` wait, and at
 * most one produce is in flight: kafkajs's idempotent producer assigns sequence numbers when a request
 * is built, so overlapping requests to one partition could be refused as out of order. While a
 * produce is in flight, new events accumulate and go in the next one (natural batching).
 *
 * Each `submit` resolves only when Kafka acknowledged the produce carrying its events, and rejects
 * when that produce failed: nothing is acknowledged that is not durable.
 */
import { packWireRecord, wirePartition, wireRecordSize, type WireEvent } from '../actors/model/index.js';

export interface ProduceRecord {
  readonly partition: number;
  readonly value: Buffer;
  /** Events in this record. */
  readonly count: number;
}

export interface BatcherOptions {
  /** Sends records to Kafka; resolves once acknowledged by all in-sync replicas. */
  readonly send: (records: ProduceRecord[]) => Promise<void>;
  /** The topic's partition count (read at every flush: it may grow). */
  readonly partitions: () => number;
  readonly lingerMs: number;
  readonly flushEvents: number;
  readonly maxRecordBytes: number;
  readonly now?: () => number;
  /** Called with each produce's duration (ms), its record count and outcome. */
  readonly onProduce?: (ms: number, records: number, ok: boolean) => void;
}

interface Pending {
  readonly byPartition: Map<number, WireEvent[]>;
  readonly waiters: { resolve: () => void; reject: (err: unknown) => void }[];
  count: number;
  at: number;
}

export class MicroBatcher {
  private pending: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private readonly now: () => number;

  constructor(private readonly opts: BatcherOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Events waiting or in flight (for metrics). */
  waiting = 0;

  submit(events: readonly WireEvent[], at: number = this.now()): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const p: Pending = (this.pending ??= { byPartition: new Map<number, WireEvent[]>(), waiters: [], count: 0, at } as Pending);
    const n = this.opts.partitions();
    for (const e of events) {
      const part = wirePartition(e, n);
      let list = p.byPartition.get(part);
      if (!list) p.byPartition.set(part, (list = []));
      list.push(e);
    }
    p.count += events.length;
    p.at = Math.min(p.at, at);
    this.waiting += events.length;
    const done = new Promise<void>((resolve, reject) => p.waiters.push({ resolve, reject }));
    if (p.count >= this.opts.flushEvents) this.flushSoon(0);
    else this.flushSoon(this.opts.lingerMs);
    return done;
  }

  private flushSoon(delay: number): void {
    if (this.inFlight) return; // the in-flight produce's completion flushes what waits
    if (delay === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      queueMicrotask(() => this.flush());
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, delay);
  }

  /** Splits a partition's events into records of at most maxRecordBytes (halving until they fit). */
  private records(partition: number, events: WireEvent[], at: number, out: ProduceRecord[]): void {
    const size = wireRecordSize(events);
    if (size <= this.opts.maxRecordBytes || events.length === 1) {
      const value = packWireRecord(at, events, size);
      out.push({ partition, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength), count: events.length });
      return;
    }
    const mid = Math.ceil(events.length / 2);
    this.records(partition, events.slice(0, mid), at, out);
    this.records(partition, events.slice(mid), at, out);
  }

  private flush(): void {
    const p = this.pending;
    if (!p || this.inFlight) return;
    this.pending = undefined;
    this.inFlight = true;
    const records: ProduceRecord[] = [];
    for (const [partition, events] of [...p.byPartition.entries()].sort((a, b) => a[0] - b[0])) this.records(partition, events, p.at, records);
    const t0 = performance.now();
    void this.opts.send(records).then(
      () => {
        this.opts.onProduce?.(performance.now() - t0, records.length, true);
        for (const w of p.waiters) w.resolve();
      },
      (err: unknown) => {
        this.opts.onProduce?.(performance.now() - t0, records.length, false);
        for (const w of p.waiters) w.reject(err);
      },
    ).finally(() => {
      this.waiting -= p.count;
      this.inFlight = false;
      // What accumulated meanwhile has already waited one produce: send it now.
      if (this.pending) this.flushSoon(0);
    });
  }

  /** Resolves when nothing waits and nothing is in flight. */
  async drain(): Promise<void> {
    while (this.pending || this.inFlight) {
      if (this.pending && !this.inFlight) this.flush();
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
