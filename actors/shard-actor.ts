/**
 * ShardActor: the owner of one partition of `adme.events.v1`. Owns the partition's next offset, its
 * ownership epoch and the geohash × window aggregation (logic.ts). Decoding and pre-aggregation run on
 * the worker pool; this actor folds results in, one message at a time, and drives the effects:
 *
 *   checkpoint (state + next offset, one conditional write fenced by the epoch) ─▶ Cassandra
 *   then rollups (absolute, version-guarded) and late events (deterministic ids) ─▶ MongoDB
 *   deltas (changed cells, ≤ one per deltaEveryMs)                               ─▶ Kafka adme.deltas.v1
 *
 * Rollups are written only from a state that has been checkpointed, so MongoDB never runs ahead of
 * Cassandra, and a restore re-sends everything it holds: exactly-once effect through crashes.
 */
import { FencedError, type Clock, type DocStore, type LogRecord, type RecordSink, type BatchResult, type CheckpointStore, type Shard, type WorkerPool } from '../runtime/index.js';
import { LATE_EVENTS_COLLECTION, OPEN_ROLLUPS_COLLECTION, ROLLUPS_COLLECTION, encode, type DeltaRecord, type FinalBlock } from './model/index.js';
import { applyBatch, captureCheckpoint, checkpointCommitted, checkpointFailed, emptyState, finalsWritten, lateDocs, restoreCheckpoint, rollupWrites, takeDelta, type ShardState } from './logic.js';
import type { AggregationConfig, PartialBatch, PreaggregateInput } from './preaggregate.js';
import type { ShardMetrics } from './metrics.js';

export interface ShardSettings {
  readonly checkpointEveryMs: number;
  readonly checkpointEveryEvents: number;
  /** Past this many events not yet checkpointed, the shard stops taking batches (backpressure). */
  readonly maxUncheckpointedEvents: number;
  readonly rollupEveryMs: number;
  readonly deltaEveryMs: number;
  /** Checkpoints and rollups on (normal) or off (benchmark of the checkpoint tax only). */
  readonly sinks: boolean;
}

export interface ShardDeps {
  readonly partition: number;
  readonly topic: string;
  readonly deltasTopic: string;
  readonly owner: string;
  readonly config: AggregationConfig;
  readonly settings: ShardSettings;
  readonly checkpoints: CheckpointStore;
  readonly docs: DocStore;
  readonly deltas: RecordSink;
  readonly pool: WorkerPool;
  readonly commitForMonitoring: (partition: number, nextOffset: number) => Promise<void>;
  readonly clock: Clock;
  readonly metrics: ShardMetrics;
  readonly log: (msg: string) => void;
}

const TASKS = new URL(import.meta.url.endsWith('.ts') ? './tasks.ts' : './tasks.js', import.meta.url).href;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ShardActor implements Shard {
  private state: ShardState = emptyState();
  private epoch = 0;
  private fatal: Error | null = null;
  private inFlight: Promise<void> | null = null;
  /**
   * Delta sends not yet acknowledged. Two may overlap, so a slow acknowledgement (a busy broker) does not
   * halve the delta rate; the sink keeps them in order. Beyond two, cells stay dirty for the next delta.
   */
  private deltasInFlight = 0;
  private deltaSeq = 0;
  private lastCheckpointAt = 0;
  private lastRollupAt = 0;
  private lastDeltaAt = 0;
  private eventsSinceCheckpoint = 0;
  private failures = 0;
  private retryAt = 0;
  private seekedTo = -1;
  private readonly shardId: string;

  constructor(private readonly d: ShardDeps) {
    this.shardId = `${d.topic}/${d.partition}`;
  }

  get position(): number {
    return this.state.nextOffset;
  }

  /** Live cell-windows held in memory. */
  get cellCount(): number {
    return this.state.cells.size;
  }

  async start(): Promise<void> {
    const { partition } = this.d;
    if (!this.d.settings.sinks) {
      this.state = emptyState(0);
      this.d.log(`partition ${partition}: started without checkpoints (sinks off) at offset 0`);
      return;
    }
    const t0 = this.d.clock.now();
    const got = await this.d.checkpoints.acquire(this.shardId, this.d.owner);
    this.epoch = got.epoch;
    this.state = restoreCheckpoint(got.nextOffset, got.parts);
    // Spread the partitions' checkpoints over the interval, so they do not all encode at once.
    this.lastCheckpointAt = this.lastRollupAt = this.d.clock.now() - Math.floor(Math.random() * this.d.settings.checkpointEveryMs);
    this.d.metrics.epoch(partition, this.epoch);
    this.d.log(`partition ${partition}: restored epoch ${this.epoch} at offset ${this.state.nextOffset} ` +
      `(${this.state.cells.size} cells in ${this.state.windows.size} windows, ${[...got.parts.values()].reduce((a, b) => a + b.byteLength, 0)} B checkpoint, ${this.d.clock.now() - t0} ms)`);
  }

  async handleBatch(records: readonly LogRecord[]): Promise<BatchResult> {
    this.throwIfFatal();
    const pos = this.state.nextOffset;
    const fresh = records.filter((r) => r.offset >= pos);
    if (fresh.length === 0) return { nextOffset: pos };
    if (fresh[0]!.offset > pos) {
      // The fetch started past our position (committed offsets are for monitoring only): go back.
      // If we already sought there and the log still starts later, retention removed those records.
      if (this.seekedTo !== pos) {
        this.seekedTo = pos;
        return { nextOffset: pos };
      }
      this.d.log(`partition ${this.d.partition}: records ${pos}..${fresh[0]!.offset - 1} are gone from the log (retention shorter than the checkpoint interval?)`);
      this.d.metrics.offsetGap(this.d.partition, fresh[0]!.offset - pos);
    }
    while (this.d.settings.sinks && this.eventsSinceCheckpoint >= this.d.settings.maxUncheckpointedEvents) {
      // Backpressure: nothing more is taken until a checkpoint lands (e.g. while Cassandra is down).
      this.d.metrics.stalled(this.d.partition, true);
      this.startCheckpoint(true);
      if (this.inFlight) await this.inFlight;
      else await sleep(Math.max(50, this.retryAt - this.d.clock.now()));
      this.throwIfFatal();
    }
    this.d.metrics.stalled(this.d.partition, false);

    const input = packRecords(fresh, this.state.maxTs, this.d.config);
    const partial = await this.d.pool.run<PartialBatch>(TASKS, 'preaggregateTask', input, [input.bytes.buffer as ArrayBuffer, input.ends.buffer as ArrayBuffer, input.offsets.buffer as ArrayBuffer]);
    const dup0 = this.state.totals.duplicates;
    applyBatch(this.state, partial);
    this.d.metrics.duplicate(this.d.partition, this.state.totals.duplicates - dup0);
    this.eventsSinceCheckpoint += partial.events;
    this.d.metrics.batch(this.d.partition, partial);
    if (partial.invalid.length > 0) {
      this.d.log(`partition ${this.d.partition}: ${partial.invalid.length} invalid record(s)/event(s), first at offset ${partial.invalid[0]!.offset}: ${partial.invalid[0]!.reason}`);
    }
    if (this.d.settings.sinks && this.eventsSinceCheckpoint >= this.d.settings.checkpointEveryEvents) this.startCheckpoint(false);
    return { nextOffset: this.state.nextOffset };
  }

  async tick(now: number): Promise<void> {
    this.throwIfFatal();
    if (now - this.lastDeltaAt >= this.d.settings.deltaEveryMs) this.sendDelta(now);
    if (this.d.settings.sinks && now - this.lastCheckpointAt >= this.d.settings.checkpointEveryMs) this.startCheckpoint(false);
  }

  async flush(): Promise<void> {
    if (!this.d.settings.sinks || this.fatal) return;
    if (this.inFlight) await this.inFlight;
    this.startCheckpoint(true);
    if (this.inFlight) await this.inFlight;
  }

  async stop(reason: 'revoked' | 'restart' | 'failed' | 'stopped'): Promise<void> {
    if ((reason === 'revoked' || reason === 'stopped') && !this.fatal) {
      await this.flush().catch(() => undefined);
    } else if (this.inFlight) {
      await this.inFlight.catch(() => undefined);
    }
    this.d.log(`partition ${this.d.partition}: stopped (${reason}) at offset ${this.state.nextOffset}`);
  }

  private throwIfFatal(): void {
    if (this.fatal) throw this.fatal;
  }

  private sendDelta(now: number): void {
    if (this.deltasInFlight >= 2) return;
    const records: { partition: number; value: Buffer }[] = [];
    const deltas: DeltaRecord[] = [];
    // A big change (a catch-up) goes out as several records, each under Kafka's message size limit.
    for (let d = takeDelta(this.state, this.d.config, this.d.partition, this.epoch, this.deltaSeq + 1, now); d; d = takeDelta(this.state, this.d.config, this.d.partition, this.epoch, this.deltaSeq + 1, now)) {
      this.deltaSeq++;
      const bytes = encode(d);
      deltas.push(d);
      records.push({ partition: this.d.partition, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
    }
    if (records.length === 0) return;
    this.lastDeltaAt = now;
    this.deltasInFlight++;
    this.d.deltas.send(this.d.deltasTopic, records)
      .then(() => {
        for (const d of deltas) this.d.metrics.delta(Date.now() - d.oldestAt);
      })
      .catch((err: unknown) => this.d.log(`partition ${this.d.partition}: deltas ${deltas[0]!.seq}-${deltas[deltas.length - 1]!.seq} not sent: ${(err as Error).message}`))
      .finally(() => {
        this.deltasInFlight--;
      });
  }

  /**
   * Takes a snapshot now (state, offset, the rollups and late events it implies) and writes it in the
   * background: checkpoint first, then MongoDB, then the monitoring commit. One at a time.
   */
  private startCheckpoint(force: boolean): void {
    if (this.inFlight || this.fatal) return;
    const now = this.d.clock.now();
    if (now < this.retryAt) return;
    const s = this.state;
    if (!force && this.eventsSinceCheckpoint === 0 && s.rollupDirty.size === 0 && s.pendingLate.length === 0) {
      this.lastCheckpointAt = now;
      return;
    }
    const t0 = now;
    const capture = captureCheckpoint(s);
    const nextOffset = s.nextOffset;
    const events = this.eventsSinceCheckpoint;
    const writeRollups = force || now - this.lastRollupAt >= this.d.settings.rollupEveryMs;
    const w = writeRollups ? rollupWrites(s, this.d.config, this.d.partition, this.epoch) : null;
    const keys = w?.openKeys ?? [];
    for (const k of keys) s.rollupDirty.delete(k);
    const late = lateDocs(s, this.d.partition);
    const encodeMs = this.d.clock.now() - t0;
    const { partition } = this.d;

    this.inFlight = (async () => {
      try {
        const c0 = Date.now();
        let written: number;
        try {
          written = (await this.d.checkpoints.save(this.shardId, this.epoch, nextOffset, capture.parts)).bytesWritten;
        } catch (err) {
          checkpointFailed(s, capture);
          throw err;
        }
        // Before any eviction below: the next checkpoint builds on exactly what was committed.
        checkpointCommitted(s, capture);
        this.d.metrics.checkpoint(partition, written, Date.now() - c0, encodeMs);
        this.eventsSinceCheckpoint -= events;
        this.lastCheckpointAt = now;
        if (w) {
          // Finals first: once they are in, the open document of their window is obsolete.
          const ins = await this.d.docs.insertIdempotent(ROLLUPS_COLLECTION, w.finals as unknown as (FinalBlock & Record<string, unknown>)[]);
          finalsWritten(s, w.finalKeys);
          await this.d.docs.deleteIds(OPEN_ROLLUPS_COLLECTION, w.obsoleteOpenIds);
          const up = await this.d.docs.upsertVersioned(OPEN_ROLLUPS_COLLECTION, w.open.map(({ _id, version, ...fields }) => ({ _id, version, fields })));
          if (up.stale > 0) this.d.metrics.rejectedWrites(partition, 'rollup', up.stale);
          this.d.metrics.rollups(partition, ins.inserted, ins.existing, up.written);
        }
        if (writeRollups) this.lastRollupAt = now;
        if (late.length > 0) {
          await this.d.docs.insertIdempotent(LATE_EVENTS_COLLECTION, late);
          s.pendingLate.splice(0, late.length);
        }
        this.failures = 0;
        await this.d.commitForMonitoring(partition, nextOffset).catch(() => undefined);
      } catch (err) {
        for (const k of keys) s.rollupDirty.add(k);
        if (err instanceof FencedError) {
          // A newer owner holds the partition: this process is a zombie. Nothing more is written.
          this.fatal = err;
          this.d.metrics.rejectedWrites(partition, 'checkpoint', 1);
          this.d.log(`partition ${partition}: FENCED — ${err.message}`);
          return;
        }
        this.failures++;
        const backoff = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
        this.retryAt = Date.now() + backoff;
        this.d.metrics.checkpointFailure(partition);
        this.d.log(`partition ${partition}: checkpoint/rollup write failed (${this.failures}x, retry in ${backoff} ms): ${(err as Error).message}`);
      } finally {
        this.inFlight = null;
      }
    })();
  }
}

/** Concatenates record values into one transferable buffer for the pool. */
function packRecords(records: readonly LogRecord[], maxTs: number, config: AggregationConfig): PreaggregateInput {
  let total = 0;
  for (const r of records) total += r.value.byteLength;
  const bytes = new Uint8Array(total);
  const ends = new Uint32Array(records.length);
  const offsets = new Float64Array(records.length);
  let at = 0;
  records.forEach((r, i) => {
    bytes.set(r.value, at);
    at += r.value.byteLength;
    ends[i] = at;
    offsets[i] = r.offset;
  });
  return { bytes, ends, offsets, maxTs, config };
}
