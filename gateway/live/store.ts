/**
 * The gateway's live state: every actor delta of the last `horizonMs` merged per (10 s window, cell),
 * and the views viewers subscribe to. Pure: no I/O, no clock (the caller passes times).
 *
 *   deltas (absolute values per partition, window, cell) ──▶ base cells: sum over partitions
 *                                                           └─▶ views (live window × precision): sums over
 *                                                               the window's 10 s windows and the cell's
 *                                                               sub-cells, plus a change log viewers read
 *
 * A delta carries absolute values, so applying one means replacing that partition's previous values and
 * pushing the difference into the sums: re-applying a delta is harmless. Each partition's (epoch, seq) is
 * tracked: an older epoch is a zombie's and is ignored, a newer one is an owner change, a jump in seq is
 * a gap (a lost delta); the caller resends snapshots for both. A seq already seen is ignored: its values
 * are not newer than those applied.
 */
import {
  DEFAULT_MAX_SEGMENTS_PER_CELL, NTYPES, OTHER_SEGMENT_KEY, Reach, SEGMENT_COMPACT_MIN, SEGMENT_SLOTS, nextSegmentCompaction, filterKey, foldSegment, geohashCenter, isFiltered, packSegment, reachAt, segmentKeys, segmentMatcher, skipSegment, unpackSegment,
  type DeltaRecord, type SegmentFilter,
} from '../../actors/model/index.js';
import { FrozenWindow } from './frozen.js';
import { SegmentUsers } from './segment-users.js';

/** Per partition values of a base cell: NTYPES counts then the value sum. */
const SLOTS = SEGMENT_SLOTS;

/**
 * Segments as a delta's row brings them (and as sums are built when a window freezes): a flat list of
 * numbers, per segment its number in the store's dictionary (segment key ↔ small integer), then SLOTS
 * values. What the store keeps per (window, cell, partition) is packed further (id, mask, the non-zero
 * values: {@link BaseCell.partSegs}); the store holds millions of these, so no object per segment.
 */
const STRIDE = 1 + SLOTS;

/** Per partition of a base cell in {@link BaseCell.parts}: the partition number, then its SLOTS values. */
const PART_STRIDE = 1 + SLOTS;

/**
 * A (window, cell) of the store. Segments are kept per partition only: their sums over partitions are
 * computed when a filtered view or a query asks ({@link LiveStore.segmentSums}), so that without filters
 * a delta's segments cost a copy, not a sum per segment.
 */
export interface BaseCell {
  /** Sums over partitions: NTYPES counts, then the value (a plain array: see `parts`; frozen, decoded from the window's bytes). */
  readonly sum: number[] | Float64Array;
  /** Centre (for bbox filters of the query API). */
  readonly lat: number;
  readonly lon: number;
  /**
   * Each partition's values, flat: its number, then SLOTS values (PART_STRIDE numbers per partition). A
   * plain array of doubles rather than a Map of typed arrays: the store holds every cell of 20 minutes,
   * and a Float64Array of 7 values costs ~200 bytes of objects beside its 56 bytes (docs/gateway.md).
   */
  parts: number[];
  /**
   * The segments of the partition at `parts[k * PART_STRIDE]`, at index k, packed as deltas pack them (id,
   * mask, the non-zero values: a segment is mostly zeros); null until one has any.
   */
  partSegs: (number[] | undefined)[] | null;
  /**
   * Once the cell's window is frozen ({@link LiveStoreOptions.freezeMs}): its segments summed over the
   * partitions, already folded into "other" where the cap says so, packed as deltas pack them
   * (actors/model packSegment: id, mask, the non-zero values). `parts`, `partSegs` and `held` are dropped
   * then: no delta can change the window any more.
   */
  frozenSegs: Float64Array | null;
  /**
   * The segments counted under their own key, at most `maxSegmentsPerCell` over all partitions (first
   * come, first kept: actors/model foldSegment); every other segment of the cell counts as "other".
   * Null until the cell has segments.
   */
  held: Set<number> | null;
  /**
   * Unique users (actors/model/reach.ts), merged over partitions: a partition's sketch of a window only
   * grows, so the union of every sketch a delta brought is the union of the newest ones. Null until a
   * delta brings one; once frozen, `frozenReach` holds its bytes instead (one small array, not objects).
   */
  reach: Reach | null;
  frozenReach: Uint8Array | null;
  /** Per segment number (as deltas name them, before the cap folds them into "other"), its users. */
  segReach: SegmentUsers | null;
  /** Once frozen: per segment number as counted (the cap applied), its users' bytes. */
  frozenSegReach: Map<number, Uint8Array> | null;
}

/**
 * The next `count` segments of a record's packed segments (actors/model/aggregate.ts), from `packed[at]`
 * on, as a flat list in the store's form (number `ids[record number]`, then SLOTS values). A delta carries
 * only the segments that changed since the cell's previous delta.
 */
function rowSegments(packed: readonly number[], at: number, count: number, ids: readonly number[]): { segs: number[]; next: number } {
  const out: number[] = [];
  for (let j = 0; j < count; j++) {
    const o = out.length;
    out.length += STRIDE;
    const r = unpackSegment(packed, at, out, o + 1);
    out[o] = ids[r.id]!;
    at = r.next;
  }
  return { segs: out, next: at };
}

/** One cell of a view (a geohash at the view's precision), summed over the view's windows. */
export interface ViewCell {
  readonly cell: string;
  readonly lat: number;
  readonly lon: number;
  /** NTYPES counts, then the value. */
  readonly sum: Float64Array;
}

export type DeltaOutcome = 'applied' | 'stale' | 'zombie' | 'gap' | 'owner-change';

/**
 * A live window (the newest `windowS` seconds of event time) at one geohash precision, shared by every
 * viewer that subscribed to it. `log` lists the cells as they change; a viewer remembers how far it read.
 */
export class View {
  readonly cells = new Map<string, ViewCell>();
  /** Changed cells in order; position p is `logStart + index`. */
  private log: string[] = [];
  private logOldest: number[] = [];
  private logStart = 0;
  viewers = 0;
  /** Log end at the previous frame-clock tick (for the "ticks with news" statistic). */
  lastTickEnd = 0;
  /**
   * Unique users per view cell: the union of its base cells' sketches in the view's windows (of its
   * matching segments', filtered). Grown by union as deltas come; rebuilt from the base cells when windows
   * leave the view (a union cannot be taken apart), lazily, by {@link LiveStore.viewReach}.
   */
  readonly reach = new Map<string, Reach>();
  reachStale = true;

  /** Which segments the view counts (undefined: all events, the cells' totals). */
  readonly match: ((segmentKey: string) => boolean) | undefined;

  constructor(readonly windowS: number, readonly precision: number, private readonly windowMs: number, readonly filter?: SegmentFilter) {
    this.match = isFiltered(filter) ? segmentMatcher(filter) : undefined;
  }

  /** Identifies the view: viewers with the same key share it. */
  get key(): string {
    return viewKey(this.windowS, this.precision, this.filter);
  }

  private readonly matchById = new Map<number, boolean>();

  /** Forgets which segment numbers matched (the store renumbered them). */
  forgetSegmentNumbers(): void {
    this.matchById.clear();
  }

  /** Whether the store's segment `id` (key `keyOf(id)`) passes the view's filter. */
  matches(id: number, keyOf: (id: number) => string): boolean {
    let m = this.matchById.get(id);
    if (m === undefined) this.matchById.set(id, (m = this.match ? this.match(keyOf(id)) : true));
    return m;
  }

  /** A base cell's values as this view counts them, into `out` (`counted` folds a segment into "other"). */
  valuesOf(base: BaseCell, out: Float64Array, keyOf: (id: number) => string, counted: (base: BaseCell, id: number) => number): Float64Array {
    if (!this.match) {
      out.set(base.sum);
      return out;
    }
    out.fill(0);
    eachSegment(base, (id, vals, at) => {
      if (this.matches(counted(base, id), keyOf)) for (let i = 0; i < SLOTS; i++) out[i]! += vals[at + i]!;
    });
    return out;
  }

  /** Adds users to a view cell (nothing while stale: the rebuild will count them). */
  addReach(cell: string, r: Reach): void {
    if (this.reachStale) return;
    this.reachOfCell(cell).merge(r);
  }

  /** Adds the users of a reach's bytes to a view cell (a frozen cell's, as the view's users are rebuilt). */
  addReachBytes(cell: string, b: Uint8Array): void {
    if (this.reachStale) return;
    this.reachOfCell(cell).mergeBytes(b);
  }

  private reachOfCell(cell: string): Reach {
    const key = cell.slice(0, this.precision);
    let mine = this.reach.get(key);
    if (!mine) this.reach.set(key, (mine = new Reach()));
    return mine;
  }

  /** Windows w with `first <= w <= newest` are in the view. */
  firstWindow(newest: number): number {
    return newest - (this.windowS * 1000 / this.windowMs - 1) * this.windowMs;
  }

  get logEnd(): number {
    return this.logStart + this.log.length;
  }

  add(cell: string, diff: Float64Array, oldestAt: number): void {
    const key = cell.slice(0, this.precision);
    let c = this.cells.get(key);
    if (!c) {
      const { lat, lon } = geohashCenter(key);
      c = { cell: key, lat, lon, sum: new Float64Array(SLOTS) };
      this.cells.set(key, c);
    }
    let nonZero = false;
    for (let i = 0; i < SLOTS; i++) {
      // Sums of integers stay exact in a double; the value sum may leave a tiny residue, rounded away.
      const v = c.sum[i]! + diff[i]!;
      c.sum[i] = Math.abs(v) < 1e-9 ? 0 : v;
      if (i < NTYPES && c.sum[i] !== 0) nonZero = true;
    }
    if (!nonZero) this.cells.delete(key);
    this.log.push(key);
    this.logOldest.push(oldestAt);
  }

  /** Distinct cells changed at log positions [from, end), and the earliest accept time among them. */
  changesSince(from: number, end = this.logEnd): { cells: Set<string>; oldestAt: number } {
    const cells = new Set<string>();
    for (let i = Math.max(0, from - this.logStart); i < end - this.logStart; i++) cells.add(this.log[i]!);
    return { cells, oldestAt: this.oldestSince(from, end) };
  }

  /** The earliest accept time among changes at log positions [from, end) (Infinity: none). */
  oldestSince(from: number, end = this.logEnd): number {
    let oldestAt = Infinity;
    for (let i = Math.max(0, from - this.logStart); i < end - this.logStart; i++) if (this.logOldest[i]! < oldestAt) oldestAt = this.logOldest[i]!;
    return oldestAt;
  }

  /** True when reading from `from` costs more than a snapshot (or the log before it was dropped). */
  snapshotCheaper(from: number): boolean {
    return from < this.logStart || this.logEnd - from > 2 * this.cells.size + 64;
  }

  /** Drops log entries every viewer has read (positions below `upTo`). */
  trim(upTo: number): void {
    const n = Math.min(upTo - this.logStart, this.log.length);
    if (n <= 0) return;
    this.log = this.log.slice(n);
    this.logOldest = this.logOldest.slice(n);
    this.logStart += n;
  }
}

export const viewKey = (windowS: number, precision: number, filter: SegmentFilter | undefined) => `${windowS}:${precision}:${filterKey(filter)}`;

export interface LiveStoreOptions {
  /** The actors' window length, ms (deltas of another length are rejected). */
  readonly windowMs: number;
  /** How much event time is kept, ms (≥ the longest live window). */
  readonly horizonMs: number;
  /** Distinct segments per (window, cell) counted under their own key; the rest count as "other". */
  readonly maxSegmentsPerCell?: number;
  /**
   * A window this much older than every partition's newest window (ms, event time) is frozen: its
   * per-partition values are summed away, and deltas for it are ignored as too old. Most of the horizon
   * is frozen, so this divides the store's memory by about the number of partitions a cell's events come
   * from. It must exceed the actors' allowed lateness (ADME_LATENESS_MS) plus a window. The slowest
   * partition sets the line, so a partition catching up (a failover, the replay at start) holds the
   * freezing back rather than losing its deltas. Default: the whole horizon (nothing frozen).
   */
  readonly freezeMs?: number;
  /**
   * The segment dictionary is compacted (keys no cell names any more dropped, the rest renumbered) when it
   * reaches this many keys, and then again at twice what it kept. Default actors/model SEGMENT_COMPACT_MIN.
   */
  readonly compactKeysAt?: number;
}

const scratch = new Float64Array(SLOTS);

/**
 * Calls `fn` with each segment of a cell: per partition (`vals[at ...]` its SLOTS values), or, frozen,
 * each segment of the sums once.
 */
function eachSegment(base: BaseCell, fn: (id: number, vals: ArrayLike<number>, at: number) => void): void {
  const frozen = base.frozenSegs;
  if (frozen) {
    for (let k = 0; k < frozen.length;) {
      const r = unpackSegment(frozen, k, scratch, 0);
      fn(r.id, scratch, 0);
      k = r.next;
    }
    return;
  }
  for (const segs of base.partSegs ?? []) {
    for (let k = 0; segs && k < segs.length;) {
      const r = unpackSegment(segs, k, scratch, 0);
      fn(r.id, scratch, 0);
      k = r.next;
    }
  }
}

export class LiveStore {
  /** Start of the newest window seen (event time), −Infinity before any delta. */
  newest = -Infinity;
  /** Emit time of the newest delta applied, epoch ms (0 = none). */
  dataAt = 0;
  /** Per window start: its cells, or once frozen, the window packed ({@link FrozenWindow}). */
  private readonly windows = new Map<number, Map<string, BaseCell> | FrozenWindow>();
  /** Per partition: its owner's epoch, the last delta's seq, and the newest window it sent. */
  private readonly partitions = new Map<number, { epoch: number; seq: number; newest: number }>();
  private readonly views = new Map<string, View>();
  /** Views with an app or campaign filter: only they need per-segment differences. */
  private filteredViews = 0;
  /** Segment keys ↔ the small integers the cells hold. */
  private readonly segIds = new Map<string, number>();
  private segKeys: string[] = [];
  /** The key of segment number `id`. */
  readonly keyOf = (id: number): string => this.segKeys[id]!;
  private readonly diff = new Float64Array(SLOTS);
  private readonly filtered = new Float64Array(SLOTS);

  private segId(key: string): number {
    let id = this.segIds.get(key);
    if (id === undefined) {
      id = this.segKeys.length;
      this.segIds.set(key, id);
      this.segKeys.push(key);
    }
    return id;
  }
  readonly stats = { deltas: 0, stale: 0, zombie: 0, gaps: 0, ownerChanges: 0, tooOld: 0, folded: 0, keysDropped: 0 };
  /** The "other" segment's number. */
  private readonly otherId: number;
  private readonly maxSegments: number;

  constructor(readonly opts: LiveStoreOptions) {
    this.otherId = this.segId(OTHER_SEGMENT_KEY);
    this.maxSegments = opts.maxSegmentsPerCell ?? DEFAULT_MAX_SEGMENTS_PER_CELL;
    this.compactAt = opts.compactKeysAt ?? SEGMENT_COMPACT_MIN;
  }

  /** Dictionary size at which {@link compactKeys} runs next. */
  private compactAt: number;

  /** Segment keys in the dictionary (every key a delta named since the last compaction). */
  get dictionarySize(): number {
    return this.segKeys.length;
  }

  /**
   * Drops the keys no held cell names any more and renumbers the rest, in their order (so "other" stays
   * 0). The cap bounds the segments of each cell and window, not the keys over time: a producer sending a
   * new campaign id with every event would otherwise grow the dictionary for as long as the gateway runs.
   * Runs when the dictionary doubles, so its cost (one pass over the store) is spread over at least as many
   * new keys as it keeps.
   */
  private compactKeys(): void {
    const used = new Uint8Array(this.segKeys.length);
    used[this.otherId] = 1;
    const mark = (id: number) => ((used[id] = 1), id);
    for (const cells of this.windows.values()) {
      if (cells instanceof FrozenWindow) for (const id of cells.ids()) mark(id);
      else for (const base of cells.values()) renumberOpenCell(base, mark);
    }
    const next = new Int32Array(this.segKeys.length).fill(-1);
    const keys: string[] = [];
    this.segIds.clear();
    this.segKeys.forEach((key, id) => {
      if (!used[id]) return;
      next[id] = keys.length;
      this.segIds.set(key, keys.length);
      keys.push(key);
    });
    const to = (id: number) => next[id]!;
    for (const [w, cells] of this.windows) {
      if (cells instanceof FrozenWindow) this.windows.set(w, cells.renumbered(to));
      else for (const base of cells.values()) renumberOpenCell(base, to);
    }
    this.segKeys = keys;
    for (const v of this.views.values()) v.forgetSegmentNumbers();
    this.stats.keysDropped += next.length - keys.length;
    this.compactAt = nextSegmentCompaction(keys.length, this.opts.compactKeysAt);
  }

  /** The segment number `id` of `base` is counted under: its own, or "other" when the cell is full. */
  readonly counted = (base: BaseCell, id: number): number => (base.frozenSegs || id === this.otherId || base.held?.has(id) ? id : this.otherId);

  /** A segment new to a partition's list of `base`: admitted under its own key, or folded. */
  private admit(base: BaseCell, id: number): void {
    if (foldSegment((base.held ??= new Set()), id, this.maxSegments, this.otherId) !== id) this.stats.folded++;
  }

  /** Oldest window start kept. */
  get firstKept(): number {
    return this.newest - this.opts.horizonMs + this.opts.windowMs;
  }

  /** Oldest window start deltas may still change (older ones are frozen, or gone). */
  get firstOpen(): number {
    return Math.max(this.firstKept, this.frozenBelow);
  }

  /** Windows below this start are frozen. */
  private frozenBelow = -Infinity;

  /** Freezes the windows every partition has left `freezeMs` behind. */
  private freezeOld(): void {
    const freezeMs = this.opts.freezeMs;
    if (freezeMs === undefined || freezeMs >= this.opts.horizonMs) return;
    let slowest = Infinity;
    for (const p of this.partitions.values()) slowest = Math.min(slowest, p.newest);
    const line = slowest - freezeMs + this.opts.windowMs;
    if (!(line > this.frozenBelow) || !Number.isFinite(line)) return;
    for (const [w, cells] of this.windows) {
      if (w < this.frozenBelow || w >= line || cells instanceof FrozenWindow) continue;
      for (const base of cells.values()) freeze(base, this.counted);
      this.windows.set(w, new FrozenWindow(cells));
    }
    this.frozenBelow = line;
  }

  /** Number of (window, cell) rows held. */
  get size(): number {
    let n = 0;
    for (const w of this.windows.values()) n += w.size;
    return n;
  }

  /** Rows of the frozen windows, and the bytes their packed form holds ({@link FrozenWindow}). */
  get frozen(): { rows: number; bytes: number } {
    let rows = 0;
    let bytes = 0;
    for (const w of this.windows.values()) {
      if (!(w instanceof FrozenWindow)) continue;
      rows += w.size;
      bytes += w.bytesHeld;
    }
    return { rows, bytes };
  }

  /** The view for (windowS, precision, filter), built from the base cells on first use. */
  acquire(windowS: number, precision: number, filter?: SegmentFilter): View {
    const key = viewKey(windowS, precision, filter);
    let v = this.views.get(key);
    if (!v) {
      v = new View(windowS, precision, this.opts.windowMs, filter);
      const first = v.firstWindow(this.newest);
      const values = new Float64Array(SLOTS);
      for (const [w, cells] of this.windows) {
        if (w < first) continue;
        for (const [cell, base] of cellsOf(cells)) v.add(cell, v.valuesOf(base, values, this.keyOf, this.counted), Infinity);
      }
      v.trim(v.logEnd); // a new view starts with an empty log: viewers begin with a snapshot
      this.views.set(key, v);
      if (v.match) this.filteredViews++;
    }
    v.viewers++;
    return v;
  }

  release(v: View): void {
    if (--v.viewers <= 0 && this.views.delete(v.key) && v.match) this.filteredViews--;
  }

  apply(d: DeltaRecord): DeltaOutcome {
    if (d.windowMs !== this.opts.windowMs) throw new Error(`delta of partition ${d.partition} has ${d.windowMs} ms windows, the gateway expects ${this.opts.windowMs}`);
    const known = this.partitions.get(d.partition);
    let outcome: DeltaOutcome = 'applied';
    if (known && d.epoch < known.epoch) {
      this.stats.zombie++;
      return 'zombie';
    }
    if (known && d.epoch > known.epoch) outcome = 'owner-change';
    else if (known && d.seq <= known.seq) {
      // Already applied (a replay), or older than one applied (reordered): its values are not newer.
      this.stats.stale++;
      return 'stale';
    } else if (known && d.seq > known.seq + 1) outcome = 'gap';
    let maxWindow = -Infinity;
    for (let i = 0; i < d.windows.length; i++) if (d.windows[i]! > maxWindow) maxWindow = d.windows[i]!;
    this.partitions.set(d.partition, { epoch: d.epoch, seq: d.seq, newest: Math.max(known?.newest ?? -Infinity, maxWindow) });
    if (outcome === 'gap') this.stats.gaps++;
    if (outcome === 'owner-change') this.stats.ownerChanges++;
    this.stats.deltas++;
    if (d.at > this.dataAt) this.dataAt = d.at;

    if (maxWindow > this.newest) this.advance(maxWindow);

    const first = this.firstOpen;
    const next = new Float64Array(SLOTS);
    const [apps, campaigns, perRow, packed] = d.segments ?? [[], [], [], []];
    const ids = segmentKeys({ segApps: apps, segCampaigns: campaigns }).map((key) => this.segId(key));
    const reach = d.reach;
    let k = 0;
    let segK = 0;
    for (let i = 0; i < d.cells.length; i++) {
      const w = d.windows[i]!;
      let segs: number[] | null = null;
      const nsegs = perRow[i] ?? 0;
      if (nsegs) ({ segs, next: k } = rowSegments(packed, k, nsegs, ids));
      const seg0 = segK;
      segK += nsegs;
      if (w < first) {
        this.stats.tooOld++;
        continue;
      }
      const cell = d.cells[i]!;
      for (let t = 0; t < NTYPES; t++) next[t] = d.counts[i * NTYPES + t]!;
      next[NTYPES] = d.values[i]!;
      let segReach: Map<number, Reach> | undefined;
      if (reach && segs) {
        segReach = new Map();
        for (let j = 0; j < nsegs; j++) segReach.set(segs[j * STRIDE]!, reachAt(reach.segs, seg0 + j));
      }
      this.set(d.partition, w, cell, next, segs, d.oldestAt, reach ? reachAt(reach.rows, i) : undefined, segReach);
    }
    this.freezeOld();
    if (this.segKeys.length >= this.compactAt) this.compactKeys();
    return outcome;
  }

  /**
   * Replaces a partition's values of (window, cell), and of the segments in `segs` (the others keep their
   * values), and passes the differences on to the views.
   */
  set(partition: number, window: number, cell: string, next: Float64Array, segs: number[] | null = null, oldestAt = Infinity, reach?: Reach, segReach?: ReadonlyMap<number, Reach>): void {
    let cells = this.windows.get(window);
    if (cells instanceof FrozenWindow) {
      this.stats.tooOld++; // a frozen window takes no more values (apply and repair never get here)
      return;
    }
    if (!cells) this.windows.set(window, (cells = new Map<string, BaseCell>()));
    let base = cells.get(cell);
    if (!base) {
      base = { sum: Array.from({ length: SLOTS }, () => 0), parts: [], partSegs: null, frozenSegs: null, held: null, reach: null, frozenReach: null, segReach: null, frozenSegReach: null, ...geohashCenter(cell) };
      cells.set(cell, base);
    }
    // Users: unions, kept whole (the sketches given are this call's to keep).
    if (reach) base.reach = base.reach ? base.reach.merge(reach) : reach;
    if (segReach) {
      const mine = (base.segReach ??= new SegmentUsers());
      for (const [id, r] of segReach) mine.add(id, r);
    }
    const parts = base.parts;
    let at = partAt(base, partition);
    if (at < 0) {
      at = parts.length;
      parts.push(partition);
      for (let s = 0; s < SLOTS; s++) parts.push(0);
    }
    const diff = this.diff;
    let changed = false;
    for (let s = 0; s < SLOTS; s++) {
      diff[s] = next[s]! - parts[at + 1 + s]!;
      if (diff[s] !== 0) changed = true;
      parts[at + 1 + s] = next[s]!;
      base.sum[s]! += diff[s]!;
    }
    // Per-segment differences matter only to filtered views.
    let segDiffs: Map<number, Float64Array> | null = null;
    if (segs) {
      const lists = (base.partSegs ??= []);
      const b = base;
      const k = at / PART_STRIDE;
      const r = updateSegments(lists[k], segs, this.filteredViews > 0, (id) => this.admit(b, id));
      lists[k] = r.list;
      segDiffs = r.diffs;
    }
    // After the segments: a segment new to the cell is admitted (or folded) before it is counted.
    for (const v of this.views.values()) {
      if (window < v.firstWindow(this.newest)) continue;
      if (!v.match) {
        if (reach) v.addReach(cell, reach);
      } else if (segReach) {
        for (const [id, r] of segReach) if (v.matches(this.counted(base, id), this.keyOf)) v.addReach(cell, r);
      }
    }
    if (!changed && !segDiffs) return;
    const filtered = this.filtered;
    for (const v of this.views.values()) {
      if (window < v.firstWindow(this.newest)) continue;
      if (!v.match) {
        if (changed) v.add(cell, diff, oldestAt);
        continue;
      }
      if (!segDiffs) continue;
      filtered.fill(0);
      let any = false;
      for (const [id, d] of segDiffs) {
        if (!v.matches(this.counted(base, id), this.keyOf)) continue;
        any = true;
        for (let s = 0; s < SLOTS; s++) filtered[s]! += d[s]!;
      }
      if (any) v.add(cell, filtered, oldestAt);
    }
  }

  /**
   * A partition's values from another source (MongoDB rollups, after a gap): each count and the value
   * only ever grow within a window, so the larger of the two is the newer.
   */
  repair(partition: number, window: number, cell: string, values: ArrayLike<number>, segs: ReadonlyMap<string, Float64Array> | null = null, reach?: Reach, segReach?: ReadonlyMap<string, Reach> | null): void {
    if (window < this.firstOpen) return;
    const cells = this.windows.get(window);
    const base = cells instanceof Map ? cells.get(cell) : undefined; // an open window (checked above)
    const at = base ? partAt(base, partition) : -1;
    const prev = (s: number) => (at < 0 ? 0 : base!.parts[at + 1 + s]!);
    const prevSegs = at < 0 ? undefined : base!.partSegs?.[at / PART_STRIDE];
    const next = new Float64Array(SLOTS);
    let larger = false;
    for (let s = 0; s < SLOTS; s++) {
      next[s] = Math.max(prev(s), values[s]!);
      if (next[s]! > prev(s)) larger = true;
    }
    // Segment by segment, the larger values are the newer too.
    const update: number[] = [];
    const old = new Float64Array(SLOTS);
    for (const [key, v] of segs ?? []) {
      const id = this.segId(key);
      const had = prevSegs ? packedValues(prevSegs, id, old) : false;
      if (!had) old.fill(0);
      const row: number[] = [id];
      let more = !had;
      for (let s = 0; s < SLOTS; s++) {
        row.push(Math.max(old[s]!, v[s]!));
        if (v[s]! > old[s]!) more = true;
      }
      if (!more) continue;
      update.push(...row);
      larger = true;
    }
    let sr: Map<number, Reach> | undefined;
    for (const [key, r] of segReach ?? []) (sr ??= new Map()).set(this.segId(key), r);
    // Users only ever grow too: a union with the stored sketch is never wrong, so it is always taken.
    if (larger || reach || sr) this.set(partition, window, cell, next, update.length > 0 ? update : null, Infinity, reach, sr);
  }

  /** Moves the newest window forward: windows leave the views and, past the horizon, the store. */
  private advance(newest: number): void {
    const old = this.newest;
    this.newest = newest;
    const negative = new Float64Array(SLOTS);
    for (const v of this.views.values()) {
      const was = Number.isFinite(old) ? v.firstWindow(old) : Infinity;
      const now = v.firstWindow(newest);
      for (const [w, cells] of this.windows) {
        if (w < was || w >= now) continue; // only windows that were in the view and no longer are
        v.reachStale = true; // their users cannot be taken out of a union: rebuilt when next asked
        for (const [cell, base] of cellsOf(cells)) {
          v.valuesOf(base, negative, this.keyOf, this.counted);
          for (let s = 0; s < SLOTS; s++) negative[s] = -negative[s]!;
          v.add(cell, negative, Infinity);
        }
      }
    }
    const first = this.firstKept;
    for (const w of [...this.windows.keys()]) if (w < first) this.windows.delete(w);
  }

  /** A base cell's unique users (undefined: no delta brought any). */
  reachOf(base: BaseCell): Reach | undefined {
    if (base.frozenReach) return Reach.fromBytes(base.frozenReach);
    return base.reach ?? undefined;
  }

  /** A base cell's segments' unique users, by segment key as counted (the cap applied); null: none. */
  segmentReach(base: BaseCell): Map<string, Reach> | null {
    let out: Map<string, Reach> | null = null;
    if (base.frozenSegReach) {
      for (const [id, b] of base.frozenSegReach) (out ??= new Map()).set(this.segKeys[id]!, Reach.fromBytes(b));
      return out;
    }
    for (const [id, r] of base.segReach?.entries() ?? []) {
      const key = this.segKeys[this.counted(base, id)]!;
      const m = (out ??= new Map<string, Reach>());
      const had = m.get(key);
      m.set(key, had ? had.merge(r) : new Reach().merge(r));
    }
    return out;
  }

  /**
   * The view's users per view cell, rebuilt first if windows left it since (one pass over the base cells
   * of its windows).
   */
  viewReach(v: View): ReadonlyMap<string, Reach> {
    if (!v.reachStale) return v.reach;
    v.reach.clear();
    v.reachStale = false;
    const first = v.firstWindow(this.newest);
    for (const [w, cells] of this.windows) {
      if (w < first) continue;
      if (cells instanceof FrozenWindow) {
        // Merged from the bytes, without a reach object per cell and segment.
        for (const [cell, base] of cells.entries()) {
          if (!v.match) {
            const b = base.frozenReach;
            if (b) v.addReachBytes(cell, b);
          } else base.eachSegmentUsers((id, b) => v.matches(id, this.keyOf) && v.addReachBytes(cell, b));
        }
        continue;
      }
      for (const [cell, base] of cells) {
        if (!v.match) {
          const r = this.reachOf(base);
          if (r) v.addReach(cell, r);
          continue;
        }
        for (const [key, r] of this.segmentReach(base) ?? []) if (v.match(key)) v.addReach(cell, r);
      }
    }
    return v.reach;
  }

  /** A base cell's segments summed over partitions, by key (null: none of its events named an app or a campaign). */
  segmentSums(base: BaseCell): Map<string, Float64Array> | null {
    let out: Map<string, Float64Array> | null = null;
    eachSegment(base, (id, vals, at) => {
      out ??= new Map();
      const key = this.segKeys[this.counted(base, id)]!;
      let sum = out.get(key);
      if (!sum) out.set(key, (sum = new Float64Array(SLOTS)));
      for (let i = 0; i < SLOTS; i++) sum[i]! += vals[at + i]!;
    });
    return out;
  }

  /** Every base cell of windows [from, to): sums over partitions (the query API's live source). */
  *rows(from: number, to: number): Generator<{ window: number; cell: string; base: BaseCell }> {
    for (const [window, cells] of this.windows) {
      if (window < from || window >= to) continue;
      for (const [cell, base] of cellsOf(cells)) yield { window, cell, base };
    }
  }
}

/** A window's cells, open or frozen. */
const cellsOf = (cells: Map<string, BaseCell> | FrozenWindow): Iterable<[string, BaseCell]> => (cells instanceof FrozenWindow ? cells.entries() : cells);

const NO_PARTS: number[] = [];
const NO_SEGMENTS = new Float64Array(0);

/**
 * Sums a cell's segments over its partitions (each under the key `counted` gives it), packs them, and
 * drops what only deltas needed.
 */
function freeze(base: BaseCell, counted: (base: BaseCell, id: number) => number): void {
  if (base.frozenSegs) return;
  let frozen = NO_SEGMENTS;
  if (base.partSegs) {
    const sums: number[] = [];
    eachSegment(base, (id, vals, at) => {
      const as = counted(base, id);
      let k = findSegment(sums, as);
      if (k < 0) {
        k = sums.length;
        sums.push(as);
        for (let s = 0; s < SLOTS; s++) sums.push(0);
      }
      for (let s = 0; s < SLOTS; s++) sums[k + 1 + s]! += vals[at + s]!;
    });
    const packed: number[] = [];
    for (let k = 0; k < sums.length; k += STRIDE) packSegment(packed, sums[k]!, sums, k + 1);
    frozen = Float64Array.from(packed);
  }
  base.frozenSegs = frozen;
  if (base.reach) base.frozenReach = base.reach.toBytes();
  if (base.segReach) {
    const byCounted = new Map<number, Reach>();
    for (const [id, r] of base.segReach.entries()) {
      const as = counted(base, id);
      const had = byCounted.get(as);
      byCounted.set(as, had ? had.merge(r) : new Reach().merge(r));
    }
    base.frozenSegReach = new Map([...byCounted].map(([id, r]) => [id, r.toBytes()]));
  }
  base.reach = null;
  base.segReach = null;
  base.parts = NO_PARTS;
  base.partSegs = null;
  base.held = null;
}

/** The offset of `partition`'s entry in `base.parts`, or −1. */
function partAt(base: BaseCell, partition: number): number {
  const parts = base.parts;
  for (let i = 0; i < parts.length; i += PART_STRIDE) if (parts[i] === partition) return i;
  return -1;
}

/** The offset of segment `id` in a flat segment list, or −1. */
function findSegment(segs: readonly number[], id: number): number {
  for (let k = 0; k < segs.length; k += STRIDE) if (segs[k] === id) return k;
  return -1;
}

/** Renumbers the segments an open cell names (`to` maps each number to its new one, or marks it). */
function renumberOpenCell(base: BaseCell, to: (id: number) => number): void {
  for (const segs of base.partSegs ?? []) for (let k = 0; segs && k < segs.length; k = skipSegment(segs, k)) segs[k] = to(segs[k]!);
  if (base.held) base.held = new Set([...base.held].map(to));
  base.segReach?.renumber(to);
}

/** The offset of segment `id` in a packed list, or −1. */
function findPacked(segs: readonly number[], id: number): number {
  for (let k = 0; k < segs.length; k = skipSegment(segs, k)) if (segs[k] === id) return k;
  return -1;
}

/** Segment `id`'s values in a packed list, into `out`; false when the list has none. */
function packedValues(segs: readonly number[], id: number, out: Float64Array): boolean {
  const k = findPacked(segs, id);
  if (k >= 0) unpackSegment(segs, k, out, 0);
  return k >= 0;
}

const oldValues = new Float64Array(SLOTS);
const updateOffsets: number[] = [];

/**
 * A partition's packed segment list (`into`, undefined: none yet) with the segments of `update` (a flat
 * list, STRIDE numbers per segment) written in: in place while each segment keeps its set of non-zero
 * slots (most deltas: the same counts grew), as a new exact-size list when one is new or gains a slot.
 * With `diffs`, also per segment number new − old, for filtered views (null when nothing changed).
 */
function updateSegments(into: number[] | undefined, update: readonly number[], diffs: boolean, added: (id: number) => void): { list: number[]; diffs: Map<number, Float64Array> | null } {
  let out: Map<number, Float64Array> | null = null;
  const diffOf = (id: number, at: number) => {
    let d: Float64Array | undefined;
    for (let s = 0; s < SLOTS; s++) {
      const next = update[at + 1 + s]!;
      if (next !== oldValues[s]) (d ??= new Float64Array(SLOTS))[s] = next - oldValues[s]!;
    }
    if (d) (out ??= new Map()).set(id, d);
  };
  const list = into ?? [];
  // Where each updated segment is in the list (found once), while no update changes the list's shape.
  const at = updateOffsets;
  at.length = 0;
  let rebuild = false;
  for (let j = 0; j < update.length; j += STRIDE) {
    const k = findPacked(list, update[j]!);
    let mask = 0;
    for (let s = 0; s < SLOTS; s++) if (update[j + 1 + s] !== 0) mask |= 1 << s;
    if (k < 0 || mask !== list[k + 1]) {
      rebuild = true; // a new segment, or a slot became non-zero (or zero)
      break;
    }
    at.push(k);
  }
  if (!rebuild) {
    for (let j = 0, i = 0; j < update.length; j += STRIDE, i++) {
      const id = update[j]!;
      const k = at[i]!;
      if (diffs) {
        unpackSegment(list, k, oldValues, 0);
        diffOf(id, j);
      }
      let v = k + 2;
      for (let s = 0; s < SLOTS; s++) if (list[k + 1]! & (1 << s)) list[v++] = update[j + 1 + s]!;
    }
    return { list, diffs: out };
  }
  // The list again: the segments of `update` with their new values, the others as they were, then the new ones.
  const packed: number[] = [];
  const seen = new Set<number>();
  for (let k = 0; k < list.length;) {
    const id = list[k]!;
    const next = skipSegment(list, k);
    let j = 0;
    while (j < update.length && update[j] !== id) j += STRIDE;
    if (j < update.length) {
      seen.add(id);
      if (diffs) {
        unpackSegment(list, k, oldValues, 0);
        diffOf(id, j);
      }
      packSegment(packed, id, update, j + 1);
    } else for (let i = k; i < next; i++) packed.push(list[i]!);
    k = next;
  }
  for (let j = 0; j < update.length; j += STRIDE) {
    const id = update[j]!;
    if (seen.has(id)) continue;
    added(id);
    if (diffs) {
      oldValues.fill(0);
      diffOf(id, j);
    }
    packSegment(packed, id, update, j + 1);
  }
  return { list: packed.slice(), diffs: out }; // slice: an exact-size copy (push leaves room to grow)
}
