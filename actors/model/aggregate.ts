/**
 * Shapes of the aggregation that leave the actors: delta records on `adme.deltas.v1` and rollup
 * documents in MongoDB. Both carry absolute values (never increments), so re-applying is harmless.
 */
import { EVENT_TYPES, NTYPES, type EventType } from './event.js';
import { decode, encode } from './codec.js';
import { SEGMENT_SLOTS, unpackSegment, type SegmentColumns } from './segment.js';
import type { ReachColumn } from './reach.js';

/** Base geohash precision of the aggregation (≈1.2 km × 0.6 km cells); coarser ones are prefixes. */
export const BASE_PRECISION = 6;

/**
 * One delta: the cells whose values changed since the previous delta of the same partition owner.
 * Columnar typed arrays, row i = (windows[i], cells[i]); counts has NTYPES columns.
 * `seq` counts up by one per (partition, epoch): a reader that sees a gap, or a new epoch, resyncs.
 */
export interface DeltaRecord {
  readonly v: 1;
  readonly partition: number;
  readonly epoch: number;
  readonly seq: number;
  /** Emit time, epoch ms. */
  readonly at: number;
  /** Earliest gateway receive time among the events folded in since the previous delta (latency). */
  readonly oldestAt: number;
  readonly precision: number;
  readonly windowMs: number;
  readonly windows: Float64Array;
  readonly cells: readonly string[];
  /** rows × NTYPES, row-major. */
  readonly counts: Uint32Array;
  readonly values: Float64Array;
  readonly users: Uint32Array;
  /**
   * Per-segment values of the rows, those changed since the cell's previous delta (absolute values), in
   * the packed form of {@link PackedSegments}. Absent from actors older than segments.
   */
  readonly segments?: PackedSegments;
  /**
   * Unique users of the rows (entry i: row i) and of the delta's packed segments (entry k: the k-th, in
   * order): the users that changed the cell's (the segment's) sketch since its previous delta, not the
   * whole sketch, so a reader keeps the union of what it received (a user that changed nothing adds
   * nothing to a union, so the union is the whole sketch). A cell's first delta after the shard was
   * restored carries its whole reach. Absent from actors older than reach.
   */
  readonly reach?: BlockReach;
}

export type TypeCounts = Record<EventType, number>;

/** One aggregated row: a cell in a window, as queries and tests see it. */
export interface RollupRow extends TypeCounts {
  readonly cell: string;
  readonly window: number;
  readonly windowMs: number;
  readonly partition: number;
  readonly total: number;
  readonly value: number;
  /** Unique users (HyperLogLog estimate; exact up to 256 users). */
  readonly users: number;
}

/**
 * Rollups are stored as blocks: many cells of one window and one partition in one document, in columns
 * (cells joined by commas; counts, values and users as little-endian binary), so the store parses one
 * value per column instead of one document per cell. FerretDB on SQLite inserts ~10k documents/s and
 * updates one in 5-16 ms: a document per cell could not keep up (docs/ARCHITECTURE.md).
 */
export interface RollupBlock {
  readonly _id: string;
  readonly window: number;
  readonly windowMs: number;
  readonly partition: number;
  /** Comma-separated geohashes; row i of the columns below. */
  readonly cells: string;
  /** rows × NTYPES uint32. */
  readonly counts: Uint8Array;
  /** rows × float64. */
  readonly values: Uint8Array;
  /** rows × uint32. */
  readonly users: Uint8Array;
  /** Per-segment values of the rows: {@link encodePackedSegments} (absent in blocks written before segments). */
  readonly segs?: Uint8Array;
  /**
   * Unique users of the rows and of their segments, as mergeable sketches: {@link encodeBlockReach}
   * (absent in blocks written before reach: only `users`, a per-row estimate that cannot be merged).
   */
  readonly reach?: Uint8Array;
  /**
   * `deflate-raw`: `counts`, `values`, `users`, `segs` and `reach` are raw-deflated (absent in blocks
   * written before: plain). {@link plainBlock} inflates them for {@link blockRows}.
   */
  readonly enc?: 'deflate-raw';
}

/**
 * A block's reach: entry i of `rows` is row i's; entry k of `segs` is the k-th packed segment's, in the
 * order {@link forEachSegment} visits them.
 */
export interface BlockReach {
  readonly rows: ReachColumn;
  readonly segs: ReachColumn;
}

export function encodeBlockReach(r: BlockReach): Uint8Array {
  return encode([r.rows.bytes, r.rows.ends, r.segs.bytes, r.segs.ends]);
}

/** The reach of a block, if it has any (only that column is inflated). */
export function blockReach(d: Pick<RollupBlock, 'reach' | 'enc'>, inflateRaw: (b: Uint8Array) => Uint8Array): BlockReach | undefined {
  if (!d.reach) return undefined;
  const [rb, re, sb, se] = decode<[Uint8Array, Uint32Array, Uint8Array, Uint32Array]>(d.enc === 'deflate-raw' ? new Uint8Array(inflateRaw(d.reach)) : d.reach);
  if (!(rb instanceof Uint8Array) || !(re instanceof Uint32Array) || !(sb instanceof Uint8Array) || !(se instanceof Uint32Array)) throw new Error('a rollup block reach column that is not [bytes, ends, bytes, ends]');
  return { rows: { bytes: rb, ends: re }, segs: { bytes: sb, ends: se } };
}

type Columns = Pick<RollupBlock, 'counts' | 'values' | 'users' | 'segs' | 'reach' | 'enc'>;

/**
 * A block with its columns plain, for {@link blockRows}; a block stored plain is returned as it is.
 * `inflateRaw` is the platform's raw inflate (Node: zlib's `inflateRawSync`): the model stays pure.
 */
export function plainBlock<T extends Columns>(d: T, inflateRaw: (b: Uint8Array) => Uint8Array): Omit<T, 'enc'> {
  if (d.enc === undefined) return d;
  if (d.enc !== 'deflate-raw') throw new Error(`unknown rollup block encoding ${String(d.enc)}`);
  const inflate = (b: Uint8Array) => new Uint8Array(inflateRaw(b));
  const out: Record<string, unknown> = { ...d, counts: inflate(d.counts), values: inflate(d.values), users: inflate(d.users) };
  if (d.segs) out.segs = inflate(d.segs);
  if (d.reach) out.reach = inflate(d.reach);
  delete out.enc;
  return out as Omit<T, 'enc'>;
}

/** The packed segments of a block, if it has any (only that column is inflated). */
export function blockSegments(d: Pick<RollupBlock, 'segs' | 'enc'>, inflateRaw: (b: Uint8Array) => Uint8Array): PackedSegments | undefined {
  if (!d.segs) return undefined;
  return decode<PackedSegments>(d.enc === 'deflate-raw' ? new Uint8Array(inflateRaw(d.segs)) : d.segs);
}

/**
 * The (window, partition) a block is of. A window with final blocks is closed for that partition: an
 * open block of it is obsolete and readers skip it (a zombie's late write may have put one back).
 */
export function blockWindowKey(d: Pick<RollupBlock, 'window' | 'partition'>): string {
  return `${d.window}:${d.partition}`;
}

/**
 * Segments of a record's rows, packed: `[apps, campaigns, perRow, packed]`. The record's segments are
 * numbered through its own dictionary (apps[j], campaigns[j]; '' = none); `perRow[i]` segments of row i
 * follow each other in `packed` ({@link packSegment}: number, mask, non-zero values). Mostly small
 * integers, so a segment takes a few bytes of msgpack, not the 40 of typed columns.
 */
export type PackedSegments = readonly [apps: readonly string[], campaigns: readonly string[], perRow: readonly number[], packed: readonly number[]];

/** Rollup blocks store their {@link PackedSegments} msgpack-encoded, as one binary field. */
export function encodePackedSegments(p: PackedSegments): Uint8Array {
  return encode(p);
}

/** Calls `fn(row, number, values)` for each packed segment, in order (`values` is reused between calls). */
export function forEachSegment([, , perRow, packed]: PackedSegments, fn: (row: number, id: number, values: Float64Array) => void): void {
  const vals = new Float64Array(SEGMENT_SLOTS);
  let at = 0;
  perRow.forEach((count, row) => {
    for (let j = 0; j < count; j++) {
      const r = unpackSegment(packed, at, vals, 0);
      at = r.next;
      fn(row, r.id, vals);
    }
  });
}

/** Packed segments as typed columns. */
export function unpackSegments(p: PackedSegments): SegmentColumns {
  const n = p[2].reduce((a, b) => a + b, 0);
  const segRows = new Uint32Array(n);
  const segIds = new Uint32Array(n);
  const segCounts = new Uint32Array(n * (SEGMENT_SLOTS - 1));
  const segValues = new Float64Array(n);
  let k = 0;
  forEachSegment(p, (row, id, vals) => {
    segRows[k] = row;
    segIds[k] = id;
    segCounts.set(vals.subarray(0, SEGMENT_SLOTS - 1), k * (SEGMENT_SLOTS - 1));
    segValues[k++] = vals[SEGMENT_SLOTS - 1]!;
  });
  return { segApps: [...p[0]], segCampaigns: [...p[1]], segRows, segIds, segCounts, segValues };
}

/**
 * A closed window's final block for the cells under one geohash prefix (of 0 to
 * {@link FINAL_PREFIX_PRECISION} characters: a sparse window is one block, a dense one is split by
 * prefix until a block holds at most {@link FINAL_BLOCK_ROWS} cells or its prefix has 3 characters; the
 * prefixes of one window's blocks never overlap): written once, with a deterministic `_id`. Every owner computes the same final values from the same log,
 * so a replay's or a zombie's insert hits the `_id` index and changes nothing. Indexed by (window, prefix)
 * for "cells under a prefix, over a time range" queries.
 */
export interface FinalBlock extends RollupBlock {
  readonly prefix: string;
}

/**
 * The open (still changing) window of one partition, rewritten whole every rollup interval, guarded by
 * `version` (epoch, offset): an older owner's or a replay's write never replaces a newer one.
 */
export interface OpenWindowDoc extends RollupBlock {
  readonly version: string;
}

/** The longest geohash prefix of a final block (≈ 156 km × 156 km): a block of one is not split further. */
export const FINAL_PREFIX_PRECISION = 3;

/**
 * Cells of a final block up to which it is not split by prefix. A layout constant, not a setting: owners
 * of one partition must name the same blocks (a zombie's insert of a differently split window would add
 * rows instead of hitting the `_id` index). About 200 KB of columns before compression.
 */
export const FINAL_BLOCK_ROWS = 4096;

export const ROLLUPS_COLLECTION = 'rollups';
export const OPEN_ROLLUPS_COLLECTION = 'rollups_open';
export const LATE_EVENTS_COLLECTION = 'late_events';
/** Records and events that failed decoding or validation in a shard, with the reason (docs/events.md). */
export const INVALID_EVENTS_COLLECTION = 'invalid_events';

export function finalBlockId(windowMs: number, window: number, prefix: string, partition: number): string {
  return `${windowMs}:${window}:${prefix}:${partition}`;
}

export function openWindowId(windowMs: number, window: number, partition: number): string {
  return `${windowMs}:${window}:${partition}`;
}

/** Orders (epoch, offset) as a string so a store can compare versions with `$lte`. */
export function versionOf(epoch: number, nextOffset: number): string {
  return `${String(epoch).padStart(12, '0')}:${String(nextOffset).padStart(16, '0')}`;
}

export function typeCounts(counts: ArrayLike<number>): TypeCounts {
  const out = {} as Record<EventType, number>;
  EVENT_TYPES.forEach((t, i) => {
    out[t] = counts[i] ?? 0;
  });
  return out;
}

/** A plain block's columns as typed arrays (row i: `cells[i]`, counts `i * NTYPES` on). */
export function blockColumns(d: Pick<RollupBlock, 'cells' | 'counts' | 'values' | 'users' | 'enc'>): { cells: string[]; counts: Uint32Array; values: Float64Array; users: Uint32Array } {
  if (d.enc !== undefined) throw new Error(`a ${d.enc} rollup block: inflate it first (plainBlock)`);
  // Copy: a driver's bytes may be a view into a larger (unaligned) buffer.
  const copy = (b: Uint8Array) => Uint8Array.from(b).buffer;
  return { cells: d.cells === '' ? [] : d.cells.split(','), counts: new Uint32Array(copy(d.counts)), values: new Float64Array(copy(d.values)), users: new Uint32Array(copy(d.users)) };
}

/** The rows of a rollup block (final or open). */
export function blockRows(d: Pick<RollupBlock, 'window' | 'windowMs' | 'partition' | 'cells' | 'counts' | 'values' | 'users' | 'enc'>): RollupRow[] {
  const { cells, counts, values, users } = blockColumns(d);
  const n = NTYPES;
  return cells.map((cell, i) => {
    const c = counts.subarray(i * n, (i + 1) * n);
    return { cell, window: d.window, windowMs: d.windowMs, partition: d.partition, ...typeCounts(c), total: c.reduce((a, b) => a + b, 0), value: values[i]!, users: users[i]! };
  });
}
