/**
 * Frames for viewers (actors/model/stream.ts), built from a {@link View}. A frame's body (everything
 * but `seq` and `sub`) depends only on the view, the viewport, the types and the log positions, so
 * viewers that ask for the same thing share one encoding; {@link withHeader} then adds each viewer's
 * `seq` and `sub` by rewriting the msgpack map header, a copy of the bytes instead of a new encoding.
 */
import { encode, EVENT_TYPES, NTYPES, Sketch, geohashCenter, inBbox, slotMask, TYPE_INDEX, type Bbox, type EventType, type Reach } from '../../actors/model/index.js';
import type { View, ViewCell } from './store.js';

const ZEROS = new Float64Array(NTYPES + 1);

/** What a viewer looks at. */
export interface Viewport {
  readonly bbox: Bbox;
  readonly types: readonly EventType[] | undefined;
}

export interface FrameTimes {
  readonly at: number;
  readonly dataAt: number;
  /** Event-time range of the view. */
  readonly from: number;
  readonly to: number;
}

/** Unique users of the view's cells (LiveStore.viewReach), and the privacy floor to apply with them. */
export interface FrameReach {
  readonly cells: ReadonlyMap<string, Reach>;
  /** ADME_PRIVACY_K: rows with fewer users of the subscribed types are not sent (0: no floor). */
  readonly privacyK: number;
  /** Add the view's own unique users and the count of cells held back (snapshots, and once a second). */
  readonly totals: boolean;
  /**
   * Totals already computed for this view, viewport and types (the hub keeps them for one frame-clock
   * tick), by `totalsKey`: every frame of a tick then merges the view's sketches once, not once per
   * encoding (viewers at different log positions get different encodings, with the same totals).
   */
  readonly totalsMemo?: Map<string, { readonly viewUsers: number; readonly withheld: number }>;
  readonly totalsKey?: string;
}

const NO_REACH: FrameReach = { cells: new Map(), privacyK: 0, totals: false };

/**
 * The columns of a snapshot (`snapshot`) or of the delta over log positions [since, end). A snapshot
 * sent instead of a long delta still reports the oldest change since `since` in `oldestAt`.
 */
export function frameBody(view: View, vp: Viewport, times: FrameTimes, snapshot: boolean, since: number, end = view.logEnd, reach: FrameReach = NO_REACH): { bytes: Uint8Array; rows: number; withheld: number } {
  let rows: ViewCell[];
  let oldestAt = Infinity;
  if (snapshot) {
    oldestAt = since < 0 ? Infinity : view.oldestSince(since, end);
    rows = [];
    for (const c of view.cells.values()) if (inBbox(vp.bbox, c.lat, c.lon)) rows.push(c);
  } else {
    const ch = view.changesSince(since, end);
    oldestAt = ch.oldestAt;
    rows = [];
    for (const key of ch.cells) {
      const c = view.cells.get(key);
      if (c) {
        if (inBbox(vp.bbox, c.lat, c.lon)) rows.push(c);
      } else {
        // Left the window: a row of zeros removes it (from viewers that may have it).
        const { lat, lon } = geohashCenter(key);
        if (inBbox(vp.bbox, lat, lon)) rows.push({ cell: key, lat, lon, sum: ZEROS });
      }
    }
  }
  const typeIdx = (vp.types ?? EVENT_TYPES).map((t) => TYPE_INDEX[t]);
  const mask = slotMask(typeIdx);
  const k = reach.privacyK;
  const n = rows.length;
  const cells: string[] = new Array<string>(n);
  const lat = new Float32Array(n);
  const lon = new Float32Array(n);
  const total = new Uint32Array(n);
  const counts = new Uint32Array(n * NTYPES);
  const value = new Float64Array(n);
  const users = new Uint32Array(n);
  const impressionUsers = new Uint32Array(n);
  const impressions = 1 << TYPE_INDEX.impression;
  let kept = 0;
  let held = 0;
  for (const r of rows) {
    let t = 0;
    for (const i of typeIdx) t += r.sum[i]!;
    if (snapshot && t === 0) continue; // a snapshot lists only cells with events of the types
    const u = t === 0 ? 0 : reach.cells.get(r.cell)?.users(mask) ?? 0;
    cells[kept] = r.cell;
    lat[kept] = r.lat;
    lon[kept] = r.lon;
    if (k > 0 && u < k && t > 0) {
      // Below the floor: a snapshot leaves it out, a delta removes it (a row of zeros) from viewers that
      // may have it from before (the cell's users in the view fell as windows left it).
      held++;
      if (snapshot) continue;
      kept++;
      continue;
    }
    total[kept] = t;
    for (let i = 0; i < NTYPES; i++) counts[kept * NTYPES + i] = r.sum[i]!;
    value[kept] = r.sum[NTYPES]!;
    users[kept] = u;
    impressionUsers[kept] = r.sum[TYPE_INDEX.impression]! > 0 ? reach.cells.get(r.cell)?.users(impressions) ?? 0 : 0;
    kept++;
  }
  cells.length = kept;
  let totals = {};
  const memo = reach.totals && reach.totalsKey !== undefined ? reach.totalsMemo?.get(reach.totalsKey) : undefined;
  if (memo) totals = memo;
  else if (reach.totals) {
    // The view's own reach: every cell in the viewport, small ones included (they count in the area).
    const all = new Sketch();
    let withheld = 0;
    for (const c of view.cells.values()) {
      if (!inBbox(vp.bbox, c.lat, c.lon)) continue;
      let t = 0;
      for (const i of typeIdx) t += c.sum[i]!;
      if (t === 0) continue; // no events of the types: not a cell of this viewer's map
      const r = reach.cells.get(c.cell);
      if (!r) continue;
      r.sketch(mask, all);
      if (k > 0 && r.users(mask) < k) withheld++;
    }
    const t = { viewUsers: all.estimate(), withheld };
    if (reach.totalsKey !== undefined) reach.totalsMemo?.set(reach.totalsKey, t);
    totals = t;
  }
  const bytes = encode({
    type: snapshot ? 'snapshot' : 'delta',
    at: times.at,
    oldestAt: Number.isFinite(oldestAt) ? oldestAt : 0,
    dataAt: times.dataAt,
    from: times.from,
    to: times.to,
    windowS: view.windowS,
    precision: view.precision,
    cells,
    lat: lat.subarray(0, kept),
    lon: lon.subarray(0, kept),
    total: total.subarray(0, kept),
    counts: counts.subarray(0, kept * NTYPES),
    value: value.subarray(0, kept),
    users: users.subarray(0, kept),
    impressionUsers: impressionUsers.subarray(0, kept),
    privacyK: k,
    ...totals,
  });
  return { bytes, rows: kept, withheld: held };
}

/** Entry count and header length of an encoded msgpack map (msgpackr writes objects as map16). */
function mapHeader(b: Uint8Array): { entries: number; skip: number } {
  const b0 = b[0]!;
  if ((b0 & 0xf0) === 0x80) return { entries: b0 & 0x0f, skip: 1 };
  if (b0 === 0xde) return { entries: (b[1]! << 8) | b[2]!, skip: 3 };
  throw new Error('frame body is not a msgpack map');
}

/** A msgpack map `body` with `seq` and `sub` added in front (body must be an encoded map). */
export function withHeader(body: Uint8Array, seq: number, sub: number): Buffer {
  const head = encode({ seq, sub });
  const h = mapHeader(head);
  const b = mapHeader(body);
  const out = Buffer.allocUnsafe(3 + head.byteLength - h.skip + body.byteLength - b.skip);
  out[0] = 0xde;
  out.writeUInt16BE(h.entries + b.entries, 1);
  out.set(head.subarray(h.skip), 3);
  out.set(body.subarray(b.skip), 3 + head.byteLength - h.skip);
  return out;
}

/** Bytes of a non-negative integer in msgpack (what msgpackr writes for `seq` and `sub`). */
const uintBytes = (n: number): number => (n < 128 ? 1 : n < 256 ? 2 : n < 65_536 ? 3 : n < 4_294_967_296 ? 5 : 9);

/**
 * The length of `withHeader(body, seq, sub)` without building it (a port on another thread reports it):
 * the map16 header, the keys `seq` and `sub` (4 bytes each) and their values, then the body's entries.
 */
export function framedLength(body: Uint8Array, seq: number, sub: number): number {
  return 3 + 8 + uintBytes(seq) + uintBytes(sub) + body.byteLength - mapHeader(body).skip;
}
