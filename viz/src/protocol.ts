/**
 * The viewer's side of the `WS /v1/stream` rules that need no socket: which frames to apply, when to
 * ask for a resync, how long to wait before reconnecting, and the subscription box of a viewport.
 * Pure: unit tested in Node; viz/src/stream.ts wires it to a WebSocket.
 */
import type { Bbox, CellsFrame } from '../../actors/model/stream.js';

/** Connection state shown to the user. */
export type ConnState = 'connecting' | 'live' | 'reconnecting' | 'offline';

/** What to do with a received frame. */
export type FrameVerdict =
  /** Apply it to the cell map and draw. */
  | 'apply'
  /** It answers an older subscription: drop it (its successor's snapshot is on the way). */
  | 'stale'
  /** A frame was lost (seq gap): drop it and send `resync`; deltas are dropped until a snapshot. */
  | 'resync'
  /** A delta while waiting for the snapshot after a gap or a subscribe: drop it. */
  | 'wait';

/**
 * Tracks `seq` (per connection, +1 per frame) and `sub` (per subscribe). Make a new gate per
 * connection: seq numbering starts over with each one.
 */
export class FrameGate {
  private lastSeq: number | undefined;
  /** `sub` of the newest frame received (undefined before the first). */
  private lastSub: number | undefined;
  /** Frames for a subscription below this are stale. */
  private minSub = -Infinity;
  private needSnapshot = true;

  /**
   * Call when sending a subscribe: frames for earlier subscriptions no longer count. The server numbers
   * subscriptions itself, so "earlier" means below the newest one seen + 1 (nothing before the first frame).
   */
  subscribed(): void {
    if (this.lastSub !== undefined) this.minSub = this.lastSub + 1;
    this.needSnapshot = true;
  }

  check(frame: Pick<CellsFrame, 'type' | 'seq' | 'sub'>): FrameVerdict {
    const gap = this.lastSeq !== undefined && frame.seq !== this.lastSeq + 1;
    this.lastSeq = frame.seq;
    if (this.lastSub === undefined || frame.sub > this.lastSub) this.lastSub = frame.sub;
    if (frame.sub < this.minSub) return 'stale';
    if (gap) {
      // A snapshot right after a gap is whole by itself: the gap cost nothing.
      if (frame.type === 'snapshot') {
        this.needSnapshot = false;
        return 'apply';
      }
      this.needSnapshot = true;
      return 'resync';
    }
    if (frame.type === 'snapshot') {
      this.needSnapshot = false;
      return 'apply';
    }
    return this.needSnapshot ? 'wait' : 'apply';
  }
}

/**
 * Reconnect delay after `attempt` consecutive failures (0 = first retry): 0.5 s doubling to 10 s,
 * with ±20 % jitter (`random` in [0, 1)) so many viewers do not reconnect in step after a restart.
 */
export function backoffMs(attempt: number, random: number): number {
  const base = Math.min(10_000, 500 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.8 + 0.4 * random));
}

/** Failed attempts in a row after which the page says "offline" rather than "reconnecting". */
export const OFFLINE_AFTER_ATTEMPTS = 4;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Wraps a longitude into [-180, 180). */
export function wrapLon(lon: number): number {
  const w = ((((lon + 180) % 360) + 360) % 360) - 180;
  return w;
}

/**
 * The subscription box of a viewport's bounds ([minLon, minLat, maxLon, maxLat], longitudes possibly
 * beyond ±180 when the map is panned around the world): longitudes wrapped (west > east when the box
 * crosses the antimeridian), the whole world when it is 360° wide or more, latitudes clamped.
 * Rounded outward to 0.01° so tiny pans do not resubscribe.
 */
export function bboxOf(bounds: readonly [number, number, number, number]): Bbox {
  const [minLon, minLat, maxLon, maxLat] = bounds;
  const s = clamp(Math.floor(minLat * 100) / 100, -90, 90);
  const n = clamp(Math.ceil(maxLat * 100) / 100, -90, 90);
  if (maxLon - minLon >= 360) return [-180, s, 180, n];
  // Round outward first, then wrap, then drop the float noise of the wrap.
  const r2 = (v: number) => Math.round(v * 100) / 100;
  let w = r2(wrapLon(Math.floor(minLon * 100) / 100));
  let e = r2(wrapLon(Math.ceil(maxLon * 100) / 100));
  // A box ending exactly on the antimeridian wraps to -180: keep it +180.
  if (e === -180 && maxLon > minLon) e = 180;
  if (w === 180) w = -180;
  return [w, s, e, n];
}

/** Same subscription? (Avoids resubscribing for a render that did not move the map.) */
export function sameBbox(a: Bbox, b: Bbox): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/**
 * The dashboard's time range: the last `spanMs` up to `now` floored to the 10 s aggregation window,
 * so repeated polls within a window ask the same question (and a test can ask it too).
 */
export function dashboardRange(now: number, spanMs: number): { from: number; to: number } {
  const to = Math.floor(now / 10_000) * 10_000;
  return { from: to - spanMs, to };
}
