/**
 * The live-view protocol of `WS /v1/stream` (docs/api.md), shared by the gateway and the browser (viz/):
 * nothing here may import Node modules.
 *
 * Every frame is binary msgpack, encoded with `moreTypes` so typed arrays arrive typed
 * (actors/model/codec.ts). The viewer drives the pace: after drawing a frame it sends a `credit`;
 * the server then sends the newest merged state for that viewer (never a backlog), at most one frame
 * per `minFrameMs` (100 ms: 10 frames/s).
 */
import { EVENT_TYPES, type EventType } from './event.js';
import { checkIds, SegmentFilterError } from './segment.js';

/** Live window sizes a viewer may choose, seconds (multiples of the actors' 10 s windows). */
export const LIVE_WINDOWS_S = [10, 60, 300, 900] as const;
/** Geohash precision of the live view: 1 (≈5000 km) to 6 (≈1.2 km, the aggregation's base). */
export const MIN_PRECISION = 1;
export const MAX_PRECISION = 6;

/** [west, south, east, north] in degrees; west > east crosses the antimeridian. */
export type Bbox = readonly [number, number, number, number];

// ---- viewer → server ----------------------------------------------------------------------------

/** Sets (or replaces) what the viewer sees; the server answers with a snapshot. */
export interface SubscribeMsg {
  readonly type: 'subscribe';
  readonly bbox: Bbox;
  /** Geohash precision of the cells sent (1-6); see {@link precisionForZoom}. */
  readonly precision: number;
  /** Event types counted in `total`; absent or empty = all. */
  readonly types?: readonly EventType[];
  /** One of {@link LIVE_WINDOWS_S}; default 60. */
  readonly windowS?: number;
  /**
   * Only events of these apps / these campaigns (actors/model/segment.ts); absent or empty = any.
   * With a filter, events that name no app (or no campaign) are not counted.
   */
  readonly apps?: readonly string[];
  readonly campaigns?: readonly string[];
  /** Initial credit (frames the viewer is ready for); default 1. */
  readonly credit?: number;
}

/** "I have drawn; send me the newest state." Adds `n` (default 1, at most 8 outstanding) frames of credit. */
export interface CreditMsg {
  readonly type: 'credit';
  readonly n?: number;
}

/** "I missed a frame (seq gap): send a snapshot." */
export interface ResyncMsg {
  readonly type: 'resync';
}

export type ClientMsg = SubscribeMsg | CreditMsg | ResyncMsg;

// ---- server → viewer ----------------------------------------------------------------------------

/**
 * A snapshot (every cell of the viewport with a non-zero total) or a delta (only cells that changed
 * since the previous frame to this viewer; a row with total 0 means the cell left the window).
 * Columnar: row i is cells[i].
 */
export interface CellsFrame {
  readonly type: 'snapshot' | 'delta';
  /** Counts up by one per frame to this viewer, snapshots included; a gap means a lost frame → resync. */
  readonly seq: number;
  /** Echo of the subscription this frame answers (counts up per subscribe). */
  readonly sub: number;
  /** Server time the frame was made, epoch ms. */
  readonly at: number;
  /**
   * Freshness: the earliest gateway-accept time among events first visible in this frame (epoch ms),
   * or 0 when the frame carries nothing new. `at - oldestAt` is the frame's data age.
   */
  readonly oldestAt: number;
  /** Emit time of the newest actor delta merged so far (epoch ms, 0 = none yet). */
  readonly dataAt: number;
  /** The live window covered: [from, to) event-time ms, and its length. */
  readonly from: number;
  readonly to: number;
  readonly windowS: number;
  readonly precision: number;
  readonly cells: readonly string[];
  /** Cell centres, degrees. */
  readonly lat: Float32Array;
  readonly lon: Float32Array;
  /** Sum over the subscribed types. */
  readonly total: Uint32Array;
  /** rows × NTYPES, all types (for tooltips and rates), row-major. */
  readonly counts: Uint32Array;
  /** Sum of event values (revenue). */
  readonly value: Float64Array;
  /**
   * Unique users per row with an event of the subscribed types (reach; absent from gateways older than
   * reach). Rows below the privacy floor are not sent at all.
   */
  readonly users?: Uint32Array;
  /** Unique users per row who saw an impression: frequency = impressions ÷ these (absent as `users`). */
  readonly impressionUsers?: Uint32Array;
  /** Unique users of the whole view (every cell in the bbox, small ones included), subscribed types. */
  readonly viewUsers?: number;
  /** The privacy floor the gateway applies (`ADME_PRIVACY_K`; 0: none), and cells of the view it held back. */
  readonly privacyK?: number;
  readonly withheld?: number;
}

/** Something the viewer sent was wrong; the connection stays open with the previous subscription. */
export interface ErrorFrame {
  readonly type: 'error';
  readonly code: 'STREAM_BAD_MESSAGE';
  readonly message: string;
}

export type ServerFrame = CellsFrame | ErrorFrame;

// ---- helpers ------------------------------------------------------------------------------------

/** Geohash precision for a web-map zoom level: cells of roughly 10-60 screen pixels. */
export function precisionForZoom(zoom: number): number {
  if (zoom < 3) return 2;
  if (zoom < 5.5) return 3;
  if (zoom < 8) return 4;
  if (zoom < 10.5) return 5;
  return 6;
}

export class StreamMessageError extends Error {}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks a decoded viewer message; throws {@link StreamMessageError} naming what is wrong. */
export function parseClientMsg(raw: unknown): ClientMsg {
  if (typeof raw !== 'object' || raw === null) throw new StreamMessageError('a message must be a msgpack map with a "type"');
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'credit': {
      const n = m.n ?? 1;
      if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 8) throw new StreamMessageError(`credit.n must be an integer 1-8, got ${JSON.stringify(n)}`);
      return { type: 'credit', n: n as number };
    }
    case 'resync':
      return { type: 'resync' };
    case 'subscribe': {
      const b = m.bbox;
      if (!Array.isArray(b) || b.length !== 4 || !b.every(isNum)) throw new StreamMessageError('subscribe.bbox must be [west, south, east, north] in degrees');
      const [w, s, e, n] = b;
      if (w! < -180 || w! > 180 || e! < -180 || e! > 180) throw new StreamMessageError(`subscribe.bbox longitudes must be within -180..180, got ${w}, ${e}`);
      if (s! < -90 || n! > 90 || s! > n!) throw new StreamMessageError(`subscribe.bbox latitudes must satisfy -90 <= south <= north <= 90, got ${s}, ${n}`);
      const p = m.precision;
      if (!Number.isInteger(p) || (p as number) < MIN_PRECISION || (p as number) > MAX_PRECISION) throw new StreamMessageError(`subscribe.precision must be an integer ${MIN_PRECISION}-${MAX_PRECISION}, got ${JSON.stringify(p)}`);
      const windowS = m.windowS ?? 60;
      if (!(LIVE_WINDOWS_S as readonly unknown[]).includes(windowS)) throw new StreamMessageError(`subscribe.windowS must be one of ${LIVE_WINDOWS_S.join(', ')}, got ${JSON.stringify(windowS)}`);
      let types: EventType[] | undefined;
      if (m.types !== undefined && m.types !== null) {
        if (!Array.isArray(m.types)) throw new StreamMessageError('subscribe.types must be an array of event types');
        for (const t of m.types) if (!(EVENT_TYPES as readonly unknown[]).includes(t)) throw new StreamMessageError(`subscribe.types: unknown event type ${JSON.stringify(t)} (known: ${EVENT_TYPES.join(', ')})`);
        types = m.types as EventType[];
      }
      let apps: string[];
      let campaigns: string[];
      try {
        apps = checkIds(m.apps, 'subscribe.apps');
        campaigns = checkIds(m.campaigns, 'subscribe.campaigns');
      } catch (err) {
        if (err instanceof SegmentFilterError) throw new StreamMessageError(err.message);
        throw err;
      }
      const credit = m.credit ?? 1;
      if (!Number.isInteger(credit) || (credit as number) < 0 || (credit as number) > 8) throw new StreamMessageError(`subscribe.credit must be an integer 0-8, got ${JSON.stringify(credit)}`);
      return { type: 'subscribe', bbox: [w!, s!, e!, n!], precision: p as number, windowS: windowS as number, credit: credit as number, ...(types && types.length > 0 ? { types } : {}), ...(apps.length > 0 ? { apps } : {}), ...(campaigns.length > 0 ? { campaigns } : {}) };
    }
    default:
      throw new StreamMessageError(`unknown message type ${JSON.stringify(m.type)} (expected subscribe, credit or resync)`);
  }
}

/** True when (lat, lon) lies in the box (west > east wraps over the antimeridian). */
export function inBbox(bbox: Bbox, lat: number, lon: number): boolean {
  const [w, s, e, n] = bbox;
  if (lat < s || lat > n) return false;
  return w <= e ? lon >= w && lon <= e : lon >= w || lon <= e;
}
