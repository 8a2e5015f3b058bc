/**
 * In-memory implementations of every port, with the semantics of the real adapters (kafka.ts,
 * cassandra.ts, mongo.ts) and the same conformance suites (test/conformance/). They hold everything in
 * the process, never touch a timer except through the injected clock, and carry fault hooks so that a
 * shard's restore, fencing, backpressure and retry logic can be unit-tested without servers.
 */
import { systemClock, type Cancel, type Clock } from '../core/clock.js';
import { FencedError, RuntimeError } from '../core/errors.js';
import type {
  Acquired, ArchiveBlock, ArchiveBlockHead, ArchiveStore, BatchResult, CheckpointStore, DocStore, InsertResult, LogRecord, PartitionHandlers, PartitionSource, RecordSink, UpsertResult, VersionedDoc,
} from '../ports/ports.js';

/**
 * Fault hooks shared by the memory stores. An operation first waits while the store is paused, then
 * fails if a failure is queued, then takes effect (all at once: nothing is half applied), then — if an
 * answer loss is queued — rejects although it took effect, as a write whose acknowledgement is lost does.
 */
export abstract class FaultInjector {
  private failures: boolean[] = [];
  private lostAnswers: boolean[] = [];
  private paused = false;
  private held: (() => void)[] = [];
  private closed = false;

  protected constructor(private readonly what: string) {}

  /** The next `n` operations fail before taking effect, with a `RuntimeError` retriable or not. */
  failNext(n: number, retriable = true): void {
    for (let i = 0; i < n; i++) this.failures.push(retriable);
  }

  /** The next `n` operations take effect, then reject with a retriable error (the answer was lost). */
  loseNextAnswers(n: number): void {
    for (let i = 0; i < n; i++) this.lostAnswers.push(true);
  }

  /** Operations wait (hang) from now until `resume()`; ones already past the gate are not held. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const release of held) release();
  }

  /** Operations currently held by `pause()`. */
  get waiting(): number {
    return this.held.length;
  }

  /**
   * Runs `apply` as one operation: pause, injected failure, effect, lost answer. `answered` runs only
   * when the answer reaches the caller: what a client learns from an answer it never got, it does not know.
   */
  protected async operate<T>(op: string, apply: () => T, answered?: (result: T) => void): Promise<T> {
    this.throwIfClosed(op);
    while (this.paused) await new Promise<void>((r) => this.held.push(r));
    this.throwIfClosed(op);
    const fail = this.failures.shift();
    if (fail !== undefined) throw new RuntimeError('RT_INJECTED_FAILURE', `${this.what}: ${op} failed (injected)`, fail);
    const result = apply();
    if (this.lostAnswers.shift()) throw new RuntimeError('RT_INJECTED_LOST_ANSWER', `${this.what}: ${op} took effect but its answer was lost (injected)`, true);
    answered?.(result);
    return result;
  }

  protected markClosed(): void {
    this.closed = true;
  }

  private throwIfClosed(op: string): void {
    if (this.closed) throw new RuntimeError('RT_CLOSED', `${this.what}: ${op} after close()`, false);
  }
}

const copyBytes = (b: Uint8Array): Buffer => Buffer.from(b);

/** What is committed for one shard: all of it changes in one step, or none of it does. */
export interface CommittedCheckpoint {
  readonly epoch: number;
  readonly owner: string;
  readonly nextOffset: number;
  readonly parts: ReadonlyMap<string, Uint8Array>;
}

/**
 * Checkpoints held in memory, fenced by epoch like CassandraCheckpointStore. One instance is one client;
 * `connect()` gives another client of the same data (a second process). As with Cassandra, a client
 * resolves a part passed as `null` from the last state IT committed or acquired — not from what is
 * committed now — and throws `RT_CHECKPOINT_PART` for a part it never knew, before the epoch check.
 */
export class MemoryCheckpointStore extends FaultInjector implements CheckpointStore {
  /** The parts of the last state this client committed or acquired, per shard. */
  private readonly known = new Map<string, ReadonlyMap<string, Uint8Array>>();

  constructor(private readonly table: Map<string, CommittedCheckpoint> = new Map()) {
    super('memory checkpoint store');
  }

  /** Another client of the same checkpoints, with its own knowledge and its own fault hooks. */
  connect(): MemoryCheckpointStore {
    return new MemoryCheckpointStore(this.table);
  }

  /** What is committed for `shard` (undefined when never acquired). */
  committed(shard: string): CommittedCheckpoint | undefined {
    const c = this.table.get(shard);
    return c && { ...c, parts: new Map([...c.parts].map(([k, v]) => [k, copyBytes(v)])) };
  }

  acquire(shard: string, owner: string): Promise<Acquired> {
    return this.operate('acquire', () => {
      const cur = this.table.get(shard);
      // The epoch bump is what fences the previous owner: from here on its saves fail.
      const next: CommittedCheckpoint = { epoch: (cur?.epoch ?? 0) + 1, owner, nextOffset: cur?.nextOffset ?? 0, parts: cur?.parts ?? new Map() };
      this.table.set(shard, next);
      return { epoch: next.epoch, nextOffset: next.nextOffset, parts: new Map([...next.parts].map(([k, v]) => [k, copyBytes(v)])) };
    }, () => this.known.set(shard, this.table.get(shard)!.parts));
  }

  async save(shard: string, epoch: number, nextOffset: number, parts: ReadonlyMap<string, Uint8Array | null>, beforeCommit?: Promise<unknown>): Promise<{ readonly bytesWritten: number }> {
    await beforeCommit;
    return this.operate('save', () => {
      const prev = this.known.get(shard) ?? new Map<string, Uint8Array>();
      const state = new Map<string, Uint8Array>();
      let bytesWritten = 0;
      for (const [part, bytes] of parts) {
        if (bytes === null) {
          const kept = prev.get(part);
          if (!kept) throw new RuntimeError('RT_CHECKPOINT_PART', `${shard}: part ${part} passed as unchanged but was never saved`, false);
          state.set(part, kept);
          continue;
        }
        state.set(part, copyBytes(bytes));
        bytesWritten += bytes.byteLength;
      }
      const cur = this.table.get(shard);
      if (!cur || cur.epoch !== epoch) throw new FencedError(shard, epoch, cur?.epoch);
      this.table.set(shard, { epoch, owner: cur.owner, nextOffset, parts: state });
      return { bytesWritten, state };
    }, ({ state }) => this.known.set(shard, state)).then(({ bytesWritten }) => ({ bytesWritten }));
  }

  async close(): Promise<void> {
    this.markClosed();
  }
}

type Doc = Record<string, unknown> & { _id: string };

/** Byte order of UTF-8, as the server compares strings (JavaScript's `<` compares UTF-16 units). */
const compareUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/**
 * Documents held in memory, with MongoDocStore's semantics: a versioned upsert `$set`s its fields over
 * the stored document (fields it does not name are kept) when the stored version is ≤ its own, and is
 * counted stale otherwise (also when the stored document has no string version); an insert of an `_id`
 * already present leaves the stored document as it is. Indexes are not modelled: `ensureIndexes` only
 * records them, and a unique index on another field than `_id` is not enforced.
 */
export class MemoryDocStore extends FaultInjector implements DocStore {
  private readonly collections = new Map<string, Map<string, Doc>>();
  private readonly indexes = new Map<string, Set<string>>();

  constructor() {
    super('memory doc store');
  }

  /** The documents of `collection`, copies, ordered by `_id`. */
  documents(collection: string): Doc[] {
    return [...(this.collections.get(collection)?.values() ?? [])].sort((a, b) => compareUtf8(a._id, b._id)).map((d) => structuredClone(d));
  }

  /** Index names `ensureIndexes` was asked for, per collection. */
  indexNames(collection: string): string[] {
    return [...(this.indexes.get(collection) ?? [])].sort();
  }

  private collection(name: string): Map<string, Doc> {
    let c = this.collections.get(name);
    if (!c) this.collections.set(name, (c = new Map<string, Doc>()));
    return c;
  }

  upsertVersioned(collection: string, docs: readonly VersionedDoc[]): Promise<UpsertResult> {
    return this.operate('upsertVersioned', () => {
      const col = this.collection(collection);
      let stale = 0;
      for (const d of docs) {
        const cur = col.get(d._id);
        if (cur && (typeof cur.version !== 'string' || compareUtf8(cur.version, d.version) > 0)) {
          stale++;
          continue;
        }
        col.set(d._id, { ...(cur ?? { _id: d._id }), ...structuredClone(d.fields), version: d.version, _id: d._id });
      }
      return { written: docs.length - stale, stale };
    });
  }

  insertIdempotent(collection: string, docs: readonly Readonly<Record<string, unknown> & { _id: string }>[]): Promise<InsertResult> {
    return this.operate('insertIdempotent', () => {
      const col = this.collection(collection);
      let existing = 0;
      for (const d of docs) {
        if (col.has(d._id)) existing++;
        else col.set(d._id, structuredClone(d));
      }
      return { inserted: docs.length - existing, existing };
    });
  }

  deleteIds(collection: string, ids: readonly string[]): Promise<void> {
    return this.operate('deleteIds', () => {
      const col = this.collections.get(collection);
      for (const id of ids) col?.delete(id);
    });
  }

  ensureIndexes(collection: string, indexes: readonly { readonly key: Record<string, 1 | -1>; readonly name: string; readonly unique?: boolean }[]): Promise<void> {
    return this.operate('ensureIndexes', () => {
      let names = this.indexes.get(collection);
      if (!names) this.indexes.set(collection, (names = new Set()));
      for (const ix of indexes) names.add(ix.name);
    });
  }

  async close(): Promise<void> {
    this.markClosed();
  }
}

/**
 * Archive blocks held in memory, with the semantics of CassandraArchiveStore: a block's key is (area,
 * bucket, partition, firstOffset) and writing a key again replaces it; a `write` lands whole or not at
 * all (Cassandra may land part of one: callers write again, which is idempotent). Retention is not
 * modelled. `connect()` gives another client of the same data.
 */
export class MemoryArchiveStore extends FaultInjector implements ArchiveStore {
  constructor(private readonly table: Map<string, Map<number, ArchiveBlock>> = new Map()) {
    super('memory archive store');
  }

  connect(): MemoryArchiveStore {
    return new MemoryArchiveStore(this.table);
  }

  /** Every block held, copies, by (bucket, area, partition, first offset). */
  blocks(): ArchiveBlock[] {
    return [...this.table.values()].flatMap((m) => [...m.values()])
      .sort((a, b) => a.bucket - b.bucket || compareUtf8(a.area, b.area) || a.partition - b.partition || a.firstOffset - b.firstOffset)
      .map((b) => ({ ...b, data: copyBytes(b.data) }));
  }

  write(blocks: readonly ArchiveBlock[]): Promise<{ bytesWritten: number }> {
    return this.operate('write', () => {
      let bytesWritten = 0;
      for (const b of blocks) {
        const key = archiveKeyOf(b.area, b.bucket, b.partition);
        let m = this.table.get(key);
        if (!m) this.table.set(key, (m = new Map<number, ArchiveBlock>()));
        m.set(b.firstOffset, { ...b, data: copyBytes(b.data) });
        bytesWritten += b.data.byteLength;
      }
      return { bytesWritten };
    });
  }

  list(bucket: number, area?: string): Promise<{ area: string; partition: number }[]> {
    return this.operate('list', () => [...this.table.values()].flatMap((m) => {
      const first = m.values().next().value;
      return first && first.bucket === bucket && (area === undefined || first.area === area) ? [{ area: first.area, partition: first.partition }] : [];
    }).sort((a, b) => compareUtf8(a.area, b.area) || a.partition - b.partition));
  }

  heads(area: string, bucket: number, partition: number): Promise<ArchiveBlockHead[]> {
    return this.operate('heads', () => this.sorted(area, bucket, partition).map(({ data: _data, ...head }) => head));
  }

  read(area: string, bucket: number, partition: number, firstOffsets?: readonly number[]): Promise<ArchiveBlock[]> {
    return this.operate('read', () => this.sorted(area, bucket, partition)
      .filter((b) => !firstOffsets || firstOffsets.includes(b.firstOffset))
      .map((b) => ({ ...b, data: copyBytes(b.data) })));
  }

  private sorted(area: string, bucket: number, partition: number): ArchiveBlock[] {
    return [...(this.table.get(archiveKeyOf(area, bucket, partition))?.values() ?? [])].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  async close(): Promise<void> {
    this.markClosed();
  }
}

const archiveKeyOf = (area: string, bucket: number, partition: number) => `${bucket}/${area}/${partition}`;

/**
 * A record sink appending to in-memory logs, one per topic. As with Kafka (no automatic topic creation),
 * a topic must exist: pass a `MemoryLog` or a partition count per topic. A `send` lands whole and in
 * order, or not at all; sends to one partition land in the order they were made.
 */
export class MemoryRecordSink extends FaultInjector implements RecordSink {
  private readonly topics = new Map<string, MemoryLog>();

  constructor(topics: Readonly<Record<string, MemoryLog | number>> = {}) {
    super('memory record sink');
    for (const [name, t] of Object.entries(topics)) this.addTopic(name, t);
  }

  /** Creates `topic` (a log of its own with that many partitions, or the given log); answers its log. */
  addTopic(topic: string, log: MemoryLog | number): MemoryLog {
    if (this.topics.has(topic)) throw new RuntimeError('RT_TOPIC_EXISTS', `memory record sink: topic ${topic} exists`, false);
    const l = typeof log === 'number' ? new MemoryLog({ partitions: log }) : log;
    this.topics.set(topic, l);
    return l;
  }

  /** The log behind `topic`: read it, or consume it through `log(topic).source(...)`. */
  log(topic: string): MemoryLog {
    const l = this.topics.get(topic);
    if (!l) throw new RuntimeError('RT_UNKNOWN_TOPIC', `memory record sink: no topic ${topic}`, false);
    return l;
  }

  /** The values appended to one partition of `topic`, in order. */
  values(topic: string, partition: number): Buffer[] {
    return this.log(topic).records(partition).map((r) => r.value);
  }

  send(topic: string, records: readonly { readonly partition: number; readonly value: Buffer }[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.operate('send', () => {
      const log = this.log(topic);
      for (const r of records) log.checkPartition(r.partition);
      for (const r of records) log.append(r.partition, Buffer.from(r.value));
    });
  }

  async close(): Promise<void> {
    this.markClosed();
  }
}

export interface MemoryLogOptions {
  readonly partitions: number;
  /** Most records in one batch (kafkajs cuts batches by bytes; this cuts them by count). Default 100. */
  readonly maxBatchRecords?: number;
  /** Delay before a batch answered "not processed" (or rejected) is delivered again. Default 10 ms. */
  readonly redeliverMs?: number;
  /** How long a rebalance waits for batches in flight; members still busy then are expelled. Default 60 s. */
  readonly rebalanceTimeoutMs?: number;
  /** Drives redelivery and the rebalance timeout (a `ManualClock` in unit tests). */
  readonly clock?: Clock;
}

interface PartitionState {
  readonly records: LogRecord[];
  /** Offset of `records[0]`: records below it were removed by retention. */
  start: number;
  next: number;
  committed: number | undefined;
  owner: MemoryPartitionSource | null;
  position: number;
  inFlight: Promise<void> | null;
  retry: Cancel | null;
}

/**
 * A partitioned log in memory with one consumer group, mirroring how the kafkajs adapter behaves:
 * - `source(id)` makes a group member (a `PartitionSource`). Each join, leave or expiry is a rebalance:
 *   members already in the group get `onRebalancing`, the rebalance waits for the batches in flight, then
 *   every member gets `onAssignment` with its partitions (round robin over the member ids, sorted).
 *   Neither handler is awaited, as with kafkajs' events.
 * - After each rebalance, every partition is fetched from its committed (monitoring) offset, or from the
 *   start of the log: kafkajs forgets its fetch positions when it rejoins, and the owner seeks.
 * - A member's paused partition gets no batch until it is resumed (the batch in flight still ends).
 * - One batch in flight per partition; the next starts when `onBatch` resolved, at its `nextOffset`
 *   (a seek when that differs from the end of the batch; below the start of the log it resets to the
 *   start). `nextOffset` undefined, or a rejection, delivers the same batch again after `redeliverMs`.
 */
export class MemoryLog {
  readonly partitions: number;
  private readonly maxBatch: number;
  private readonly redeliverMs: number;
  private readonly rebalanceTimeoutMs: number;
  private readonly clock: Clock;
  private readonly state: PartitionState[];
  private readonly members = new Map<string, MemoryPartitionSource>();
  private rebalancing = false;
  private rebalanceQueued = false;
  private chain: Promise<void> = Promise.resolve();
  /** Rejections of handlers (which kafkajs would leave unhandled or retry). */
  readonly handlerErrors: unknown[] = [];

  constructor(o: MemoryLogOptions) {
    if (!Number.isInteger(o.partitions) || o.partitions < 1) throw new RuntimeError('RT_BAD_OPTION', 'options.partitions must be a positive integer', false);
    if (o.maxBatchRecords !== undefined && (!Number.isInteger(o.maxBatchRecords) || o.maxBatchRecords < 1)) {
      throw new RuntimeError('RT_BAD_OPTION', 'options.maxBatchRecords must be a positive integer', false);
    }
    this.partitions = o.partitions;
    this.maxBatch = o.maxBatchRecords ?? 100;
    this.redeliverMs = o.redeliverMs ?? 10;
    this.rebalanceTimeoutMs = o.rebalanceTimeoutMs ?? 60_000;
    this.clock = o.clock ?? systemClock;
    this.state = Array.from({ length: o.partitions }, () => ({ records: [], start: 0, next: 0, committed: undefined, owner: null, position: 0, inFlight: null, retry: null }));
  }

  /** A new member of the group (it joins on `start`). */
  source(memberId: string): MemoryPartitionSource {
    return new MemoryPartitionSource(this, memberId);
  }

  /** Member ids currently in the group, sorted. */
  get memberIds(): string[] {
    return [...this.members.keys()].sort();
  }

  /** The member owning `partition` after the last rebalance, if any. */
  ownerOf(partition: number): string | undefined {
    return this.part(partition).owner?.id;
  }

  /** Appends values to a partition; answers their offsets. */
  append(partition: number, values: Buffer | readonly Buffer[]): number[] {
    const s = this.part(partition);
    const offsets: number[] = [];
    for (const value of Buffer.isBuffer(values) ? [values] : values) {
      offsets.push(s.next);
      s.records.push({ offset: s.next++, value });
    }
    queueMicrotask(() => this.pump(partition));
    return offsets;
  }

  /** The records still in the log, in order. */
  records(partition: number): readonly LogRecord[] {
    return this.part(partition).records.slice();
  }

  highWatermark(partition: number): number {
    return this.part(partition).next;
  }

  /** The offset committed for monitoring, if any. */
  committed(partition: number): number | undefined {
    return this.part(partition).committed;
  }

  /** Retention: removes the records below `offset`. */
  deleteBefore(partition: number, offset: number): void {
    const s = this.part(partition);
    const upTo = Math.min(Math.max(offset, s.start), s.next);
    s.records.splice(0, upTo - s.start);
    s.start = upTo;
  }

  checkPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
      throw new RuntimeError('RT_BAD_PARTITION', `memory log: partition ${partition} is not in 0..${this.partitions - 1}`, false);
    }
  }

  private part(partition: number): PartitionState {
    this.checkPartition(partition);
    return this.state[partition]!;
  }

  /** @internal */
  join(m: MemoryPartitionSource): Promise<void> {
    this.members.set(m.id, m);
    return this.scheduleRebalance();
  }

  /** @internal Leaves after the member's batches in flight are answered. */
  async leave(m: MemoryPartitionSource): Promise<void> {
    await Promise.all(this.state.filter((s) => s.owner === m).map((s) => s.inFlight ?? Promise.resolve()));
    if (this.members.get(m.id) !== m) return;
    this.members.delete(m.id);
    for (const s of this.state) if (s.owner === m) this.release(s);
    await this.scheduleRebalance();
  }

  /** @internal The member's session expired: out at once, its answers ignored. */
  expel(m: MemoryPartitionSource): Promise<void> {
    if (this.members.get(m.id) !== m) return Promise.resolve();
    this.members.delete(m.id);
    for (const s of this.state) if (s.owner === m) this.release(s);
    return this.scheduleRebalance();
  }

  /** @internal A member resumed `partition`: its next batch starts if one is due. */
  resumed(partition: number): void {
    queueMicrotask(() => this.pump(partition));
  }

  /** @internal */
  commit(m: MemoryPartitionSource, partition: number, nextOffset: number): void {
    if (this.members.get(m.id) !== m) throw new RuntimeError('RT_NOT_MEMBER', `memory log: ${m.id} is not a member of the group`, true);
    this.part(partition).committed = nextOffset;
  }

  private release(s: PartitionState): void {
    s.owner = null;
    s.inFlight = null;
    s.retry?.();
    s.retry = null;
  }

  /** Rebalances run one after another; requests made while one waits to start share it. */
  private scheduleRebalance(): Promise<void> {
    if (this.rebalanceQueued) return this.chain;
    this.rebalanceQueued = true;
    this.chain = this.chain.then(() => {
      this.rebalanceQueued = false;
      return this.rebalance();
    });
    return this.chain;
  }

  private async rebalance(): Promise<void> {
    this.rebalancing = true;
    // Members that already had an assignment learn of the rebalance; a joining one does not (kafkajs).
    for (const m of this.members.values()) if (m.assigned !== null) this.notify(m.handlers?.onRebalancing());
    const busy = this.state.filter((s) => s.inFlight !== null && s.owner !== null);
    if (busy.length > 0) {
      let cancel: Cancel = () => undefined;
      const timeout = new Promise<void>((r) => {
        cancel = this.clock.setTimeout(r, this.rebalanceTimeoutMs);
      });
      await Promise.race([Promise.all(busy.map((s) => s.inFlight ?? Promise.resolve())), timeout]);
      cancel();
      // A member that does not finish its batch within the rebalance timeout is dropped from the group.
      for (const s of busy) {
        if (!s.inFlight || !s.owner) continue;
        s.owner.stopping = true;
        this.members.delete(s.owner.id);
      }
    }
    // A member on its way out (stop() waiting for its batches) is given nothing.
    const ids = this.memberIds.filter((id) => !this.members.get(id)!.stopping);
    const mine = new Map<string, number[]>(ids.map((id) => [id, []]));
    for (const s of this.state) this.release(s);
    this.state.forEach((s, p) => {
      if (ids.length === 0) return;
      const id = ids[p % ids.length]!;
      s.owner = this.members.get(id)!;
      s.position = Math.max(s.start, s.committed ?? s.start);
      mine.get(id)!.push(p);
    });
    for (const [id, ps] of mine) {
      const m = this.members.get(id)!;
      m.assigned = ps;
      this.notify(m.handlers?.onAssignment(ps));
    }
    this.rebalancing = false;
    for (let p = 0; p < this.partitions; p++) this.pump(p);
  }

  private notify(p: Promise<void> | undefined): void {
    p?.catch((err: unknown) => this.handlerErrors.push(err));
  }

  private pump(partition: number): void {
    const s = this.state[partition]!;
    const owner = s.owner;
    if (this.rebalancing || !owner?.handlers || owner.stopping || owner.paused.has(partition) || s.inFlight || s.retry || s.position >= s.next) return;
    const from = Math.max(s.position, s.start);
    const batch = s.records.slice(from - s.start, from - s.start + this.maxBatch);
    const token: { done: Promise<void> | null } = { done: null };
    token.done = (async () => {
      let result: BatchResult = {};
      try {
        result = await owner.handlers!.onBatch(partition, batch, () => Promise.resolve(), s.next);
      } catch (err) {
        this.handlerErrors.push(err);
      }
      if (s.inFlight !== token.done) return; // the member was expelled meanwhile: its answer is ignored
      s.inFlight = null;
      if (result.nextOffset === undefined) {
        s.position = from;
        s.retry = this.clock.setTimeout(() => {
          s.retry = null;
          this.pump(partition);
        }, this.redeliverMs);
        return;
      }
      s.position = Math.max(result.nextOffset, s.start);
      this.pump(partition);
    })();
    s.inFlight = token.done;
  }
}

/** One member of a `MemoryLog`'s consumer group. */
export class MemoryPartitionSource implements PartitionSource {
  /** @internal */
  handlers: PartitionHandlers | null = null;
  /** @internal The partitions of the last assignment; null before the first one. */
  assigned: readonly number[] | null = null;
  /** @internal Set by stop() and expire(): no batch is started for this member any more. */
  stopping = false;
  /** @internal Partitions this member fetches nothing of (kept across rebalances, as kafkajs keeps them). */
  readonly paused = new Set<number>();

  constructor(private readonly log: MemoryLog, readonly id: string) {}

  /** The partitions this member was last given. */
  get assignment(): readonly number[] {
    return this.assigned ?? [];
  }

  /** Joins the group; resolves once the rebalance that admits this member has handed out partitions. */
  async start(handlers: PartitionHandlers): Promise<void> {
    if (this.handlers) throw new RuntimeError('RT_ALREADY_STARTED', `memory log member ${this.id}: start() called twice`, false);
    this.handlers = handlers;
    await this.log.join(this);
  }

  async commitForMonitoring(partition: number, nextOffset: number): Promise<void> {
    this.log.commit(this, partition, nextOffset);
  }

  async highWatermarks(): Promise<Map<number, number>> {
    return new Map(Array.from({ length: this.log.partitions }, (_, p) => [p, this.log.highWatermark(p)]));
  }

  pause(partition: number): void {
    this.log.checkPartition(partition);
    this.paused.add(partition);
  }

  resume(partition: number): void {
    this.log.checkPartition(partition);
    if (this.paused.delete(partition)) this.log.resumed(partition);
  }

  /** Leaves the group after its batches in flight are answered; the others rebalance. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.log.leave(this);
  }

  /**
   * The session expired (a process killed, or paused past its session timeout): the group rebalances
   * without this member at once, its answers to batches in flight are ignored, and it gets no more
   * batches. Its handlers may still run, as a zombie's do.
   */
  expire(): Promise<void> {
    this.stopping = true;
    return this.log.expel(this);
  }
}
