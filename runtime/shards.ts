/**
 * Hosts one actor per owned partition of a log, each living on a worker thread (ActorThreads) for as long
 * as this process owns the partition. The consumer group decides ownership; this turns assignments into
 * placed actors, hands each fetched batch's bytes to the owning thread by transfer, executes the port
 * effects the actors return (checkpoint saves, document writes, record sends, monitoring commits) and
 * relays their outcomes back as messages. The main thread moves bytes and drives I/O; it holds no
 * aggregation state.
 *
 * Ownership ends in one of three ways. A revoked partition's actor is dropped at once, without writing:
 * its successor restores the last checkpoint and replays the log, which is exactly-once by construction.
 * A save refused by the epoch fence while a rebalance is under way, or after the partition was revoked,
 * is the expected end of a handover and only logged. A fence hit outside a rebalance means this process
 * is a zombie: it stops taking and writing anything and reports the fatal error.
 */
import { DEFAULT_SUPERVISION, type SupervisionPolicy } from './core/supervision.js';
import { FencedError, RuntimeError, toWireError } from './core/errors.js';
import { retry } from './core/retry.js';
import { StallWatch } from './core/stall-watch.js';
import { monotonicClock } from './core/clock.js';
import type { ActorThreads } from './pool/actor-threads.js';
import type { ArchiveStore, BatchResult, CheckpointStore, DocStore, LogRecord, PartitionSource, RecordSink } from './ports/ports.js';
import type { DocWrite, DocWriteResult, ShardHostMsg, ShardPortEffect, ShardStart } from './shard-protocol.js';

export interface ShardHostOptions {
  readonly source: PartitionSource;
  readonly threads: ActorThreads;
  /** URL of the module exporting the shard `logic` (see runtime/core/logic.ts). */
  readonly logicModule: string;
  /** The logic's own configuration, part of every shard's start input. */
  readonly logicConfig: unknown;
  /** Checkpoint store, or null to run without checkpoints (every shard starts at offset 0, epoch 0). */
  readonly checkpoints: CheckpointStore | null;
  readonly docs: DocStore | null;
  /** Archive of the log's records, or null when the logic asks for none. */
  readonly archive?: ArchiveStore | null;
  readonly sink: RecordSink;
  /** Name of a partition's shard in the checkpoint store. */
  readonly shardName: (partition: number) => string;
  /** Who this process is, recorded with each ownership. */
  readonly owner: string;
  /** Effects the host does not know (a logic's own, e.g. metrics). */
  readonly onEffect: (partition: number, effect: { readonly type: string }) => void;
  /** A shard failed for good (fenced outside a rebalance, or restarts exhausted): the process should stop. */
  readonly onFatal: (partition: number, err: unknown) => void;
  readonly log: (msg: string) => void;
  readonly supervision?: SupervisionPolicy;
  /** How long a rebalance's flush may take before the host stops waiting for it. */
  readonly flushTimeoutMs?: number;
  /**
   * The consumer-group session. When set, a stall of this process longer than it (SIGSTOP, a paused VM)
   * is watched for: a write of a shard that lived through one and is refused by the fence is a zombie's,
   * even if kafkajs has announced the rebalance by then (see `fenced`).
   */
  readonly sessionTimeoutMs?: number;
}

interface Placed {
  readonly partition: number;
  readonly id: string;
  readonly epoch: number;
  /** The next offset the shard will take (its last `accepted`). */
  position: number;
  /** Where the next batch handed to the shard must start: the end of the last one handed over. */
  fetchAt: number;
  /** The offset last sought to because a fetch started past `fetchAt` (−1: none). */
  soughtTo: number;
  /** Batches handed to the shard and not yet accepted. */
  inFlight: number;
  /** Batches fetched past those in flight, oldest first, handed over as the shard accepts (see route). */
  readonly queued: { readonly msg: ShardHostMsg; readonly transfer: ArrayBuffer[] }[];
  readonly flushes: Map<number, () => void>;
  /** Port effects being executed: awaited before a partition counts as released. */
  readonly io: Set<Promise<void>>;
  dropped: boolean;
  /** It lived through a stall past the session and has not saved since: a fence now is a zombie's. */
  stalled: boolean;
}

/** Batches of one partition handed to its shard ahead of its answers (see ShardHost.route). */
export const MAX_BATCHES_IN_FLIGHT = 2;

export class ShardHost {
  private readonly shards = new Map<number, Placed>();
  private readonly spawning = new Map<number, Promise<Placed | null>>();
  private readonly restarts = new Map<number, number[]>();
  /** A failed shard is not spawned again before this time (its supervision back-off). */
  private readonly notBefore = new Map<number, number>();
  private readonly revoked = new Set<number>();
  /** Partitions paused at the source because their shard has batches queued here. */
  private readonly paused = new Set<number>();
  private incarnation = 0;
  private flushTag = 0;
  private rebalancing = false;
  private closed = false;

  private readonly stallWatch: StallWatch | null;

  constructor(private readonly o: ShardHostOptions) {
    const session = o.sessionTimeoutMs;
    this.stallWatch = session ? new StallWatch(monotonicClock, session, Math.max(1, Math.min(250, Math.floor(session / 4))), (gap) => this.stalled(gap)) : null;
  }

  /** This process did not run for `gapMs`, past its session: its partitions may have moved meanwhile. */
  private stalled(gapMs: number): void {
    // Logged even with no shard left: after a SIGCONT, a refused write's answer can be handled (and the
    // shards dropped) before this timer's turn comes.
    this.o.log(`this process stalled ${Math.round(gapMs)} ms, past its ${this.o.sessionTimeoutMs} ms session: its partitions may belong to another member now; a write refused before the next save is a zombie's`);
    for (const s of this.shards.values()) s.stalled = true;
  }

  /** Partitions whose actor is running here. */
  get partitions(): number[] {
    return [...this.shards.keys()].sort((a, b) => a - b);
  }

  /** Next offset of a partition's shard, if owned here. */
  position(partition: number): number | undefined {
    return this.shards.get(partition)?.position;
  }

  /** The worker thread a partition's shard lives on. */
  threadOf(partition: number): number | undefined {
    const s = this.shards.get(partition);
    return s ? this.o.threads.threadOf(s.id) : undefined;
  }

  async start(): Promise<void> {
    this.stallWatch?.start();
    await this.o.source.start({
      onAssignment: (ps) => this.assign(ps),
      onRebalancing: () => this.flushAll(false),
      onBatch: (p, records, _heartbeat, hw) => this.route(p, records, hw),
    });
  }

  /** Stops consuming and drops every shard. `flush` first makes their state durable (a graceful stop). */
  async stop(opts: { flush: boolean } = { flush: true }): Promise<void> {
    if (opts.flush && !this.closed) await this.flushAll(true);
    this.closed = true;
    this.stallWatch?.stop();
    await this.o.source.stop().catch(() => undefined);
    await Promise.all(this.partitions.map((p) => this.drop(p, 'stopped')));
  }

  private async assign(partitions: readonly number[]): Promise<void> {
    this.rebalancing = false;
    const keep = new Set(partitions);
    for (const p of keep) this.revoked.delete(p);
    const lost = this.partitions.filter((p) => !keep.has(p));
    for (const p of lost) this.revoked.add(p);
    await Promise.all(lost.map((p) => this.drop(p, 'revoked')));
    if (this.closed) return;
    await Promise.all(partitions.map((p) => this.ensure(p)));
  }

  /**
   * Every shard makes its state durable (`full`: its open windows' rollups too). On a rebalance only the
   * checkpoint: writing every open window whole there cost the survivor of a kill -9 0.45–0.75 s of its
   * threads per shard, just before it took the dead one's partitions (docs/BENCHMARKS.md).
   */
  private async flushAll(full: boolean): Promise<void> {
    this.rebalancing = true;
    const timeout = this.o.flushTimeoutMs ?? 5000;
    await Promise.all([...this.shards.values()].map((s) => new Promise<void>((resolve) => {
      const tag = ++this.flushTag;
      const t = setTimeout(resolve, timeout);
      s.flushes.set(tag, () => {
        clearTimeout(t);
        resolve();
      });
      if (!this.deliver(s, { type: 'flush', tag, full })) resolve();
    })));
  }

  /** The partition's running shard, spawning it (ownership + restore) if needed; null once closed. */
  private ensure(partition: number): Promise<Placed | null> {
    const s = this.shards.get(partition);
    if (s) return Promise.resolve(s);
    let p = this.spawning.get(partition);
    if (!p) {
      p = this.spawn(partition).finally(() => this.spawning.delete(partition));
      this.spawning.set(partition, p);
    }
    return p;
  }

  private async spawn(partition: number): Promise<Placed | null> {
    const wait = (this.notBefore.get(partition) ?? 0) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const name = this.o.shardName(partition);
    const got = this.o.checkpoints
      ? await retry(() => this.o.checkpoints!.acquire(name, this.o.owner), {
        attempts: Infinity, initialDelayMs: 200, maxDelayMs: 5000,
        onRetry: (err, n, ms) => this.o.log(`partition ${partition}: taking ownership failed (${n}x, retry in ${Math.round(ms)} ms): ${(err as Error).message}`),
      })
      : { epoch: 0, nextOffset: 0, parts: new Map<string, Uint8Array>() };
    if (this.closed || this.revoked.has(partition)) return null;
    const s: Placed = {
      partition, id: `shard/${partition}#${++this.incarnation}`, epoch: got.epoch, position: got.nextOffset,
      fetchAt: got.nextOffset, soughtTo: -1, inFlight: 0, queued: [], flushes: new Map(), io: new Set(), dropped: false, stalled: false,
    };
    this.shards.set(partition, s);
    const start: ShardStart = { partition, epoch: got.epoch, nextOffset: got.nextOffset, parts: [...got.parts], config: this.o.logicConfig };
    this.o.threads.spawn(s.id, this.o.logicModule, start, {
      onEffects: (effects) => {
        for (const e of effects) this.execute(s, e as ShardPortEffect);
      },
      onFailed: (err) => void this.failed(s, err),
    });
    this.o.log(`partition ${partition}: gained (epoch ${got.epoch}, offset ${got.nextOffset}, thread ${this.o.threads.threadOf(s.id)})`);
    return s;
  }

  /** Removes a shard: no more messages reach it, its queued batches are left unprocessed, its I/O finishes. */
  private async drop(partition: number, reason: 'revoked' | 'stopped' | 'fenced' | 'failed'): Promise<void> {
    const s = this.shards.get(partition);
    if (!s) return;
    this.shards.delete(partition);
    s.dropped = true;
    s.queued.length = 0;
    // The source keeps a pause across rebalances: a partition that comes back here must flow again.
    if (this.paused.delete(partition)) this.o.source.resume(partition);
    for (const f of s.flushes.values()) f();
    await this.o.threads.stop(s.id);
    await Promise.allSettled([...s.io]);
    this.o.log(`partition ${partition}: released (${reason}) at offset ${s.position}`);
  }

  private deliver(s: Placed, msg: ShardHostMsg, transfer?: ArrayBuffer[]): boolean {
    if (s.dropped) return false;
    return this.o.threads.deliver(s.id, msg, transfer);
  }

  /**
   * Hands a fetched batch to its shard and lets the source fetch on at once: up to
   * {@link MAX_BATCHES_IN_FLIGHT} batches per partition are in flight, so the next fetch (a broker round
   * trip and its decoding on this thread) overlaps the shard's fold instead of leaving its thread idle.
   * A batch fetched past those is queued here and its partition paused at the source until the shard
   * accepts one: the backpressure is per partition. (Waiting inside `onBatch` instead held kafkajs'
   * whole fetch loop, so one busy shard, or one holding its batches for a checkpoint, delayed every
   * partition's records: 266 such waits in one latency run, up to 410 ms each.)
   * The host keeps the fetch position contiguous with what the shard has been handed: records before it
   * are skipped, and a fetch that starts past it (committed offsets are for monitoring only) seeks back
   * once; if the log still starts later, retention removed those records and the shard reports the gap.
   */
  private async route(partition: number, records: readonly LogRecord[], highWatermark?: number): Promise<BatchResult> {
    if (this.closed) return {};
    const s = await this.ensure(partition);
    if (!s || s.dropped) return {};
    const last = records[records.length - 1]!.offset;
    if (last < s.fetchAt) return { nextOffset: s.fetchAt };
    if (records[0]!.offset > s.fetchAt && s.soughtTo !== s.fetchAt) {
      s.soughtTo = s.fetchAt;
      return { nextOffset: s.fetchAt };
    }
    const from = records.findIndex((r) => r.offset >= s.fetchAt);
    const msg = packRecords(from > 0 ? records.slice(from) : records, highWatermark === undefined || !Number.isFinite(highWatermark) ? 0 : Math.max(0, highWatermark - last - 1));
    const transfer = [msg.bytes.buffer as ArrayBuffer, msg.ends.buffer as ArrayBuffer, msg.offsets.buffer as ArrayBuffer];
    if (s.inFlight < MAX_BATCHES_IN_FLIGHT && s.queued.length === 0) {
      if (!this.deliver(s, msg, transfer)) return {};
      s.inFlight++;
    } else {
      // The backpressure: the shard is this far behind, or holds its answers until a checkpoint lands.
      s.queued.push({ msg, transfer });
      if (!this.paused.has(partition)) {
        this.paused.add(partition);
        this.o.source.pause(partition);
      }
    }
    s.fetchAt = last + 1;
    return { nextOffset: last + 1 };
  }

  /** The shard accepted a batch: the next queued one takes its place, and the partition flows again once none is left. */
  private accepted(s: Placed): void {
    s.inFlight = Math.max(0, s.inFlight - 1);
    const next = s.queued.shift();
    if (next && this.deliver(s, next.msg, next.transfer)) s.inFlight++;
    if (s.queued.length === 0 && this.paused.delete(s.partition)) this.o.source.resume(s.partition);
  }

  /** A logic asked for a store the process runs without: the shard fails (and, not retriable, the process). */
  private noStore(s: Placed, asked: string): void {
    void this.failed(s, new RuntimeError('RT_NO_STORE', `a shard asked to ${asked}`, false));
  }

  private execute(s: Placed, e: ShardPortEffect): void {
    switch (e.type) {
      case 'accepted':
        s.position = e.nextOffset;
        this.accepted(s);
        return;
      case 'flushed':
        s.flushes.get(e.tag)?.();
        s.flushes.delete(e.tag);
        return;
      case 'log':
        this.o.log(`partition ${s.partition}: ${e.message}`);
        return;
      case 'commit':
        this.io(s, 0, async () => {
          await this.o.source.commitForMonitoring(s.partition, e.nextOffset).catch(() => undefined);
          return null;
        });
        return;
      case 'save': {
        const store = this.o.checkpoints;
        if (!store) return this.noStore(s, 'save a checkpoint with checkpoints off');
        const blocks = e.archive ?? [];
        const archive = this.o.archive;
        if (blocks.length > 0 && !archive) return this.noStore(s, 'archive records with the archive off');
        this.io(s, e.tag, async () => {
          const t0 = Date.now();
          // The archive beside the checkpoint's rows; the commit waits for both.
          const archived = blocks.length > 0 ? archive!.write(blocks).then((a) => ({ bytesWritten: a.bytesWritten, ms: Date.now() - t0 })) : undefined;
          const r = await store.save(this.o.shardName(s.partition), s.epoch, e.nextOffset, new Map(e.parts), archived);
          return { type: 'saved', tag: e.tag, bytesWritten: r.bytesWritten, ms: Date.now() - t0, ...(archived ? { archive: await archived } : {}) };
        });
        return;
      }
      case 'docs': {
        const docs = this.o.docs;
        if (!docs) return this.noStore(s, 'write documents with the document store off');
        this.io(s, e.tag, async () => {
          const t0 = Date.now();
          const results: DocWriteResult[] = [];
          for (const w of e.writes) results.push(await writeDocs(docs, w));
          return { type: 'written', tag: e.tag, results, ms: Date.now() - t0 };
        });
        return;
      }
      case 'send':
        this.io(s, e.tag, async () => {
          const t0 = Date.now();
          await this.o.sink.send(e.topic, e.records.map((r) => ({ partition: r.partition, value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength) })));
          return { type: 'sent', tag: e.tag, waitMs: Math.max(0, t0 - e.at), ms: Date.now() - t0 };
        });
        return;
      default:
        this.o.onEffect(s.partition, e);
    }
  }

  /** Runs one port effect and relays its outcome (or its failure) to the shard as a message. */
  private io(s: Placed, tag: number, run: () => Promise<ShardHostMsg | null>): void {
    const p = run().then(
      (outcome) => {
        if (outcome?.type === 'saved') s.stalled = false;
        if (outcome) this.deliver(s, outcome);
      },
      (err: unknown) => {
        this.deliver(s, { type: 'failed', tag, error: toWireError(err) });
        if (err instanceof FencedError) this.fenced(s, err);
      },
    ).finally(() => s.io.delete(p));
    s.io.add(p);
  }

  private fenced(s: Placed, err: FencedError): void {
    // A shard that lived through a stall past the session was not handing over: the group moved its
    // partition while this process was not running, whatever kafkajs has announced since.
    if (!s.stalled && (this.rebalancing || s.dropped || this.revoked.has(s.partition))) {
      this.o.log(`partition ${s.partition}: handed over (a newer owner holds it: ${err.message})`);
      void this.drop(s.partition, 'fenced');
      return;
    }
    // Not a handover: a newer owner took the partition while this process was not looking (paused past
    // its session). Nothing more may be written from here.
    this.o.log(`partition ${s.partition}: FENCED — ${err.message}`);
    this.closed = true;
    for (const p of this.partitions) void this.drop(p, 'fenced');
    this.o.onFatal(s.partition, err);
  }

  /** Supervision: a failed shard restarts from its checkpoint after a back-off, or escalates. */
  private async failed(s: Placed, err: RuntimeError): Promise<void> {
    if (this.closed) return;
    if (s.dropped) return;
    this.o.log(`partition ${s.partition}: shard failed: ${err.message}`);
    await this.drop(s.partition, 'failed');
    const policy = this.o.supervision ?? DEFAULT_SUPERVISION;
    const now = Date.now();
    const recent = (this.restarts.get(s.partition) ?? []).filter((t) => now - t < policy.windowMs);
    if (!err.retriable || recent.length >= policy.maxRestarts) {
      this.o.onFatal(s.partition, err);
      return;
    }
    recent.push(now);
    this.restarts.set(s.partition, recent);
    // The next batch for the partition spawns it again, restored from its checkpoint, after the back-off.
    this.notBefore.set(s.partition, now + Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (recent.length - 1)));
  }
}

async function writeDocs(docs: DocStore, w: DocWrite): Promise<DocWriteResult> {
  switch (w.op) {
    case 'insert':
      return docs.insertIdempotent(w.collection, w.docs);
    case 'delete':
      await docs.deleteIds(w.collection, w.ids);
      return null;
    case 'upsert':
      return docs.upsertVersioned(w.collection, w.docs);
  }
}

/** Concatenates record values into one buffer, transferred (not copied) to the owning thread. */
export function packRecords(records: readonly LogRecord[], behind = 0): Extract<ShardHostMsg, { type: 'records' }> {
  let total = 0;
  for (const r of records) total += r.value.byteLength;
  const bytes = new Uint8Array(total);
  const ends = new Uint32Array(records.length);
  const offsets = new Float64Array(records.length);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    bytes.set(r.value, at);
    at += r.value.byteLength;
    ends[i] = at;
    offsets[i] = r.offset;
  }
  return { type: 'records', bytes, ends, offsets, behind };
}
