/**
 * The `WS /v1/stream` client: connects with the viewer key, (re)subscribes, applies the frame rules of
 * protocol.ts, grants credit once a frame is drawn, and reconnects by itself with back-off.
 */
import { decode, encode } from '../../actors/model/codec.js';
import type { CellsFrame, ClientMsg, ServerFrame, SubscribeMsg } from '../../actors/model/stream.js';
import { FrameGate, OFFLINE_AFTER_ATTEMPTS, backoffMs, type ConnState } from './protocol.js';

export type Subscription = Omit<SubscribeMsg, 'type' | 'credit'>;

export interface StreamHandlers {
  /**
   * A frame to apply. True = it changed the map: call {@link StreamClient.drawn} once it is on screen;
   * false = nothing to draw (a heartbeat): the credit goes back at once.
   */
  onFrame(frame: CellsFrame): boolean;
  onState(state: ConnState, detail: string): void;
  /** The server refused a message (the connection stays open). */
  onServerError?(message: string): void;
  /** A subscribe was sent (after subscribe() and after each reconnect). */
  onSubscribed?(msg: SubscribeMsg): void;
}

/** If a drawn() does not come (nothing changed on screen, hidden tab), credit anyway after this. */
const CREDIT_WATCHDOG_MS = 1000;

export class StreamClient {
  private ws: WebSocket | undefined;
  private gate = new FrameGate();
  private sub: Subscription | undefined;
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  /** Frames received whose credit has not been given back yet. */
  private owed = 0;
  private stopped = false;
  private state: ConnState | undefined;

  constructor(private readonly url: string, private readonly handlers: StreamHandlers) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdog);
    this.ws?.close(1000, 'viewer closed');
    this.ws = undefined;
  }

  /** Sets what to stream; sent now when connected, and again after every reconnect. */
  subscribe(sub: Subscription): void {
    this.sub = sub;
    this.sendSubscribe();
  }

  /** The frame handed to onFrame is on screen: ask for the next one. */
  drawn(): void {
    this.giveCredit();
  }

  private connect(): void {
    if (this.stopped) return;
    if (this.attempts === 0) this.setState('connecting', 'opening the stream');
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.gate = new FrameGate();
    this.owed = 0;
    ws.onopen = () => this.sendSubscribe();
    ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
      if (typeof ev.data === 'string') return;
      this.onMessage(new Uint8Array(ev.data));
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      clearTimeout(this.watchdog);
      if (this.stopped) return;
      const delay = backoffMs(this.attempts, Math.random());
      this.attempts++;
      const why = ev.code === 1006 ? 'connection lost' : `closed ${ev.code}${ev.reason ? `: ${ev.reason}` : ''}`;
      this.setState(this.attempts >= OFFLINE_AFTER_ATTEMPTS ? 'offline' : 'reconnecting', `${why}; retrying in ${(delay / 1000).toFixed(1)} s`);
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
  }

  private onMessage(bytes: Uint8Array): void {
    let frame: ServerFrame;
    try {
      frame = decode<ServerFrame>(bytes);
    } catch (err) {
      this.handlers.onServerError?.(`undecodable frame: ${String(err)}`);
      return;
    }
    if (frame.type === 'error') {
      this.handlers.onServerError?.(`${frame.code}: ${frame.message}`);
      return;
    }
    this.owed++;
    const verdict = this.gate.check(frame);
    if (verdict === 'apply') {
      this.attempts = 0;
      this.setState('live', 'streaming');
      if (this.handlers.onFrame(frame)) {
        clearTimeout(this.watchdog);
        this.watchdog = setTimeout(() => this.giveCredit(), CREDIT_WATCHDOG_MS);
        return;
      }
      this.giveCredit();
      return;
    }
    // Nothing to draw: hand the credit back at once (with the resync when a frame was lost).
    if (verdict === 'resync') this.send({ type: 'resync' });
    this.giveCredit();
  }

  private setState(state: ConnState, detail: string): void {
    if (state === this.state && state === 'live') return;
    this.state = state;
    this.handlers.onState(state, detail);
  }

  private sendSubscribe(): void {
    if (!this.sub || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.gate.subscribed();
    this.owed = 0;
    const msg: SubscribeMsg = { type: 'subscribe', ...this.sub, credit: 1 };
    this.send(msg);
    this.handlers.onSubscribed?.(msg);
  }

  private giveCredit(): void {
    clearTimeout(this.watchdog);
    if (this.owed <= 0) return;
    const n = Math.min(this.owed, 8);
    this.owed = 0;
    this.send({ type: 'credit', n });
  }

  private send(msg: ClientMsg): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(encode(msg));
  }
}

/** ws(s)://<this host>/v1/stream?key=… (browsers cannot set headers on a WebSocket). */
export function streamUrl(key: string): string {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${proto}://${location.host}/v1/stream?key=${encodeURIComponent(key)}`;
}
