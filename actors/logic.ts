/**
 * A shard's aggregation state and every pure transition of it: fold a pre-aggregated batch in, close
 * windows behind the watermark, produce rollup documents and delta records, snapshot and restore.
 * No I/O and no clock: the actor (shard-actor.ts) decides when, this decides what.
 */
import { EVENT_TYPES, FINAL_PREFIX_PRECISION, decode, encode, finalBlockId, openWindowId, versionOf, type AdEvent, type DeltaRecord, type FinalBlock, type OpenWindowDoc, type RollupBlock } from './model/index.js';
import { Hll } from './hll.js';
import { IdSet } from './id-set.js';
import { NTYPES, type AggregationConfig, type LateEvent, type PartialBatch } from './preaggregate.js';

export interface CellWindow {
  readonly window: number;
  readonly cell: string;
  readonly counts: number[];
  value: number;
  readonly users: Hll;
  /** Client ids (53-bit hashes) counted in this cell-window: the de-duplication memory. */
  ids: IdSet | null;
}

export interface ShardState {
  nextOffset: number;
  /** Max event time seen (−Infinity before any event). */
  maxTs: number;
  readonly cells: Map<string, CellWindow>;
  /** Late events not yet written to the late-events collection. */
  pendingLate: LateEvent[];
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
  /** Windows changed since the last checkpoint: only these are encoded and written again. */
  readonly checkpointDirty: Set<number>;
}

export function emptyState(nextOffset = 0): ShardState {
  return {
    nextOffset, maxTs: -Infinity, cells: new Map(), pendingLate: [],
    totals: { events: 0, late: 0, duplicates: 0, invalid: 0 },
    rollupDirty: new Set(), deltaDirty: new Set(), deltaOldestAt: Infinity, windows: new Map(), checkpointDirty: new Set(),
  };
}

const keyOf = (window: number, cell: string) => `${window}:${cell}`;

function cellWindow(s: ShardState, window: number, cell: string): CellWindow {
  const key = keyOf(window, cell);
  let cw = s.cells.get(key);
  if (!cw) {
    cw = { window, cell, counts: new Array<number>(NTYPES).fill(0), value: 0, users: new Hll(), ids: null };
    s.cells.set(key, cw);
    let keys = s.windows.get(window);
    if (!keys) s.windows.set(window, (keys = new Set()));
    keys.add(key);
  }
  s.checkpointDirty.add(window);
  s.rollupDirty.add(key);
  s.deltaDirty.add(key);
  return cw;
}

/** Folds a batch in (the batch must start at `s.nextOffset`, which the actor ensures). */
export function applyBatch(s: ShardState, b: PartialBatch): void {
  const r = b.rows;
  for (let i = 0; i < r.n; i++) {
    const cw = cellWindow(s, r.windows[i]!, r.cells[i]!);
    const base = i * NTYPES;
    for (let t = 0; t < NTYPES; t++) cw.counts[t]! += r.counts[base + t]!;
    cw.value += r.values[i]!;
    for (let u = r.userStarts[i]!; u < r.userStarts[i + 1]!; u++) cw.users.add(r.users[u]!);
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
  }
  if (b.late.length > 0) s.pendingLate.push(...b.late);
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

/** Columns of a set of cell-windows. */
function columns(cws: readonly CellWindow[]): Pick<RollupBlock, 'cells' | 'counts' | 'values' | 'users'> {
  const counts = new Uint32Array(cws.length * NTYPES);
  const values = new Float64Array(cws.length);
  const users = new Uint32Array(cws.length);
  cws.forEach((cw, i) => {
    for (let t = 0; t < NTYPES; t++) counts[i * NTYPES + t] = cw.counts[t]!;
    values[i] = cw.value;
    users[i] = cw.users.estimate();
  });
  return { cells: cws.map((cw) => cw.cell).join(','), counts: new Uint8Array(counts.buffer), values: new Uint8Array(values.buffer), users: new Uint8Array(users.buffer) };
}

/**
 * What to write to MongoDB as of the state's offset: every closed window still in memory becomes final
 * blocks (one per geohash prefix); every open window with changes is rewritten whole.
 */
export function rollupWrites(s: ShardState, c: AggregationConfig, partition: number, epoch: number): RollupWrites {
  const finalKeys: string[] = [];
  const closedWindows = new Set<number>();
  const finalGroups = new Map<string, { window: number; prefix: string; cws: CellWindow[] }>();
  const openWindows = new Map<number, CellWindow[]>();
  const dirtyWindows = new Set<number>();
  for (const key of s.rollupDirty) {
    const cw = s.cells.get(key);
    if (cw && !isClosed(cw, s, c)) dirtyWindows.add(cw.window);
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
    _id: finalBlockId(c.windowMs, g.window, g.prefix, partition), window: g.window, windowMs: c.windowMs, partition, prefix: g.prefix, ...columns(g.cws),
  }));
  const version = versionOf(epoch, s.nextOffset);
  const open: OpenWindowDoc[] = [...openWindows].map(([window, cws]) => ({
    _id: openWindowId(c.windowMs, window, partition), window, windowMs: c.windowMs, partition, version, ...columns(cws),
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
      if (keys?.size === 0) {
        s.windows.delete(cw.window);
        s.checkpointDirty.delete(cw.window);
      }
    }
    s.cells.delete(key);
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
  for (const key of s.deltaDirty) {
    if (i >= n) break;
    taken.push(key);
    const cw = s.cells.get(key);
    if (!cw) continue;
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
  return {
    v: 1, partition, epoch, seq, at: now, oldestAt, precision: c.precision, windowMs: c.windowMs,
    windows: windows.subarray(0, i), cells, counts: counts.subarray(0, i * NTYPES), values: values.subarray(0, i), users: users.subarray(0, i),
  };
}

/** Late events to persist, with deterministic ids (partition, offset, index) so replays rewrite the same. */
export function lateDocs(s: ShardState, partition: number): (Record<string, unknown> & { _id: string })[] {
  return s.pendingLate.map((l) => ({ _id: `${partition}:${l.offset}:${l.index}`, partition, offset: l.offset, index: l.index, event: l.event as unknown as Record<string, unknown>, reason: 'behind watermark' }));
}

// ---- checkpoints ---------------------------------------------------------------------------------

/** Checkpoint part `meta`: everything but the cells. */
export interface MetaPart {
  readonly v: 1;
  readonly maxTs: number | null;
  readonly totals: ShardState['totals'];
  readonly pendingLate: [number, number, AdEvent][];
}

/** Checkpoint part `w:<window>`: the cells of one window, [cell, counts, value, users, ids | null]. */
export interface WindowPart {
  readonly v: 1;
  readonly window: number;
  readonly cells: [string, number[], number, Uint32Array | Uint8Array, Float64Array | null][];
}

export const windowPartName = (window: number) => `w:${window}`;

export function encodeWindow(s: ShardState, window: number): Uint8Array {
  const cells: WindowPart['cells'] = [];
  for (const key of s.windows.get(window) ?? []) {
    const cw = s.cells.get(key)!;
    cells.push([cw.cell, cw.counts, cw.value, cw.users.toSnapshot(), cw.ids ? cw.ids.values() : null]);
  }
  return encode({ v: 1, window, cells } satisfies WindowPart);
}

export interface CheckpointCapture {
  /** Every part of the state: bytes when changed, null when unchanged since the last checkpoint. */
  readonly parts: Map<string, Uint8Array | null>;
  /** Windows encoded this time: marked dirty again if the checkpoint fails. */
  readonly encodedWindows: number[];
  readonly bytes: number;
}

/**
 * The state as checkpoint parts, encoding only the windows changed since the last checkpoint: the
 * cost follows the rate of change, not the size of the live state.
 */
export function captureCheckpoint(s: ShardState): CheckpointCapture {
  const parts = new Map<string, Uint8Array | null>();
  const meta = encode({
    v: 1, maxTs: Number.isFinite(s.maxTs) ? s.maxTs : null, totals: { ...s.totals },
    pendingLate: s.pendingLate.map((l) => [l.offset, l.index, l.event]),
  } satisfies MetaPart);
  parts.set('meta', meta);
  let bytes = meta.byteLength;
  const encodedWindows: number[] = [];
  for (const window of s.windows.keys()) {
    if (s.checkpointDirty.has(window)) {
      const b = encodeWindow(s, window);
      parts.set(windowPartName(window), b);
      bytes += b.byteLength;
      encodedWindows.push(window);
    } else {
      parts.set(windowPartName(window), null);
    }
  }
  for (const w of encodedWindows) s.checkpointDirty.delete(w);
  return { parts, encodedWindows, bytes };
}

/** Rebuilds state from checkpoint parts; every cell is marked for re-sending (rollups, deltas). */
export function restoreCheckpoint(nextOffset: number, parts: ReadonlyMap<string, Uint8Array>): ShardState {
  const s = emptyState(nextOffset);
  const metaBytes = parts.get('meta');
  if (metaBytes) {
    const meta = decode<MetaPart>(metaBytes);
    if (meta.v !== 1) throw new Error(`unknown checkpoint meta version ${String(meta.v)}`);
    s.maxTs = meta.maxTs ?? -Infinity;
    s.totals = { ...meta.totals };
    s.pendingLate = meta.pendingLate.map(([offset, index, event]) => ({ offset, index, event }));
  }
  for (const [name, bytes] of parts) {
    if (name === 'meta') continue;
    const wp = decode<WindowPart>(bytes);
    if (wp.v !== 1) throw new Error(`unknown checkpoint window version ${String(wp.v)}`);
    const keys = new Set<string>();
    for (const [cell, counts, value, users, ids] of wp.cells) {
      if (counts.length !== EVENT_TYPES.length) throw new Error(`checkpoint cell ${cell} has ${counts.length} counts`);
      const key = keyOf(wp.window, cell);
      s.cells.set(key, { window: wp.window, cell, counts: [...counts], value, users: Hll.fromSnapshot(users), ids: ids ? IdSet.from(ids) : null });
      keys.add(key);
      s.rollupDirty.add(key);
      s.deltaDirty.add(key);
    }
    s.windows.set(wp.window, keys);
  }
  return s;
}
