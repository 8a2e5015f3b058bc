/**
 * A shard's aggregation state and every pure transition of it: fold a pre-aggregated batch in, close
 * windows behind the watermark, produce rollup documents and delta records, snapshot and restore.
 * No I/O and no clock: the shard's state machine (shard-logic.ts) decides when, this decides what.
 */
import {
  EVENT_TYPES, FINAL_PREFIX_PRECISION, SEGMENT_SLOTS, decode, encode, encodePackedSegments, finalBlockId, openWindowId, versionOf, type AdEvent,
  type DeltaRecord, packSegment, type FinalBlock, type OpenWindowDoc, type PackedSegments, type RollupBlock,
} from './model/index.js';
import { emptySegList, LocalDictionary, SegmentDict, packSegList, segSlot, unpackSegList, type SegList } from './segments.js';
import { Hll } from './hll.js';
import { IdSet } from './id-set.js';
import { NTYPES, type AggregationConfig, type InvalidRecord, type LateEvent, type PartialBatch } from './preaggregate.js';

export interface CellWindow {
  readonly window: number;
  readonly cell: string;
  readonly counts: number[];
  value: number;
  readonly users: Hll;
  /** Client ids (53-bit hashes) counted in this cell-window: the de-duplication memory. */
  ids: IdSet | null;
  /**
   * Per segment (actors/model/segment.ts; ids of the shard's {@link ShardState.segDict}) of the events
   * naming an app or a campaign: NTYPES counts, then the value sum. Null until the first such event.
   */
  segs: SegList | null;
  /** The shard's delta count when this cell last went out in a delta (−1: never). */
  segTakenAt: number;
}

export interface ShardState {
  nextOffset: number;
  /** Max event time seen (−Infinity before any event). */
  maxTs: number;
  readonly cells: Map<string, CellWindow>;
  /** Late events not yet written to the late-events collection. */
  pendingLate: LateEvent[];
  /** Invalid records and events not yet written to the invalid-events collection. */
  pendingInvalid: InvalidRecord[];
  /** Totals since the shard began (carried in checkpoints). */
  /** Events counted (late and duplicate ones excluded), late, duplicate, invalid: since the shard began. */
  totals: { events: number; late: number; duplicates: number; invalid: number };
  /** Keys changed since the last rollup write / the last delta. Not checkpointed: a restore marks all. */
  readonly rollupDirty: Set<string>;
  readonly deltaDirty: Set<string>;
  /** Earliest gateway receive time among events folded in since the last delta. */
  deltaOldestAt: number;
  /** Keys of the cells of each window held. */
  readonly windows: Map<number, Set<string>>;
  /** Keys changed since the last checkpoint: only these cells are encoded and written again. */
  readonly checkpointDirty: Set<string>;
  /** Sequence number of the last checkpoint taken (names its change parts). */
  checkpointSeq: number;
  /** Per window, the parts holding its cells in the last committed checkpoint. */
  checkpointLayout: Map<number, WindowLayout>;
  /** Deltas taken so far: segments are stamped with it when they change. */
  deltaGen: number;
  /** The segments (app, campaign) the cells' `segs` name. Not checkpointed: each part has its own. */
  readonly segDict: SegmentDict;
}

export function emptyState(nextOffset = 0): ShardState {
  return {
    nextOffset, maxTs: -Infinity, cells: new Map(), pendingLate: [], pendingInvalid: [],
    totals: { events: 0, late: 0, duplicates: 0, invalid: 0 },
    rollupDirty: new Set(), deltaDirty: new Set(), deltaOldestAt: Infinity, windows: new Map(),
    checkpointDirty: new Set(), checkpointSeq: 0, checkpointLayout: new Map(), deltaGen: 0, segDict: new SegmentDict(),
  };
}

const keyOf = (window: number, cell: string) => `${window}:${cell}`;

function cellWindow(s: ShardState, window: number, cell: string): CellWindow {
  const key = keyOf(window, cell);
  let cw = s.cells.get(key);
  if (!cw) {
    cw = { window, cell, counts: new Array<number>(NTYPES).fill(0), value: 0, users: new Hll(), ids: null, segs: null, segTakenAt: -1 };
    s.cells.set(key, cw);
    let keys = s.windows.get(window);
    if (!keys) s.windows.set(window, (keys = new Set()));
    keys.add(key);
  }
  s.checkpointDirty.add(key);
  s.rollupDirty.add(key);
  s.deltaDirty.add(key);
  return cw;
}

/** The offset of segment `id`'s values in the cell's segment list, stamped as changed now. */
function segmentOfCell(s: ShardState, cw: CellWindow, id: number): number {
  if (!cw.segs) cw.segs = emptySegList();
  return segSlot(cw.segs, id, s.deltaGen);
}

/** Folds a batch in (the batch must start at `s.nextOffset`, which the actor ensures). */
export function applyBatch(s: ShardState, b: PartialBatch): void {
  const r = b.rows;
  // The batch's segment numbers → the shard's.
  const segs = b.segments.apps.map((app, j) => s.segDict.id(app, b.segments.campaigns[j]!));
  let k = 0; // segment entries are in row order
  for (let i = 0; i < r.n; i++) {
    const cw = cellWindow(s, r.windows[i]!, r.cells[i]!);
    const base = i * NTYPES;
    for (let t = 0; t < NTYPES; t++) cw.counts[t]! += r.counts[base + t]!;
    cw.value += r.values[i]!;
    for (let u = r.userStarts[i]!; u < r.userStarts[i + 1]!; u++) cw.users.add(r.users[u]!);
    for (; k < r.segRows.length && r.segRows[k] === i; k++) {
      const at = segmentOfCell(s, cw, segs[r.segIds[k]!]!);
      const vals = cw.segs!.vals;
      for (let t = 0; t < NTYPES; t++) vals[at + t]! += r.segCounts[k * NTYPES + t]!;
      vals[at + NTYPES]! += r.segValues[k]!;
    }
  }
  const dup0 = s.totals.duplicates;
  const e = b.idEvents;
  for (let i = 0; i < e.n; i++) {
    const cw = cellWindow(s, e.windows[i]!, e.cells[i]!);
    if (!cw.ids) cw.ids = new IdSet();
    if (!cw.ids.add(e.ids[i]!)) {
      s.totals.duplicates++;
      continue;
    }
    cw.counts[e.types[i]!]!++;
    cw.value += e.values[i]!;
    cw.users.add(e.users[i]!);
    if (e.segs[i]! >= 0) {
      const at = segmentOfCell(s, cw, segs[e.segs[i]!]!);
      cw.segs!.vals[at + e.types[i]!]!++;
      cw.segs!.vals[at + NTYPES]! += e.values[i]!;
    }
  }
  if (b.late.length > 0) s.pendingLate.push(...b.late);
  for (const x of b.invalid) s.pendingInvalid.push(x);
  s.totals.events += b.events - b.late.length - (s.totals.duplicates - dup0);
  s.totals.late += b.late.length;
  s.totals.invalid += b.invalid.length;
  s.maxTs = Math.max(s.maxTs, b.maxTs);
  s.nextOffset = b.nextOffset;
  if (b.oldestAt > 0 && b.oldestAt < s.deltaOldestAt) s.deltaOldestAt = b.oldestAt;
}

export function watermark(s: ShardState, c: AggregationConfig): number {
  return s.maxTs - c.allowedLatenessMs;
}

export function isClosed(cw: CellWindow, s: ShardState, c: AggregationConfig): boolean {
  return cw.window + c.windowMs <= watermark(s, c);
}

export interface RollupWrites {
  /** Final blocks of closed windows, one per geohash prefix (insert once). */
  readonly finals: FinalBlock[];
  readonly finalKeys: string[];
  /** Whole-window documents of open windows with changes. */
  readonly open: OpenWindowDoc[];
  /** Dirty keys the open documents cover (re-marked dirty if the write fails). */
  readonly openKeys: string[];
  /** Open-window documents made obsolete by finals. */
  readonly obsoleteOpenIds: string[];
}

/**
 * The segments of cell-windows changed since each cell's previous delta (row i = cws[i]), packed, named
 * through a dictionary of their own. Values are absolute: a reader replaces its values of those segments
 * and keeps the others (a segment never goes away within a cell-window).
 */
export function deltaSegments(dict: SegmentDict, cws: readonly CellWindow[]): PackedSegments {
  const local = new LocalDictionary(dict);
  const perRow: number[] = [];
  const packed: number[] = [];
  for (const cw of cws) {
    let n = 0;
    if (cw.segs) {
      const { ids, vals, stamps } = cw.segs;
      for (let i = 0; i < ids.length; i++) {
        if (stamps[i]! <= cw.segTakenAt) continue;
        packSegment(packed, local.number(ids[i]!), vals, i * SEGMENT_SLOTS);
        n++;
      }
    }
    perRow.push(n);
  }
  return [local.apps, local.campaigns, perRow, packed];
}

const bytesOf = (a: Uint32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Columns of a set of cell-windows. */
function columns(dict: SegmentDict, cws: readonly CellWindow[]): Pick<RollupBlock, 'cells' | 'counts' | 'values' | 'users' | 'segs'> {
  const counts = new Uint32Array(cws.length * NTYPES);
  const values = new Float64Array(cws.length);
  const users = new Uint32Array(cws.length);
  cws.forEach((cw, i) => {
    for (let t = 0; t < NTYPES; t++) counts[i * NTYPES + t] = cw.counts[t]!;
    values[i] = cw.value;
    users[i] = cw.users.estimate();
  });
  const local = new LocalDictionary(dict);
  const perRow = cws.map((cw) => cw.segs?.ids.length ?? 0);
  const packed: number[] = [];
  for (const cw of cws) if (cw.segs) packSegList(cw.segs, local.number, packed);
  return {
    cells: cws.map((cw) => cw.cell).join(','), counts: bytesOf(counts), values: bytesOf(values), users: bytesOf(users),
    segs: encodePackedSegments([local.apps, local.campaigns, perRow, packed]),
  };
}

/**
 * What to write to MongoDB as of the state's offset: every closed window still in memory becomes final
 * blocks (one per geohash prefix); every open window with changes is rewritten whole (unless
 * `includeOpen` is false: its changes then stay marked for a later write).
 */
export function rollupWrites(s: ShardState, c: AggregationConfig, partition: number, epoch: number, includeOpen = true): RollupWrites {
  const finalKeys: string[] = [];
  const closedWindows = new Set<number>();
  const finalGroups = new Map<string, { window: number; prefix: string; cws: CellWindow[] }>();
  const openWindows = new Map<number, CellWindow[]>();
  const dirtyWindows = new Set<number>();
  if (includeOpen) {
    for (const key of s.rollupDirty) {
      const cw = s.cells.get(key);
      if (cw && !isClosed(cw, s, c)) dirtyWindows.add(cw.window);
    }
  }
  for (const [key, cw] of s.cells) {
    if (isClosed(cw, s, c)) {
      finalKeys.push(key);
      closedWindows.add(cw.window);
      const prefix = cw.cell.slice(0, FINAL_PREFIX_PRECISION);
      const gk = `${cw.window}:${prefix}`;
      let g = finalGroups.get(gk);
      if (!g) finalGroups.set(gk, (g = { window: cw.window, prefix, cws: [] }));
      g.cws.push(cw);
    } else if (dirtyWindows.has(cw.window)) {
      let l = openWindows.get(cw.window);
      if (!l) openWindows.set(cw.window, (l = []));
      l.push(cw);
    }
  }
  const finals: FinalBlock[] = [...finalGroups.values()].map((g) => ({
    _id: finalBlockId(c.windowMs, g.window, g.prefix, partition), window: g.window, windowMs: c.windowMs, partition, prefix: g.prefix, ...columns(s.segDict, g.cws),
  }));
  const version = versionOf(epoch, s.nextOffset);
  const open: OpenWindowDoc[] = [...openWindows].map(([window, cws]) => ({
    _id: openWindowId(c.windowMs, window, partition), window, windowMs: c.windowMs, partition, version, ...columns(s.segDict, cws),
  }));
  const openKeys = [...s.rollupDirty].filter((k) => {
    const cw = s.cells.get(k);
    return cw !== undefined && dirtyWindows.has(cw.window);
  });
  return { finals, finalKeys, open, openKeys, obsoleteOpenIds: [...closedWindows].map((w) => openWindowId(c.windowMs, w, partition)) };
}

/** Finals are durable: their closed windows leave memory (no event can reach a closed window again). */
export function finalsWritten(s: ShardState, finalKeys: readonly string[]): number {
  for (const key of finalKeys) {
    const cw = s.cells.get(key);
    if (cw) {
      const keys = s.windows.get(cw.window);
      keys?.delete(key);
      if (keys?.size === 0) s.windows.delete(cw.window);
    }
    s.cells.delete(key);
    s.checkpointDirty.delete(key);
    s.rollupDirty.delete(key);
    s.deltaDirty.delete(key);
  }
  return finalKeys.length;
}

/**
 * The delta of (at most `maxCells`) cells changed since the previous one, or null when nothing changed.
 * Cells beyond `maxCells` stay dirty for the next delta, so one record stays well under Kafka's
 * message size limit however much changed (a catch-up after downtime changes a lot at once).
 */
export function takeDelta(s: ShardState, c: AggregationConfig, partition: number, epoch: number, seq: number, now: number, maxCells = 4096): DeltaRecord | null {
  if (s.deltaDirty.size === 0) return null;
  const n = Math.min(s.deltaDirty.size, maxCells);
  const windows = new Float64Array(n);
  const cells: string[] = [];
  const counts = new Uint32Array(n * NTYPES);
  const values = new Float64Array(n);
  const users = new Uint32Array(n);
  let i = 0;
  const taken: string[] = [];
  const rows: CellWindow[] = [];
  for (const key of s.deltaDirty) {
    if (i >= n) break;
    taken.push(key);
    const cw = s.cells.get(key);
    if (!cw) continue;
    rows.push(cw);
    windows[i] = cw.window;
    cells.push(cw.cell);
    for (let t = 0; t < NTYPES; t++) counts[i * NTYPES + t] = cw.counts[t]!;
    values[i] = cw.value;
    users[i] = cw.users.estimate();
    i++;
  }
  for (const key of taken) s.deltaDirty.delete(key);
  const oldestAt = s.deltaOldestAt === Infinity ? now : s.deltaOldestAt;
  if (s.deltaDirty.size === 0) s.deltaOldestAt = Infinity;
  const segments = deltaSegments(s.segDict, rows);
  // Later changes get a later stamp than this delta's: the next delta of a cell carries only those.
  for (const cw of rows) cw.segTakenAt = s.deltaGen;
  s.deltaGen++;
  return {
    v: 1, partition, epoch, seq, at: now, oldestAt, precision: c.precision, windowMs: c.windowMs,
    windows: windows.subarray(0, i), cells, counts: counts.subarray(0, i * NTYPES), values: values.subarray(0, i), users: users.subarray(0, i),
    segments,
  };
}

/** Invalid records and events to persist, with deterministic ids (partition, offset, index; −1 = the record). */
export function invalidDocs(s: ShardState, partition: number): (Record<string, unknown> & { _id: string })[] {
  return s.pendingInvalid.map((x) => ({ _id: `${partition}:${x.offset}:${x.index}`, partition, offset: x.offset, index: x.index, reason: x.reason, raw: x.raw }));
}

/** Late events to persist, with deterministic ids (partition, offset, index) so replays rewrite the same. */
export function lateDocs(s: ShardState, partition: number): (Record<string, unknown> & { _id: string })[] {
  return s.pendingLate.map((l) => ({ _id: `${partition}:${l.offset}:${l.index}`, partition, offset: l.offset, index: l.index, event: l.event as unknown as Record<string, unknown>, reason: 'behind watermark' }));
}

// ---- checkpoints ---------------------------------------------------------------------------------
//
// A checkpoint is `meta` plus, per live window, a base part `w:<window>` (every cell of the window) and
// change parts `c:<window>:<seq>` (only the cells changed before checkpoint <seq>, with their full current
// values). Restore applies a window's parts in seq order, so a later value of a cell replaces an earlier
// one. Each checkpoint therefore writes the cells changed since the previous one, not whole windows.
//
// Compaction keeps what a checkpoint holds proportional to the live state: when a window's parts hold as
// many superseded cell values as live cells (COMPACT_RATIO), or it would take more than
// MAX_WINDOW_PARTS parts (the manifest rides in the conditional write, so it must stay short), the window
// is rewritten as one base part and its change parts leave the manifest; the store deletes their rows.
// An evicted window's parts all leave the manifest at the next checkpoint.

/** Superseded cell values a window's parts may hold, as a multiple of its live cells, before compaction. */
const COMPACT_RATIO = 1;
/** Parts (base and changes) a window may be held in before compaction. */
export const MAX_WINDOW_PARTS = 16;

/** Checkpoint part `meta`: everything but the cells. */
export interface MetaPart {
  readonly v: 1;
  /** Sequence number of this checkpoint (absent in checkpoints older than change parts: 0). */
  readonly seq?: number;
  readonly maxTs: number | null;
  readonly totals: ShardState['totals'];
  readonly pendingLate: [number, number, AdEvent][];
  /** [offset, index, reason, raw] (absent in checkpoints older than invalid-event keeping). */
  readonly pendingInvalid?: [number, number, string, string][];
}

/**
 * A window part, base or change: cells of one window, [cell, counts, value, users, ids | null, segments?].
 * A cell's segments are packed (actors/model/segment.ts, `packSegment`), numbered into the part's
 * `segApps`/`segCampaigns`. Absent when the cell has none.
 */
export interface WindowPart {
  readonly v: 1;
  readonly window: number;
  /** The checkpoint that wrote it: a window's parts are applied in this order (absent: 0). */
  readonly seq?: number;
  readonly cells: [string, number[], number, Uint32Array | Uint16Array | Uint8Array, Float64Array | null, CheckpointSegments?][];
  readonly segApps?: string[];
  readonly segCampaigns?: string[];
}

export type CheckpointSegments = number[];

/** The parts holding one window's cells. */
export interface WindowLayout {
  /** Part names, in the order they were written. */
  readonly parts: readonly string[];
  /** Cell values those parts hold, superseded ones included. */
  readonly values: number;
}

const NO_PARTS: WindowLayout = { parts: [], values: 0 };

const basePartName = (window: number) => `w:${window}`;
const changePartName = (window: number, seq: number) => `c:${window}:${seq}`;

function encodeCells(s: ShardState, window: number, seq: number, keys: Iterable<string>): Uint8Array {
  const local = new LocalDictionary(s.segDict);
  const cells: WindowPart['cells'] = [];
  for (const key of keys) {
    const cw = s.cells.get(key)!;
    const cell: WindowPart['cells'][number] = [cw.cell, cw.counts, cw.value, cw.users.toSnapshot(), cw.ids ? cw.ids.values() : null];
    if (cw.segs) cell.push(packSegList(cw.segs, local.number));
    cells.push(cell);
  }
  return encode({ v: 1, window, seq, cells, ...(local.apps.length > 0 ? { segApps: local.apps, segCampaigns: local.campaigns } : {}) } satisfies WindowPart);
}

export interface CheckpointCapture {
  /** Every part of the state: bytes when written now, null when unchanged since the last checkpoint. */
  readonly parts: Map<string, Uint8Array | null>;
  /** Cells changed since the last checkpoint: marked changed again if this one fails. */
  readonly changedKeys: string[];
  /** The layout of the state once this checkpoint is committed. */
  readonly layout: Map<number, WindowLayout>;
  readonly bytes: number;
}

/** Keys changed since the last checkpoint, by window. */
function changedByWindow(s: ShardState): Map<number, string[]> {
  const byWindow = new Map<number, string[]>();
  for (const key of s.checkpointDirty) {
    const window = s.cells.get(key)!.window;
    let keys = byWindow.get(window);
    if (!keys) byWindow.set(window, (keys = []));
    keys.push(key);
  }
  return byWindow;
}

/** Whether a window with `live` cells, held in `prev`, is rewritten whole rather than given a change part. */
function compactionDue(prev: WindowLayout, changed: number, live: number): boolean {
  if (prev.parts.length === 0 || changed === live) return true; // new window, or every cell changed: a base costs no more
  const superseded = prev.values + changed - live;
  return superseded >= COMPACT_RATIO * live || prev.parts.length >= MAX_WINDOW_PARTS;
}

/** The part recording a window's changed cells: a change part, or the window's new base when compaction is due. */
function windowWrite(s: ShardState, window: number, seq: number, prev: WindowLayout, changed: readonly string[]): { name: string; bytes: Uint8Array; layout: WindowLayout } {
  const live = s.windows.get(window)!;
  if (compactionDue(prev, changed.length, live.size)) {
    const name = basePartName(window);
    return { name, bytes: encodeCells(s, window, seq, live), layout: { parts: [name], values: live.size } };
  }
  const name = changePartName(window, seq);
  return { name, bytes: encodeCells(s, window, seq, changed), layout: { parts: [...prev.parts, name], values: prev.values + changed.length } };
}

/**
 * The state as checkpoint parts: per window, its cells changed since the last checkpoint (or its new
 * base when compaction is due); the other parts are passed unchanged. Cost follows the cells changed.
 * Pass the result to checkpointCommitted or checkpointFailed once the store has answered.
 */
export function captureCheckpoint(s: ShardState): CheckpointCapture {
  const seq = ++s.checkpointSeq;
  const meta = encode({
    v: 1, seq, maxTs: Number.isFinite(s.maxTs) ? s.maxTs : null, totals: { ...s.totals },
    pendingLate: s.pendingLate.map((l) => [l.offset, l.index, l.event]),
    pendingInvalid: s.pendingInvalid.map((x) => [x.offset, x.index, x.reason, x.raw]),
  } satisfies MetaPart);
  const parts = new Map<string, Uint8Array | null>([['meta', meta]]);
  let bytes = meta.byteLength;
  const layout = new Map<number, WindowLayout>();
  const changed = changedByWindow(s);
  for (const window of s.windows.keys()) {
    let next = s.checkpointLayout.get(window) ?? NO_PARTS;
    const keys = changed.get(window);
    if (keys) {
      const w = windowWrite(s, window, seq, next, keys);
      parts.set(w.name, w.bytes);
      bytes += w.bytes.byteLength;
      next = w.layout;
    }
    for (const name of next.parts) if (!parts.has(name)) parts.set(name, null);
    layout.set(window, next);
  }
  const changedKeys = [...s.checkpointDirty];
  s.checkpointDirty.clear();
  return { parts, changedKeys, layout, bytes };
}

/** The checkpoint is committed: the next one builds on its layout. */
export function checkpointCommitted(s: ShardState, c: CheckpointCapture): void {
  s.checkpointLayout = c.layout;
}

/** The checkpoint failed: its cells count as changed again, and the last committed layout stays. */
export function checkpointFailed(s: ShardState, c: CheckpointCapture): void {
  for (const key of c.changedKeys) if (s.cells.has(key)) s.checkpointDirty.add(key);
}

/** Rebuilds state from checkpoint parts; every cell is marked for re-sending (rollups, deltas). */
export function restoreCheckpoint(nextOffset: number, parts: ReadonlyMap<string, Uint8Array>): ShardState {
  const s = emptyState(nextOffset);
  const metaBytes = parts.get('meta');
  if (metaBytes) {
    const meta = decode<MetaPart>(metaBytes);
    if (meta.v !== 1) throw new Error(`unknown checkpoint meta version ${String(meta.v)}`);
    s.checkpointSeq = meta.seq ?? 0;
    s.maxTs = meta.maxTs ?? -Infinity;
    s.totals = { ...meta.totals };
    s.pendingLate = meta.pendingLate.map(([offset, index, event]) => ({ offset, index, event }));
    s.pendingInvalid = (meta.pendingInvalid ?? []).map(([offset, index, reason, raw]) => ({ offset, index, reason, raw }));
  }
  const windowParts = [...parts].filter(([name]) => name !== 'meta').map(([name, bytes]) => ({ name, part: decode<WindowPart>(bytes) }));
  // A window's base, then its changes in the order they were written: the latest value of a cell wins.
  windowParts.sort((a, b) => (a.part.seq ?? 0) - (b.part.seq ?? 0));
  for (const { name, part } of windowParts) {
    if (part.v !== 1) throw new Error(`unknown checkpoint window version ${String(part.v)}`);
    let keys = s.windows.get(part.window);
    if (!keys) s.windows.set(part.window, (keys = new Set()));
    // The part's segment numbers → the shard's.
    const segIds = (part.segApps ?? []).map((app, j) => s.segDict.id(app, part.segCampaigns![j]!));
    for (const [cell, counts, value, users, ids, segs] of part.cells) {
      if (counts.length !== EVENT_TYPES.length) throw new Error(`checkpoint cell ${cell} has ${counts.length} counts`);
      const key = keyOf(part.window, cell);
      s.cells.set(key, { window: part.window, cell, counts: [...counts], value, users: Hll.fromSnapshot(users), ids: ids ? IdSet.from(ids) : null, segs: segs ? unpackSegList(segs, segIds) : null, segTakenAt: -1 });
      keys.add(key);
      s.rollupDirty.add(key);
      s.deltaDirty.add(key);
    }
    const l = s.checkpointLayout.get(part.window) ?? NO_PARTS;
    s.checkpointLayout.set(part.window, { parts: [...l.parts, name], values: l.values + part.cells.length });
  }
  return s;
}
