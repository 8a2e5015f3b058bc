/**
 * Reading the actors' rollups back from MongoDB (actors/model/aggregate.ts): final blocks of closed
 * windows (`rollups`, per window × partition, split by geohash prefix where dense) and the open window of each
 * partition (`rollups_open`). For a (window, partition) that has final blocks the open document is
 * obsolete (the actor inserts every final block before it deletes the open one), so it is skipped.
 */
import { Binary, type Db } from 'mongodb';
import {
  NTYPES, FINAL_PREFIX_PRECISION, OPEN_ROLLUPS_COLLECTION, ROLLUPS_COLLECTION, SEGMENT_SLOTS, blockColumns, blockReach, blockSegments, blockWindowKey, plainBlock, geohashEncode, inBbox, skipSegment, unpackSegment,
  geohashCenter, reachAt, segmentKeys, type Bbox, type BlockReach, type FinalBlock, type OpenWindowDoc, type PackedSegments, type Reach,
} from '../../actors/model/index.js';
import { inflateRawSync } from 'node:zlib';


/** One stored (window, partition, base cell): NTYPES counts then the value sum in `sum`. */
export interface StoredRow {
  readonly window: number;
  readonly partition: number;
  readonly cell: string;
  readonly sum: ArrayLike<number>;
  /** Per segment key (actors/model/segment.ts), NTYPES counts then the value sum; null: none. */
  readonly segs?: ReadonlyMap<string, Float64Array> | null;
  /** Unique users per event type (absent: written before reach; then `users` may say how many in all). */
  readonly reach?: Reach | undefined;
  /** Per segment key, its unique users (absent: not known; a segment missing from it: none known). */
  readonly segReach?: ReadonlyMap<string, Reach> | null;
  /** A block's per-row users estimate, for rows without `reach` (it cannot be merged: docs/api.md). */
  readonly users?: number;
}

/**
 * A block's packed segments (absent in blocks written before segments), read per row on demand: where
 * each row's first segment starts, found in one pass that skips over the values. An answer that counts
 * every event never asks, and building a map of each row's segments was most of decoding a block.
 */
class BlockSegments {
  private readonly starts: Int32Array;
  private readonly firsts: Int32Array;
  private readonly keys: string[];

  constructor(private readonly p: PackedSegments, private readonly reach: BlockReach | undefined) {
    const [apps, campaigns, perRow, packed] = p;
    this.keys = segmentKeys({ segApps: apps, segCampaigns: campaigns });
    this.starts = new Int32Array(perRow.length);
    this.firsts = new Int32Array(perRow.length);
    let at = 0;
    let k = 0;
    for (let row = 0; row < perRow.length; row++) {
      this.starts[row] = at;
      this.firsts[row] = k;
      for (let j = 0; j < perRow[row]!; j++) at = skipSegment(packed, at);
      k += perRow[row]!;
    }
  }

  /** Row i's segments by key, NTYPES counts then the value sum (null: none). */
  values(i: number): Map<string, Float64Array> | null {
    const n = this.p[2][i] ?? 0;
    if (n === 0) return null;
    const out = new Map<string, Float64Array>();
    let at = this.starts[i]!;
    for (let j = 0; j < n; j++) {
      const vals = new Float64Array(SEGMENT_SLOTS);
      const r = unpackSegment(this.p[3], at, vals, 0);
      at = r.next;
      out.set(this.keys[r.id]!, vals);
    }
    return out;
  }

  /** Row i's segments' unique users by key (null: no segments; undefined: the block has no reach). */
  users(i: number): Map<string, Reach> | null | undefined {
    if (!this.reach) return undefined;
    const n = this.p[2][i] ?? 0;
    if (n === 0) return null;
    const out = new Map<string, Reach>();
    const packed = this.p[3];
    let at = this.starts[i]!;
    for (let j = 0; j < n; j++) {
      out.set(this.keys[packed[at]!]!, reachAt(this.reach.segs, this.firsts[i]! + j));
      at = skipSegment(packed, at);
    }
    return out;
  }
}

/** Marks a row's segments not read yet (null and undefined are answers). */
const UNREAD = Symbol('unread');

/** A stored row of a block; its segments are read when first asked for. */
class BlockRow implements StoredRow {
  private segsRead: Map<string, Float64Array> | null | typeof UNREAD = UNREAD;
  private segUsersRead: Map<string, Reach> | null | undefined | typeof UNREAD = UNREAD;

  constructor(
    readonly window: number, readonly partition: number, readonly cell: string, readonly sum: Float64Array,
    readonly reach: Reach | undefined, readonly users: number | undefined, private readonly block: BlockSegments | undefined, private readonly i: number,
  ) {}

  get segs(): Map<string, Float64Array> | null {
    if (this.segsRead === UNREAD) this.segsRead = this.block ? this.block.values(this.i) : null;
    return this.segsRead;
  }

  get segReach(): Map<string, Reach> | null | undefined {
    if (this.segUsersRead === UNREAD) this.segUsersRead = this.block ? this.block.users(this.i) : this.reach ? null : undefined;
    return this.segUsersRead;
  }
}

/** The 3-character prefixes covering a bbox, or undefined when there are too many to list. */
export function prefixesFor(b: Bbox, max = 512): string[] | undefined {
  const [w, s, e, n] = b;
  const step = 180 / 128; // a precision-3 cell is 1.40625° × 1.40625°
  const lons: number[] = [];
  const spanLon = w <= e ? e - w : 360 - (w - e);
  for (let x = 0; x <= spanLon + step; x += step) lons.push(((w + Math.min(x, spanLon) + 540) % 360) - 180);
  const out = new Set<string>();
  for (let y = s; y <= n + step; y += step) {
    for (const lon of lons) {
      out.add(geohashEncode(Math.min(y, n), lon, FINAL_PREFIX_PRECISION));
      if (out.size > max) return undefined;
    }
  }
  return [...out];
}

/**
 * The prefixes of final blocks that may hold cells of those 3-character prefixes: each of them and its
 * shorter prefixes, down to "" (the block of a whole sparse window).
 */
export function blockPrefixes(prefixes: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of prefixes) for (let n = 0; n <= p.length; n++) out.add(p.slice(0, n));
  return [...out];
}

/**
 * The (window, partition) pairs whose final blocks overlap: blocks of one split never do (actors/logic.ts
 * `finalGroups`), so these were written by two owners that split the window differently (a crash in the
 * middle of inserting a window's blocks, across an upgrade). Their cells are read once.
 */
export function overlappingWindows(finals: readonly FinalBlock[]): Set<string> {
  const byWindow = new Map<string, string[]>();
  for (const f of finals) {
    const k = blockWindowKey(f);
    const l = byWindow.get(k);
    if (l) l.push(f.prefix);
    else byWindow.set(k, [f.prefix]);
  }
  const out = new Set<string>();
  for (const [k, l] of byWindow) {
    if (l.length < 2) continue;
    // Sorted, a prefix comes right before the first of the prefixes it covers.
    l.sort();
    for (let i = 1; i < l.length; i++) if (l[i]!.startsWith(l[i - 1]!)) out.add(k);
  }
  return out;
}

export interface ReadOptions {
  readonly from: number;
  readonly to: number;
  readonly windowMs: number;
  readonly bbox?: Bbox | undefined;
  readonly partition?: number;
  /** Stop with {@link TooManyRowsError} beyond this many rows. */
  readonly maxRows?: number;
}

export class TooManyRowsError extends Error {
  readonly code = 'QUERY_TOO_LARGE';
}

/**
 * Every stored row of windows in [from, to) (and in the bbox, by cell centre). The blocks are fetched
 * before this returns; their rows are decoded as the result is iterated, block by block (each iteration
 * decodes them again), so an answer over a million rows keeps its accumulators, not a million rows: held
 * all at once, they cost more in garbage collection than decoding and merging them together.
 */
export async function readRollups(db: Db, o: ReadOptions): Promise<Iterable<StoredRow>> {
  const window = { $gte: o.from - (o.from % o.windowMs), $lt: o.to };
  const covering = o.bbox ? prefixesFor(o.bbox) : undefined;
  const prefixes = covering && blockPrefixes(covering);
  const part = o.partition === undefined ? {} : { partition: o.partition };
  const [finals, opens] = await Promise.all([
    db.collection<FinalBlock>(ROLLUPS_COLLECTION).find({ window, windowMs: o.windowMs, ...part, ...(prefixes ? { prefix: { $in: prefixes } } : {}) }).toArray(),
    db.collection<OpenWindowDoc>(OPEN_ROLLUPS_COLLECTION).find({ window, windowMs: o.windowMs, ...part }).toArray(),
  ]);
  // A window with finals is closed for that partition; finals are filtered by prefix, so ask the
  // index which (window, partition) pairs have any when a bbox narrowed the read.
  const closed = new Set(finals.map(blockWindowKey));
  if (prefixes && opens.length > 0) {
    const more = await db.collection<FinalBlock>(ROLLUPS_COLLECTION)
      .find({ window, windowMs: o.windowMs, ...part }, { projection: { window: 1, partition: 1 } }).toArray();
    for (const f of more) closed.add(blockWindowKey(f));
  }
  const docs: (FinalBlock | OpenWindowDoc)[] = [...finals, ...opens.filter((d) => !closed.has(blockWindowKey(d)))];
  const overlapping = overlappingWindows(finals);
  return { [Symbol.iterator]: () => blockRowsOf(docs, overlapping, o) };
}

function* blockRowsOf(docs: readonly (FinalBlock | OpenWindowDoc)[], overlapping: ReadonlySet<string>, o: ReadOptions): Generator<StoredRow> {
  const seen = new Set<string>();
  let n = 0;
  for (const doc of docs) {
    const dedupe = overlapping.size > 0 && overlapping.has(blockWindowKey(doc)) ? blockWindowKey(doc) : undefined;
    // The driver hands binary fields over as BSON Binary: the columns are read from their bytes.
    const bytes = (b: unknown) => (b instanceof Binary ? b.buffer : (b as Uint8Array));
    const block = {
      window: doc.window, windowMs: doc.windowMs, partition: doc.partition, cells: doc.cells, counts: bytes(doc.counts), values: bytes(doc.values), users: bytes(doc.users),
      ...(doc.segs ? { segs: bytes(doc.segs) } : {}), ...(doc.reach ? { reach: bytes(doc.reach) } : {}), ...(doc.enc ? { enc: doc.enc } : {}),
    };
    // Each column inflated once; the reach and segments of the plain block are read as they are.
    const plain = plainBlock(block, inflateRawSync);
    const { cells, counts, values, users } = blockColumns(plain);
    const reach = blockReach(plain, inflateRawSync);
    const packedSegs = blockSegments(plain, inflateRawSync);
    const segs = packedSegs && new BlockSegments(packedSegs, reach);
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i]!;
      if (dedupe !== undefined) {
        const k = `${dedupe}|${cell}`;
        if (seen.has(k)) continue;
        seen.add(k);
      }
      if (o.bbox) {
        const c = geohashCenter(cell);
        if (!inBbox(o.bbox, c.lat, c.lon)) continue;
      }
      if (o.maxRows !== undefined && ++n > o.maxRows) throw new TooManyRowsError(`more than ${o.maxRows} stored rows match; narrow the time range or the bbox`);
      const sum = new Float64Array(NTYPES + 1);
      for (let t = 0; t < NTYPES; t++) sum[t] = counts[i * NTYPES + t]!;
      sum[NTYPES] = values[i]!;
      yield new BlockRow(doc.window, doc.partition, cell, sum, reach && reachAt(reach.rows, i), reach ? undefined : users[i]!, segs, i);
    }
  }
}
