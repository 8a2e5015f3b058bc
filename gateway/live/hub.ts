/**
 * The viewers of `WS /v1/stream` and their frames (protocol: actors/model/stream.ts). Transport-free:
 * a viewer is a `send` function and a `buffered` probe, so the pacing rules are tested without sockets.
 *
 * Pacing is the viewer's: a frame goes out only when the viewer has credit (it grants one after drawing),
 * at most one per tick of the frame clock (every `minFrameMs`), and it always carries the newest merged
 * state since the previous frame — a slow viewer gets fewer, fresher frames, and nothing queues up for
 * it. All frames of one tick with the same content share one encoding.
 */
import { decode, parseClientMsg, StreamMessageError, encode, type DeltaRecord, type SubscribeMsg } from '../../actors/model/index.js';
import { frameBody, withHeader, type Viewport } from './frames.js';
import { LiveStore, viewKey, type View } from './store.js';

export interface HubOptions {
  readonly windowMs: number;
  readonly horizonMs: number;
  /** An empty frame (freshness, liveness) after this long without changes, ms. */
  readonly heartbeatMs: number;
  /** Bytes queued in a viewer's socket above which it gets no frame this tick. */
  readonly maxBuffered: number;
  /** Distinct segments per (window, cell) in the live store; the rest count as "other" (default 64). */
  readonly maxSegmentsPerCell?: number;
  /** Windows this far behind every partition's newest are frozen (LiveStoreOptions.freezeMs). */
  readonly freezeMs?: number;
  /** The privacy floor (ADME_PRIVACY_K): cells with fewer unique users are not streamed (default 0: none). */
  readonly privacyK?: number;
}

/**
 * Frames carry the view's own users and held-back cells in snapshots and, for each viewer, in its first
 * frame after this long without them. Per viewer, not every tenth tick: a viewer that gets frames only
 * at its heartbeats (a quiet view) may see no frame on a tenth tick for many seconds.
 */
const TOTALS_EVERY_MS = 1000;

export interface ViewerPort {
  /** Sends one binary message; false when the socket is gone. */
  send(frame: Uint8Array): boolean;
  /**
   * Sends a frame given as its shared body and this viewer's `seq` and `sub` (see {@link withHeader});
   * answers the frame's length, 0 when the socket is gone. Without it the hub builds the frame and
   * calls `send`. A port on another thread uses it to pass each shared body across once per tick.
   */
  sendFrame?(body: Uint8Array, seq: number, sub: number): number;
  /** Bytes the socket has not written yet. */
  buffered(): number;
}

export class Viewer {
  sub = 0;
  seq = 0;
  credit = 0;
  view: View | undefined;
  viewport: Viewport | undefined;
  /** Log position of the view this viewer has seen up to. */
  pos = 0;
  needSnapshot = true;
  lastSentAt = 0;
  /** Frame-clock time of the last frame that carried the view's totals (see TOTALS_EVERY_MS). */
  lastTotalsAt = -Infinity;
  /** The frame-clock tick of the last frame sent (one frame per tick at most). */
  lastTick = -1;
  /** Cache key of the viewport and types. */
  vpKey = '';
  constructor(readonly port: ViewerPort) {}
}

export class StreamHub {
  readonly store: LiveStore;
  private readonly viewers = new Set<Viewer>();
  readonly stats = { ticks: 0, newsTicks: 0, frames: 0, bytes: 0, snapshots: 0, skippedBusy: 0, badMessages: 0, encodings: 0, withheldRows: 0 };
  private tickAt = 0;
  /** Frame bodies built during the current tick, by view, viewport, log range. */
  private readonly cache = new Map<string, { bytes: Uint8Array; rows: number; withheld: number }>();
  /** View totals (view users, cells held back) per view and viewport, for the current tick (frames.ts). */
  private readonly totalsMemo = new Map<string, { readonly viewUsers: number; readonly withheld: number }>();
  /** Each view's log end when the current tick ran. */
  private readonly tickEnds = new Map<View, number>();

  constructor(
    private readonly o: HubOptions,
    private readonly onResync: (partition: number, why: 'gap' | 'owner-change') => void = () => undefined,
    private readonly clock: () => number = Date.now,
  ) {
    this.store = new LiveStore({ windowMs: o.windowMs, horizonMs: o.horizonMs, maxSegmentsPerCell: o.maxSegmentsPerCell, freezeMs: o.freezeMs });
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Folds actor deltas in; a gap or an owner change makes every viewer start over with a snapshot. */
  applyDeltas(deltas: readonly DeltaRecord[]): void {
    for (const d of deltas) {
      const outcome = this.store.apply(d);
      if (outcome === 'gap' || outcome === 'owner-change') {
        this.resnapshotAll();
        this.onResync(d.partition, outcome);
      }
    }
  }

  resnapshotAll(): void {
    for (const v of this.viewers) v.needSnapshot = true;
  }

  open(port: ViewerPort): Viewer {
    const v = new Viewer(port);
    this.viewers.add(v);
    return v;
  }

  close(v: Viewer): void {
    if (v.view) this.store.release(v.view);
    v.view = undefined;
    this.viewers.delete(v);
  }

  /** Handles one binary message; a bad one is answered with an error frame and changes nothing. */
  message(v: Viewer, bytes: Uint8Array): void {
    let msg;
    try {
      msg = parseClientMsg(decode<unknown>(bytes));
    } catch (err) {
      this.stats.badMessages++;
      const message = err instanceof StreamMessageError ? err.message : `not msgpack: ${(err as Error).message}`;
      v.port.send(encode({ type: 'error', code: 'STREAM_BAD_MESSAGE', message }));
      return;
    }
    if (msg.type === 'credit') v.credit = Math.min(8, v.credit + (msg.n ?? 1));
    else if (msg.type === 'resync') v.needSnapshot = true;
    else this.subscribe(v, msg);
    this.serveLate(v, this.clock());
  }

  private subscribe(v: Viewer, m: SubscribeMsg): void {
    const windowS = m.windowS ?? 60;
    const filter = { apps: m.apps ?? [], campaigns: m.campaigns ?? [] };
    if (!v.view || v.view.key !== viewKey(windowS, m.precision, filter)) {
      const next = this.store.acquire(windowS, m.precision, filter);
      if (v.view) this.store.release(v.view);
      v.view = next;
    }
    v.viewport = { bbox: m.bbox, types: m.types };
    v.vpKey = `${m.bbox.join(',')}|${m.types?.join(',') ?? '*'}`;
    v.sub++;
    v.credit = m.credit ?? 1;
    v.needSnapshot = true;
  }

  /**
   * The frame clock, called every `minFrameMs` (the server's timer): each viewer with credit gets at most one frame per tick.
   * Ticking in step (rather than timing each viewer) keeps viewers in lockstep, so those looking at the
   * same thing read the same log range and share one encoding.
   */
  tick(now: number): void {
    this.stats.ticks++;
    this.tickAt = now;
    this.cache.clear();
    this.totalsMemo.clear();
    this.tickEnds.clear();
    const readers = new Map<View, number>();
    let news = false;
    for (const v of this.viewers) {
      const view = v.view;
      if (!view || !v.viewport) continue;
      if (!this.tickEnds.has(view)) {
        this.tickEnds.set(view, view.logEnd);
        if (view.logEnd > view.lastTickEnd) news = true;
        view.lastTickEnd = view.logEnd;
      }
      this.serve(v, view, v.viewport, now, view.logEnd);
      // A viewer due for a snapshot reads no log: it does not hold entries back.
      readers.set(view, Math.min(readers.get(view) ?? Infinity, v.needSnapshot ? view.logEnd : v.pos));
    }
    if (news) this.stats.newsTicks++;
    // Log entries every viewer of a view has read are dropped.
    for (const [view, pos] of readers) view.trim(pos);
  }

  /**
   * A credit that comes back after its viewer missed this tick is served at once with the frame the
   * tick built for viewers at the same position (no new encoding; the data is at most one tick old),
   * which also puts the viewer back in lockstep. Only a viewer nobody shares a position with costs an
   * encoding of the current state.
   */
  private serveLate(v: Viewer, now: number): void {
    const view = v.view;
    if (!view || !v.viewport || v.lastTick === this.stats.ticks) return;
    const tickEnd = this.tickEnds.get(view);
    const shared = tickEnd !== undefined && tickEnd >= v.pos && this.cache.has(this.keyOf(v, view, this.isSnapshot(v, view), tickEnd));
    this.serve(v, view, v.viewport, shared ? this.tickAt : now, shared ? tickEnd : view.logEnd);
  }

  private isSnapshot(v: Viewer, view: View): boolean {
    return v.needSnapshot || view.snapshotCheaper(v.pos);
  }

  private keyOf(v: Viewer, view: View, snapshot: boolean, end: number, totals = this.totalsDue(v, snapshot)): string {
    return `${view.key}|${v.vpKey}|${snapshot ? 'S' : ''}${v.needSnapshot ? -1 : v.pos}|${end}|${totals ? 'T' : ''}`;
  }

  /** Whether `v`'s frame this tick carries the view's totals (by the tick's time, so one key per tick). */
  private totalsDue(v: Viewer, snapshot: boolean): boolean {
    return snapshot || this.tickAt - v.lastTotalsAt >= TOTALS_EVERY_MS;
  }

  /** Sends `v` the changes up to log position `end` (or a snapshot), if it has credit and news. */
  private serve(v: Viewer, view: View, vp: Viewport, now: number, end: number): void {
    if (v.credit <= 0 || v.lastTick === this.stats.ticks) return;
    const snapshot = this.isSnapshot(v, view);
    const heartbeat = now - v.lastSentAt >= this.o.heartbeatMs;
    if (!snapshot && end <= v.pos && !heartbeat) return;
    if (v.port.buffered() > this.o.maxBuffered) {
      this.stats.skippedBusy++;
      return;
    }
    const totals = this.totalsDue(v, snapshot);
    const key = this.keyOf(v, view, snapshot, end, totals);
    let body = this.cache.get(key);
    if (!body) {
      const store = this.store;
      const from = Number.isFinite(store.newest) ? view.firstWindow(store.newest) : 0;
      const to = Number.isFinite(store.newest) ? store.newest + this.o.windowMs : 0;
      // A viewer that (re)subscribed or resynced has no position that means anything: since = −1.
      const reach = { cells: store.viewReach(view), privacyK: this.o.privacyK ?? 0, totals, totalsMemo: this.totalsMemo, totalsKey: `${view.key}|${v.vpKey}` };
      body = frameBody(view, vp, { at: now, dataAt: store.dataAt, from, to }, snapshot, v.needSnapshot ? -1 : v.pos, end, reach);
      this.cache.set(key, body);
      this.stats.encodings++;
    }
    if (!snapshot && body.rows === 0 && !heartbeat) {
      v.pos = end; // every change was outside the viewport: nothing to send yet
      return;
    }
    let sent: number;
    if (v.port.sendFrame) sent = v.port.sendFrame(body.bytes, v.seq + 1, v.sub);
    else {
      const frame = withHeader(body.bytes, v.seq + 1, v.sub);
      sent = v.port.send(frame) ? frame.byteLength : 0;
    }
    if (sent === 0) return;
    v.seq++;
    this.stats.frames++;
    this.stats.bytes += sent;
    this.stats.withheldRows += body.withheld;
    if (snapshot) this.stats.snapshots++;
    v.credit--;
    v.pos = end;
    v.needSnapshot = false;
    v.lastSentAt = now;
    if (totals) v.lastTotalsAt = this.tickAt;
    v.lastTick = this.stats.ticks;
  }
}
