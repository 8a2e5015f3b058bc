/**
 * A shard's aggregation state and every pure transition of it: fold a pre-aggregated batch in, close
 * windows behind the watermark, produce rollup documents and delta records, snapshot and restore.
 * No I/O and no clock: the shard's state machine (shard-logic.ts) decides when, this decides what.
 */
import {
  NTYPES, FINAL_BLOCK_ROWS, FINAL_PREFIX_PRECISION, SEGMENT_COMPACT_MIN, SEGMENT_SLOTS, UNTYPED, nextSegmentCompaction, Reach, Sketch, decode, encode, encodeBlockReach, encodeOwned, encodePackedSegments, finalBlockId, openWindowId, reachAt, reachColumn,
  versionOf, type AdEvent, type DeltaRecord, packSegment, type FinalBlock, type OpenWindowDoc, type PackedSegments, type RollupBlock,
} from './model/index.js';
import { emptySegList, LocalDictionary, SegmentDict, packSegList, segSlot, unpackSegList, type SegList } from './segments.js';
import { compressPart, partMsgpack, storedColumns } from './blocks.js';
import { IdSet } from './id-set.js';
import type { AggregationConfig, InvalidRecord, LateEvent } from './fold.js';

export interface CellWindow {
  readonly window: number;
  readonly cell: string;
  readonly counts: number[];
  value: number;
  /** Unique users per event type (actors/model/reach.ts). */
  readonly reach: Reach;
  /**
   * The users that changed `reach` since the cell's previous delta (null: none), and per segment id those
   * that changed the segment's reach: a delta carries these, not the whole sketches, since a reader's
   * union of them is the same sketch (a user that changed nothing adds nothing). A restored cell's are
   * its whole reach, as its first delta re-sends the whole cell.
   */
  fresh: Reach | null;
  freshSegs: Map<number, Reach> | null;
  /** Client ids (53-bit hashes) counted in this cell-window: the de-duplication memory. */
  ids: IdSet | null;
  /**
   * Per segment (actors/model/segment.ts; ids of the shard's {@link ShardState.segDict}) of the events
   * naming an app or a campaign: NTYPES counts, then the value sum. Null until the first such event.
   */
  segs: SegList | null;
  /** The shard's delta count when this cell last went out in a delta (−1: never). */
  segTakenAt: number;
  /** Which of the state's changed lists hold this cell ({@link CHANGED_CHECKPOINT} | …). */
  changed: number;
}

/** Bits of {@link CellWindow.changed}: in `checkpointDirty`, `rollupDirty`, `deltaDirty`. */
export const CHANGED_CHECKPOINT = 1;
export const CHANGED_ROLLUP = 2;
export const CHANGED_DELTA = 4;
const CHANGED_ALL = CHANGED_CHECKPOINT | CHANGED_ROLLUP | CHANGED_DELTA;

/**
 * A shard's aggregation. Cells are found by window, then by geohash (a map of a few windows, then one of
 * the window's cells); which cells changed since the last checkpoint, rollup write and delta is kept in
 * three lists with a bit per list on the cell, so marking a changed cell changed again costs a bit test.
 * (Keys of `window:cell` in one map and three sets of them cost a quarter of the fold: with a few events
 * per cell and window, nearly every event made a new key and five hash-table entries.)
 */
export interface ShardState {
  nextOffset: number;
  /** Max event time seen (−Infinity before any event). */
  maxTs: number;
  /** The cells held, by window then geohash. */
  readonly windows: Map<number, Map<string, CellWindow>>;
  /** Cells held, over all windows. */
  cellCount: number;
  /** Late events not yet written to the late-events collection. */
  pendingLate: LateEvent[];
  /** Invalid records and events not yet written to the invalid-events collection. */
  pendingInvalid: InvalidRecord[];
  /** Events counted (late and duplicate ones excluded), late, duplicate, invalid: since the shard began. */
  totals: { events: number; late: number; duplicates: number; invalid: number };
  /** Cells changed since the last rollup write / the last delta. Not checkpointed: a restore marks all. */
  rollupDirty: CellWindow[];
  deltaDirty: CellWindow[];
  /** Earliest gateway receive time among events folded in since the last delta. */
  deltaOldestAt: number;
  /** Cells changed since the last checkpoint: only these are encoded and written again. */
  checkpointDirty: CellWindow[];
  /** Sequence number of the last checkpoint taken (names its change parts). */
  checkpointSeq: number;
  /** Per window, the parts holding its cells in the last committed checkpoint. */
  checkpointLayout: Map<number, WindowLayout>;
  /** Deltas taken so far: segments are stamped with it when they change. */
  deltaGen: number;
  /** The segments (app, campaign) the cells' `segs` name. Not checkpointed: each part has its own. */
  readonly segDict: SegmentDict;
  /** Dictionary size at which {@link compactSegments} runs next (actors/model `nextSegmentCompaction`). */
  segCompactAt: number;
}

/**
 * Drops the dictionary's pairs that no held cell names and renumbers the rest. The cap bounds a cell's
 * segments, not the pairs over time: a producer naming a new campaign with every event added up to the
 * cap's worth per cell and window, for the shard's life. Ids never leave the shard (checkpoints, deltas and
 * rollups name segments through a dictionary of their own), so renumbering changes no output. Runs when
 * the dictionary doubles (actors/model SEGMENT_COMPACT_MIN): one pass over the cells per as many new pairs
 * as it keeps.
 */
export function compactSegments(s: ShardState): void {
  const cws = new Set<CellWindow>();
  for (const cells of s.windows.values()) for (const cw of cells.values()) cws.add(cw);
  // A window's cells may wait in a changed list after the window itself was evicted.
  for (const list of [s.checkpointDirty, s.rollupDirty, s.deltaDirty]) for (const cw of list) cws.add(cw);
  const used = new Uint8Array(s.segDict.size);
  for (const cw of cws) for (const id of cw.segs?.ids ?? []) used[id] = 1;
  const next = s.segDict.compact(used);
  for (const cw of cws) {
    const ids = cw.segs?.ids;
    if (ids) for (let i = 0; i < ids.length; i++) ids[i] = next[ids[i]!]!;
    if (cw.freshSegs) cw.freshSegs = new Map([...cw.freshSegs].map(([id, r]) => [next[id]!, r]));
  }
  s.segCompactAt = nextSegmentCompaction(s.segDict.size);
}

export function emptyState(nextOffset = 0): ShardState {
  return {
    nextOffset, maxTs: -Infinity, windows: new Map(), cellCount: 0, pendingLate: [], pendingInvalid: [],
    totals: { events: 0, late: 0, duplicates: 0, invalid: 0 },
    rollupDirty: [], deltaDirty: [], deltaOldestAt: Infinity,
    checkpointDirty: [], checkpointSeq: 0, checkpointLayout: new Map(), deltaGen: 0, segDict: new SegmentDict(),
    segCompactAt: SEGMENT_COMPACT_MIN,
  };
}

function newCell(window: number, cell: string): CellWindow {
  return { window, cell, counts: new Array<number>(NTYPES).fill(0), value: 0, reach: new Reach(), fresh: null, freshSegs: null, ids: null, segs: null, segTakenAt: -1, changed: 0 };
}

/** Marks a cell changed for the lists in `bits` it is not in yet. */
export function markChanged(s: ShardState, cw: CellWindow, bits: number): void {
  const add = bits & ~cw.changed;
  if (add === 0) return;
  if (add & CHANGED_CHECKPOINT) s.checkpointDirty.push(cw);
  if (add & CHANGED_ROLLUP) s.rollupDirty.push(cw);
  if (add & CHANGED_DELTA) s.deltaDirty.push(cw);
  cw.changed |= add;
}

/** The cell-window (created empty if new), marked changed for the checkpoint, the rollups and the deltas. */
export function cellWindow(s: ShardState, window: number, cell: string): CellWindow {
  let cells = s.windows.get(window);
  if (!cells) s.windows.set(window, (cells = new Map<string, CellWindow>()));
  let cw = cells.get(cell);
  if (!cw) {
    cw = newCell(window, cell);
    cells.set(cell, cw);
    s.cellCount++;
  }
  if (cw.changed !== CHANGED_ALL) markChanged(s, cw, CHANGED_ALL);
  return cw;
}

/** A held cell-window, if any. */
export function findCell(s: ShardState, window: number, cell: string): CellWindow | undefined {
  return s.windows.get(window)?.get(cell);
}

/** Whether `cw` is still in the state (not evicted with its window, nor replaced by a restore). */
const isHeld = (s: ShardState, cw: CellWindow) => findCell(s, cw.window, cw.cell) === cw;

/** Every held cell by `window:cell` (tests and tools; the state itself keys by window, then cell). */
export function cellsByKey(s: ShardState): Map<string, CellWindow> {
  const out = new Map<string, CellWindow>();
  for (const [window, cells] of s.windows) for (const [cell, cw] of cells) out.set(`${window}:${cell}`, cw);
  return out;
}

/** The offset of segment `id`'s values in the cell's segment list, stamped as changed now. */
export function segmentOfCell(s: ShardState, cw: CellWindow, id: number): number {
  if (!cw.segs) cw.segs = emptySegList();
  return segSlot(cw.segs, id, s.deltaGen);
}

export function watermark(s: ShardState, c: AggregationConfig): number {
  return s.maxTs - c.allowedLatenessMs;
}

/** Windows starting at or before this have ended at or before the watermark: closed. */
function lastClosedWindow(s: ShardState, c: AggregationConfig): number {
  return watermark(s, c) - c.windowMs;
}

/** Whether the state holds a closed window (one whose finals are still to be written). */
export function holdsClosedWindow(s: ShardState, c: AggregationConfig): boolean {
  const closedBefore = lastClosedWindow(s, c);
  for (const w of s.windows.keys()) if (w <= closedBefore) return true;
  return false;
}

export function isClosed(cw: CellWindow, s: ShardState, c: AggregationConfig): boolean {
  return cw.window <= lastClosedWindow(s, c);
}

export interface RollupWrites {
  /** Final blocks of closed windows ({@link finalGroups}; insert once). */
  readonly finals: FinalBlock[];
  /** The closed windows the finals are of: they leave memory once the finals are in. */
  readonly finalWindows: number[];
  /** Whole-window documents of open windows with changes. */
  readonly open: OpenWindowDoc[];
  /** Changed cells the open documents cover (marked changed again if the write fails). */
  readonly openCells: CellWindow[];
  /** Open-window documents made obsolete by finals. */
  readonly obsoleteOpenIds: string[];
}

/** The reach of a delta row or segment with no new users (shared: only ever written out, never added to). */
const NO_USERS = new Reach();

/**
 * The segments of cell-windows changed since each cell's previous delta (row i = cws[i]), packed, named
 * through a dictionary of their own. Values are absolute: a reader replaces its values of those segments
 * and keeps the others (a segment never goes away within a cell-window).
 */
export function deltaSegments(dict: SegmentDict, cws: readonly CellWindow[]): { segments: PackedSegments; reach: Reach[] } {
  const local = new LocalDictionary(dict);
  const perRow: number[] = [];
  const packed: number[] = [];
  const reach: Reach[] = [];
  for (const cw of cws) {
    let n = 0;
    if (cw.segs) {
      const { ids, vals, stamps } = cw.segs;
      for (let i = 0; i < ids.length; i++) {
        if (stamps[i]! <= cw.segTakenAt) continue;
        packSegment(packed, local.number(ids[i]!), vals, i * SEGMENT_SLOTS);
        reach.push(cw.freshSegs?.get(ids[i]!) ?? NO_USERS);
        n++;
      }
    }
    cw.freshSegs = null;
    perRow.push(n);
  }
  return { segments: [local.apps, local.campaigns, perRow, packed], reach };
}

const bytesOf = (a: Uint32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Columns of a set of cell-windows. */
function columns(dict: SegmentDict, cws: readonly CellWindow[]): Pick<RollupBlock, 'cells' | 'counts' | 'values' | 'users' | 'segs' | 'reach' | 'enc'> {
  const counts = new Uint32Array(cws.length * NTYPES);
  const values = new Float64Array(cws.length);
  const users = new Uint32Array(cws.length);
  cws.forEach((cw, i) => {
    for (let t = 0; t < NTYPES; t++) counts[i * NTYPES + t] = cw.counts[t]!;
    values[i] = cw.value;
    users[i] = cw.reach.users();
  });
  const local = new LocalDictionary(dict);
  const perRow = cws.map((cw) => cw.segs?.ids.length ?? 0);
  const packed: number[] = [];
  const segReach: Reach[] = [];
  for (const cw of cws) {
    if (!cw.segs) continue;
    packSegList(cw.segs, local.number, packed);
    for (const r of cw.segs.reach) segReach.push(r);
  }
  const reach = encodeBlockReach({ rows: reachColumn(cws.map((cw) => cw.reach)), segs: reachColumn(segReach) });
  return {
    cells: cws.map((cw) => cw.cell).join(','),
    ...storedColumns({ counts: bytesOf(counts), values: bytesOf(values), users: bytesOf(users), segs: encodePackedSegments([local.apps, local.campaigns, perRow, packed]), reach }),
  };
}

/**
 * A closed window's cells grouped into final blocks, each named by the geohash prefix its cells share:
 * the whole window in one block (prefix "") when it has at most `maxRows` cells, else one group per next
 * character of the geohash, split again while a group has more than `maxRows` cells, down to
 * {@link FINAL_PREFIX_PRECISION} characters. A sparse window is one document instead of one per
 * 3-character prefix (an hour of 333 events/s over the world was 202 793 documents, and reading them back,
 * not merging them, was what a `/v1/summary` of the hour cost); a dense area still gets blocks of its own,
 * so a bbox query reads few. Deterministic in the cells, so every owner names the same blocks.
 */
export function finalGroups(cws: readonly CellWindow[], maxRows = FINAL_BLOCK_ROWS): [string, CellWindow[]][] {
  const out: [string, CellWindow[]][] = [];
  const split = (prefix: string, list: CellWindow[]): void => {
    if (list.length <= maxRows || prefix.length >= FINAL_PREFIX_PRECISION) {
      out.push([prefix, list]);
      return;
    }
    const next = new Map<string, CellWindow[]>();
    for (const cw of list) {
      const p = cw.cell.slice(0, prefix.length + 1);
      let l = next.get(p);
      if (!l) next.set(p, (l = []));
      l.push(cw);
    }
    for (const [p, l] of next) split(p, l);
  };
  split('', [...cws]);
  return out;
}

/**
 * What to write to MongoDB as of the state's offset: every closed window still in memory becomes final
 * blocks ({@link finalGroups}; `maxBlockRows` is for tests); every open window with changes is rewritten
 * whole (unless `includeOpen` is false: its changes then stay marked for a later write). The cells an
 * open write covers are no longer marked changed for rollups: {@link rollupsFailed} marks them again.
 */
export function rollupWrites(s: ShardState, c: AggregationConfig, partition: number, epoch: number, includeOpen = true, maxBlockRows = FINAL_BLOCK_ROWS): RollupWrites {
  return drain(rollupWriteSteps(s, c, partition, epoch, includeOpen, maxBlockRows));
}

/**
 * {@link rollupWrites} in slices: yields the number of cells encoded after each final block and each open
 * window's document, so that a caller can stop there and go on later (the shard does, to bound its
 * steps). The state must not change until the generator returns.
 */
export function* rollupWriteSteps(s: ShardState, c: AggregationConfig, partition: number, epoch: number, includeOpen = true, maxBlockRows = FINAL_BLOCK_ROWS): Generator<number, RollupWrites> {
  const closedBefore = lastClosedWindow(s, c);
  const dirtyWindows = new Set<number>();
  if (includeOpen) for (const cw of s.rollupDirty) if (cw.window > closedBefore) dirtyWindows.add(cw.window);
  const finals: FinalBlock[] = [];
  const finalWindows: number[] = [];
  const open: OpenWindowDoc[] = [];
  const version = versionOf(epoch, s.nextOffset);
  for (const [window, cells] of s.windows) {
    if (window <= closedBefore) {
      finalWindows.push(window);
      for (const [prefix, cws] of finalGroups([...cells.values()], maxBlockRows)) {
        finals.push({ _id: finalBlockId(c.windowMs, window, prefix, partition), window, windowMs: c.windowMs, partition, prefix, ...columns(s.segDict, cws) });
        yield cws.length;
      }
    } else if (dirtyWindows.has(window)) {
      open.push({ _id: openWindowId(c.windowMs, window, partition), window, windowMs: c.windowMs, partition, version, ...columns(s.segDict, [...cells.values()]) });
      yield cells.size;
    }
  }
  const openCells: CellWindow[] = [];
  if (dirtyWindows.size > 0) {
    const keep: CellWindow[] = [];
    for (const cw of s.rollupDirty) {
      if (dirtyWindows.has(cw.window)) {
        openCells.push(cw);
        cw.changed &= ~CHANGED_ROLLUP;
      } else keep.push(cw);
    }
    s.rollupDirty = keep;
  }
  return { finals, finalWindows, open, openCells, obsoleteOpenIds: finalWindows.map((w) => openWindowId(c.windowMs, w, partition)) };
}

/** Runs a sliced computation to its end. */
export function drain<T>(steps: Generator<number, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** The open-window writes of `w` failed: their cells count as changed for rollups again. */
export function rollupsFailed(s: ShardState, w: RollupWrites): void {
  for (const cw of w.openCells) if (isHeld(s, cw)) markChanged(s, cw, CHANGED_ROLLUP);
}

/** Finals are durable: their closed windows leave memory (no event can reach a closed window again). */
export function finalsWritten(s: ShardState, finalWindows: readonly number[]): number {
  let gone = 0;
  for (const window of finalWindows) {
    const cells = s.windows.get(window);
    if (!cells) continue;
    for (const cw of cells.values()) cw.changed = 0;
    gone += cells.size;
    s.cellCount -= cells.size;
    s.windows.delete(window);
  }
  if (gone > 0) {
    // A list holds exactly the cells with its bit set: the cells that left have none now.
    s.checkpointDirty = s.checkpointDirty.filter((cw) => cw.changed & CHANGED_CHECKPOINT);
    s.rollupDirty = s.rollupDirty.filter((cw) => cw.changed & CHANGED_ROLLUP);
    s.deltaDirty = s.deltaDirty.filter((cw) => cw.changed & CHANGED_DELTA);
  }
  return gone;
}

/**
 * The delta of (at most `maxCells`) cells changed since the previous one, or null when nothing changed.
 * Cells beyond `maxCells` stay dirty for the next delta, so one record stays well under Kafka's
 * message size limit however much changed (a catch-up after downtime changes a lot at once).
 */
export function takeDelta(s: ShardState, c: AggregationConfig, partition: number, epoch: number, seq: number, now: number, maxCells = 4096): DeltaRecord | null {
  if (s.deltaDirty.length === 0) return null;
  const rows = s.deltaDirty.length <= maxCells ? s.deltaDirty : s.deltaDirty.slice(0, maxCells);
  s.deltaDirty = rows === s.deltaDirty ? [] : s.deltaDirty.slice(maxCells);
  const n = rows.length;
  const windows = new Float64Array(n);
  const cells: string[] = [];
  const counts = new Uint32Array(n * NTYPES);
  const values = new Float64Array(n);
  const users = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const cw = rows[i]!;
    cw.changed &= ~CHANGED_DELTA;
    windows[i] = cw.window;
    cells.push(cw.cell);
    for (let t = 0; t < NTYPES; t++) counts[i * NTYPES + t] = cw.counts[t]!;
    values[i] = cw.value;
    users[i] = cw.reach.users();
  }
  const oldestAt = s.deltaOldestAt === Infinity ? now : s.deltaOldestAt;
  if (s.deltaDirty.length === 0) s.deltaOldestAt = Infinity;
  const { segments, reach } = deltaSegments(s.segDict, rows);
  const rowReach = reachColumn(rows.map((cw) => cw.fresh ?? NO_USERS));
  // Later changes get a later stamp than this delta's: the next delta of a cell carries only those.
  for (const cw of rows) {
    cw.segTakenAt = s.deltaGen;
    cw.fresh = null;
  }
  s.deltaGen++;
  return {
    v: 1, partition, epoch, seq, at: now, oldestAt, precision: c.precision, windowMs: c.windowMs, windows, cells, counts, values, users, segments,
    reach: { rows: rowReach, segs: reachColumn(reach) },
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
 * A window part as checkpoints before v2 wrote it (still restored): cells of one window, one array per
 * cell [cell, counts, value, users, ids | null, segments?].
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

/**
 * A window part, base or change, in columns (v2): row i is cell `cells.split(',')[i]`, its counts
 * `counts[i * NTYPES ...]`, value `values[i]`; its users sketch is `hll[hllEnds[i - 1] .. hllEnds[i])`
 * of kind `hllKinds[i]` (0 exact hashes as uint32, 1 (register, rank) pairs as uint16, 2 registers);
 * its ids `ids[idEnds[i - 1] .. idEnds[i])` (none: the cell keeps no ids); its packed segments
 * `segs[segEnds[i - 1] .. segEnds[i])`, numbered into `segApps`/`segCampaigns`. A few typed arrays per
 * part, where v1 had an array per cell: msgpack copies their bytes instead of walking every value, which
 * made encoding (on the shard's thread) several times cheaper.
 */
export interface WindowPartV2 {
  readonly v: 2;
  readonly window: number;
  readonly seq: number;
  readonly cells: string;
  readonly counts: Uint32Array;
  readonly values: Float64Array;
  readonly hllKinds: Uint8Array;
  readonly hllEnds: Uint32Array;
  readonly hll: Uint8Array;
  /** 1 where the cell keeps client ids (possibly none yet), 0 where it keeps none. */
  readonly hasIds: Uint8Array;
  readonly idEnds: Uint32Array;
  readonly ids: Float64Array;
  readonly segEnds: Uint32Array;
  readonly segs: Float64Array;
  readonly segApps: string[];
  readonly segCampaigns: string[];
}

/**
 * A window part in columns with reach (v3): as v2, but each cell's unique users are its {@link Reach}
 * (per event type) in `reach` (entry i is cell i), and each packed segment's in `segReach` (entry k is
 * the part's k-th packed segment, in order). v2 parts are still restored: their one sketch per cell
 * becomes the untyped slot of its reach, and their segments have none.
 */
export interface WindowPartV3 {
  readonly v: 3;
  readonly window: number;
  readonly seq: number;
  readonly cells: string;
  readonly counts: Uint32Array;
  readonly values: Float64Array;
  readonly reach: Uint8Array;
  readonly reachEnds: Uint32Array;
  readonly hasIds: Uint8Array;
  readonly idEnds: Uint32Array;
  readonly ids: Float64Array;
  readonly segEnds: Uint32Array;
  readonly segs: Float64Array;
  readonly segReach: Uint8Array;
  readonly segReachEnds: Uint32Array;
  readonly segApps: string[];
  readonly segCampaigns: string[];
}

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

function encodeCells(s: ShardState, window: number, seq: number, cws: readonly CellWindow[]): Uint8Array {
  const n = cws.length;
  const local = new LocalDictionary(s.segDict);
  const counts = new Uint32Array(n * NTYPES);
  const values = new Float64Array(n);
  const hasIds = new Uint8Array(n);
  const idEnds = new Uint32Array(n);
  const segEnds = new Uint32Array(n);
  const segs: number[] = [];
  const segReach: Reach[] = [];
  let nids = 0;
  for (let i = 0; i < n; i++) {
    const cw = cws[i]!;
    for (let t = 0; t < NTYPES; t++) counts[i * NTYPES + t] = cw.counts[t]!;
    values[i] = cw.value;
    if (cw.ids) {
      hasIds[i] = 1;
      nids += cw.ids.size;
    }
    idEnds[i] = nids;
    if (cw.segs) {
      packSegList(cw.segs, local.number, segs);
      for (const r of cw.segs.reach) segReach.push(r);
    }
    segEnds[i] = segs.length;
  }
  const ids = new Float64Array(nids);
  let at = 0;
  for (const cw of cws) {
    if (!cw.ids) continue;
    ids.set(cw.ids.values(), at);
    at += cw.ids.size;
  }
  const reach = reachColumn(cws.map((cw) => cw.reach));
  const sr = reachColumn(segReach);
  return compressPart(encode({
    v: 3, window, seq, cells: cws.map((cw) => cw.cell).join(','), counts, values, reach: reach.bytes, reachEnds: reach.ends, hasIds, idEnds, ids,
    segEnds, segs: Float64Array.from(segs), segReach: sr.bytes, segReachEnds: sr.ends, segApps: local.apps, segCampaigns: local.campaigns,
  } satisfies WindowPartV3));
}

/** Registers of checkpoints before reach: 2^12 (the sketch then was a HyperLogLog of that precision). */
const LEGACY_P = 12;

/** A v1/v2 checkpoint's users snapshot (exact uint32 hashes, uint16 (register, rank) pairs, or registers). */
export function legacySketch(snap: Uint32Array | Uint16Array | Uint8Array | readonly number[]): Sketch {
  if (snap instanceof Uint8Array) return Sketch.ofRegisters(snap.slice(), LEGACY_P);
  if (snap instanceof Uint16Array) {
    if (snap.length % 2 !== 0) throw new RangeError(`HLL snapshot has ${snap.length} halves of (register, rank) pairs`);
    const regs = new Uint8Array(1 << LEGACY_P);
    for (let j = 0; j < snap.length; j += 2) {
      if (snap[j]! >= regs.length) throw new RangeError(`HLL snapshot names register ${snap[j]!}, expected < ${regs.length}`);
      regs[snap[j]!] = snap[j + 1]!;
    }
    return Sketch.ofRegisters(regs, LEGACY_P);
  }
  const out = new Sketch();
  for (const h of snap) out.add(h);
  return out;
}

function legacyReach(snap: Uint32Array | Uint16Array | Uint8Array | readonly number[]): Reach {
  const r = new Reach();
  const sk = legacySketch(snap);
  if (!sk.empty) r.setSlot(UNTYPED, sk);
  return r;
}

/** A restored cell of a part, whatever its version. */
interface RestoredCell {
  readonly cell: string;
  readonly counts: ArrayLike<number>;
  readonly value: number;
  readonly reach: Reach;
  readonly ids: IdSet | null;
  readonly segs: SegList | null;
}

/** The cells of a decoded window part (v1, v2 or v3); `segIds` maps the part's segment numbers to the shard's. */
function partCells(part: WindowPart | WindowPartV2 | WindowPartV3, segIds: readonly number[]): RestoredCell[] {
  if (part.v === 1) {
    return part.cells.map(([cell, counts, value, users, ids, segs]) => {
      if (counts.length !== NTYPES) throw new Error(`checkpoint cell ${cell} has ${counts.length} counts`);
      return { cell, counts, value, reach: legacyReach(users), ids: ids ? IdSet.from(ids) : null, segs: segs ? unpackSegList(segs, segIds) : null };
    });
  }
  const names = part.cells === '' ? [] : part.cells.split(',');
  const n = names.length;
  const reachCols = part.v === 3 ? [[part.reachEnds, n]] as const : [[part.hllKinds, n], [part.hllEnds, n]] as const;
  for (const [col, len] of [[part.counts, n * NTYPES], [part.values, n], ...reachCols, [part.hasIds, n], [part.idEnds, n], [part.segEnds, n]] as const) {
    if (col.length !== len) throw new Error(`checkpoint window ${part.window}: a column of ${col.length} entries for ${n} cells`);
  }
  const reachOf = (i: number): Reach => {
    if (part.v === 3) return reachAt({ bytes: part.reach, ends: part.reachEnds }, i);
    // slice(): a copy with its own (aligned) buffer, viewed as the sketch's snapshot type.
    const bytes = part.hll.slice(i === 0 ? 0 : part.hllEnds[i - 1], part.hllEnds[i]);
    const kind = part.hllKinds[i];
    return legacyReach(kind === 0 ? new Uint32Array(bytes.buffer) : kind === 1 ? new Uint16Array(bytes.buffer) : bytes);
  };
  const segReach = part.v === 3 ? { bytes: part.segReach, ends: part.segReachEnds } : null;
  let segK = 0;
  const out: RestoredCell[] = [];
  for (let i = 0; i < n; i++) {
    const id0 = i === 0 ? 0 : part.idEnds[i - 1]!;
    const seg0 = i === 0 ? 0 : part.segEnds[i - 1]!;
    let segs: SegList | null = null;
    if (part.segEnds[i]! > seg0) {
      segs = unpackSegList(part.segs.subarray(seg0, part.segEnds[i]), segIds, segReach ? (k) => reachAt(segReach, segK + k) : undefined);
      segK += segs.ids.length;
    }
    out.push({
      cell: names[i]!, counts: part.counts.subarray(i * NTYPES, (i + 1) * NTYPES), value: part.values[i]!, reach: reachOf(i),
      ids: part.hasIds[i] ? IdSet.from(part.ids.subarray(id0, part.idEnds[i])) : null, segs,
    });
  }
  if (segReach && segK !== segReach.ends.length) throw new Error(`checkpoint window ${part.window}: ${segReach.ends.length} segment reaches for ${segK} segments`);
  return out;
}

export interface CheckpointCapture {
  /** Every part of the state: bytes when written now, null when unchanged since the last checkpoint. */
  readonly parts: Map<string, Uint8Array | null>;
  /** Cells changed since the last checkpoint: marked changed again if this one fails. */
  readonly changedCells: CellWindow[];
  /** The layout of the state once this checkpoint is committed. */
  readonly layout: Map<number, WindowLayout>;
  readonly bytes: number;
}

/** Cells changed since the last checkpoint, by window. */
function changedByWindow(s: ShardState): Map<number, CellWindow[]> {
  const byWindow = new Map<number, CellWindow[]>();
  for (const cw of s.checkpointDirty) {
    let l = byWindow.get(cw.window);
    if (!l) byWindow.set(cw.window, (l = []));
    l.push(cw);
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
function windowWrite(s: ShardState, window: number, seq: number, prev: WindowLayout, changed: readonly CellWindow[]): { name: string; bytes: Uint8Array; layout: WindowLayout; cells: number } {
  const live = s.windows.get(window)!;
  if (compactionDue(prev, changed.length, live.size)) {
    const name = basePartName(window);
    return { name, bytes: encodeCells(s, window, seq, [...live.values()]), layout: { parts: [name], values: live.size }, cells: live.size };
  }
  const name = changePartName(window, seq);
  return { name, bytes: encodeCells(s, window, seq, changed), layout: { parts: [...prev.parts, name], values: prev.values + changed.length }, cells: changed.length };
}

/**
 * The state as checkpoint parts: per window, its cells changed since the last checkpoint (or its new
 * base when compaction is due); the other parts are passed unchanged. Cost follows the cells changed.
 * Pass the result to checkpointCommitted or checkpointFailed once the store has answered.
 */
export function captureCheckpoint(s: ShardState): CheckpointCapture {
  return drain(captureSteps(s));
}

/**
 * {@link captureCheckpoint} in slices: yields the number of cells encoded after each window's part, so
 * that a caller can stop between windows and go on later. The state must not change until the
 * generator returns (the shard folds nothing meanwhile).
 */
export function* captureSteps(s: ShardState): Generator<number, CheckpointCapture> {
  const seq = ++s.checkpointSeq;
  const meta = encodeOwned({
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
      yield w.cells;
    }
    for (const name of next.parts) if (!parts.has(name)) parts.set(name, null);
    layout.set(window, next);
  }
  const changedCells = s.checkpointDirty;
  for (const cw of changedCells) cw.changed &= ~CHANGED_CHECKPOINT;
  s.checkpointDirty = [];
  return { parts, changedCells, layout, bytes };
}

/** The checkpoint is committed: the next one builds on its layout. */
export function checkpointCommitted(s: ShardState, c: CheckpointCapture): void {
  s.checkpointLayout = c.layout;
}

/** The checkpoint failed: its cells count as changed again, and the last committed layout stays. */
export function checkpointFailed(s: ShardState, c: CheckpointCapture): void {
  for (const cw of c.changedCells) if (isHeld(s, cw)) markChanged(s, cw, CHANGED_CHECKPOINT);
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
  const windowParts = [...parts].filter(([name]) => name !== 'meta').map(([name, bytes]) => ({ name, part: decode<WindowPart | WindowPartV2 | WindowPartV3>(partMsgpack(bytes)) }));
  // A window's base, then its changes in the order they were written: the latest value of a cell wins.
  windowParts.sort((a, b) => (a.part.seq ?? 0) - (b.part.seq ?? 0));
  for (const { name, part } of windowParts) {
    if (part.v !== 1 && part.v !== 2 && part.v !== 3) throw new Error(`unknown checkpoint window version ${String((part as { v: unknown }).v)}`);
    let held = s.windows.get(part.window);
    if (!held) s.windows.set(part.window, (held = new Map<string, CellWindow>()));
    // The part's segment numbers → the shard's.
    const segIds = (part.segApps ?? []).map((app, j) => s.segDict.id(app, part.segCampaigns![j]!));
    const cells = partCells(part, segIds);
    for (const c of cells) {
      // Its first delta re-sends the whole cell, users included (the same objects: a delta copies them).
      const freshSegs = c.segs ? new Map(c.segs.ids.map((id, k) => [id, c.segs!.reach[k]!] as const)) : null;
      // A plain array the fold increments (`Array.from` of the typed column was a fifth of the restore).
      const counts = new Array<number>(NTYPES);
      for (let t = 0; t < NTYPES; t++) counts[t] = c.counts[t]!;
      held.set(c.cell, { window: part.window, cell: c.cell, counts, value: c.value, reach: c.reach, fresh: c.reach, freshSegs, ids: c.ids, segs: c.segs, segTakenAt: -1, changed: 0 });
    }
    const l = s.checkpointLayout.get(part.window) ?? NO_PARTS;
    s.checkpointLayout.set(part.window, { parts: [...l.parts, name], values: l.values + cells.length });
  }
  // Every restored cell is sent again: rollups and deltas (its checkpoint holds it already).
  for (const held of s.windows.values()) {
    s.cellCount += held.size;
    for (const cw of held.values()) markChanged(s, cw, CHANGED_ROLLUP | CHANGED_DELTA);
  }
  return s;
}
