/**
 * The live view across threads. The main thread owns the process's one {@link LiveService}; each uWS
 * worker thread reaches it through a {@link RemoteLive}, and the main thread serves each worker through a
 * {@link LiveLink} (messages: protocol.ts).
 *
 * Frames: the hub builds each frame body once per tick and view (shared by every viewer looking at the
 * same thing), and the link passes each body to a worker once per flush, with `[viewer, body, seq, sub]`
 * per frame; the worker splices each viewer's header in (a byte copy, as on one thread). Flushes happen
 * on the next turn of the main thread's event loop, so one tick's frames to a worker are one message.
 *
 * Backpressure: the hub skips a viewer whose socket holds more than its limit. A worker reports the
 * bytes its sockets hold after each flush, and keeps reporting a socket's amount every
 * {@link BUFFERED_REPORT_MS} until it is 0, so a viewer skipped for a full socket is served again once
 * the socket drained.
 */
import type { LiveDown, LiveUp } from '../protocol.js';
import type { Answer } from '../query/api.js';
import type { LiveAccess, LiveViewer } from './access.js';
import { framedLength, withHeader } from './frames.js';
import type { ViewerPort } from './hub.js';

export const BUFFERED_REPORT_MS = 50;

type Post<M> = (message: M, transfer?: ArrayBuffer[]) => void;

/** A copy of `bytes` in an ArrayBuffer of its own, to transfer (msgpackr's output shares a larger buffer). */
function own(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** The main thread's side of one worker: its viewers in the live view, and its outbox of frames. */
export class LiveLink {
  private readonly viewers = new Map<number, { viewer: LiveViewer; buffered: number }>();
  private bodies = new Map<Uint8Array, number>();
  private frames: number[] = [];
  private raw: [number, Uint8Array][] = [];
  private scheduled = false;
  private closed = false;

  constructor(private readonly live: LiveAccess, private readonly post: Post<LiveDown>) {}

  /** Handles one message from the worker. */
  receive(m: LiveUp): void {
    if (this.closed) return;
    if (m.type === 'live-open') {
      const id = m.viewer;
      const port: ViewerPort = {
        send: (bytes) => {
          if (!this.viewers.has(id)) return false;
          this.raw.push([id, own(bytes)]);
          this.schedule();
          return true;
        },
        sendFrame: (body, seq, sub) => {
          if (!this.viewers.has(id)) return 0;
          let index = this.bodies.get(body);
          if (index === undefined) this.bodies.set(body, (index = this.bodies.size));
          this.frames.push(id, index, seq, sub);
          this.schedule();
          return framedLength(body, seq, sub);
        },
        buffered: () => this.viewers.get(id)?.buffered ?? 0,
      };
      // Registered before open: the hub may answer at once.
      const entry = { viewer: undefined as unknown as LiveViewer, buffered: 0 };
      this.viewers.set(id, entry);
      entry.viewer = this.live.open(port);
    } else if (m.type === 'live-message') {
      this.viewers.get(m.viewer)?.viewer.message(m.bytes);
    } else if (m.type === 'live-close') {
      const v = this.viewers.get(m.viewer);
      this.viewers.delete(m.viewer);
      v?.viewer.close();
    } else if (m.type === 'live-buffered') {
      for (let i = 0; i < m.amounts.length; i += 2) {
        const v = this.viewers.get(m.amounts[i]!);
        if (v) v.buffered = m.amounts[i + 1]!;
      }
    } else {
      const { id } = m;
      void this.live.query(m.path, m.qs).then((answer) => {
        if (!this.closed) this.post({ type: 'live-answer', id, answer });
      });
    }
  }

  /** Tells the worker whether the live view is ready (replayed). */
  ready(ready: boolean): void {
    if (!this.closed) this.post({ type: 'live-ready', ready });
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends the outbox to the worker as one message, every body in a buffer of its own (transferred). */
  flush(): void {
    this.scheduled = false;
    if (this.closed || (this.frames.length === 0 && this.raw.length === 0)) return;
    const bodies = [...this.bodies.keys()].map(own);
    const transfer = [...bodies.map((b) => b.buffer as ArrayBuffer), ...this.raw.map(([, b]) => b.buffer as ArrayBuffer)];
    this.post({ type: 'live-frames', bodies, frames: this.frames, raw: this.raw }, transfer);
    this.bodies = new Map();
    this.frames = [];
    this.raw = [];
  }

  /** The worker is gone: its viewers leave the live view. */
  close(): void {
    this.closed = true;
    for (const v of this.viewers.values()) v.viewer.close();
    this.viewers.clear();
  }
}

/** A worker thread's access to the live view on the main thread. */
export class RemoteLive implements LiveAccess {
  private nextViewer = 0;
  private nextQuery = 0;
  private readonly ports = new Map<number, ViewerPort>();
  private readonly queries = new Map<number, (a: Answer) => void>();
  /** Viewers whose socket held bytes at the last report: reported again until 0. */
  private readonly pending = new Set<number>();
  private reporter: NodeJS.Timeout | undefined;
  private isReady = false;

  constructor(private readonly post: Post<LiveUp>) {}

  open(port: ViewerPort): LiveViewer {
    const id = this.nextViewer++;
    this.ports.set(id, port);
    this.post({ type: 'live-open', viewer: id });
    return {
      message: (bytes) => this.post({ type: 'live-message', viewer: id, bytes }, bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? [bytes.buffer as ArrayBuffer] : []),
      close: () => {
        this.ports.delete(id);
        this.pending.delete(id);
        this.post({ type: 'live-close', viewer: id });
      },
    };
  }

  query(path: string, qs: string): Promise<Answer> {
    return new Promise((resolve) => {
      const id = this.nextQuery++;
      this.queries.set(id, resolve);
      this.post({ type: 'live-query', id, path, qs });
    });
  }

  ready(): boolean {
    return this.isReady;
  }

  metrics(): Record<string, number> {
    return {}; // the main thread adds the live view's metrics once, for the whole process
  }

  /** Handles one message from the main thread. */
  receive(m: LiveDown): void {
    if (m.type === 'live-ready') this.isReady = m.ready;
    else if (m.type === 'live-answer') {
      const resolve = this.queries.get(m.id);
      this.queries.delete(m.id);
      resolve?.(m.answer);
    } else {
      const touched = new Set<number>();
      for (const [id, bytes] of m.raw) {
        if (this.ports.get(id)?.send(bytes)) touched.add(id);
      }
      const f = m.frames;
      for (let i = 0; i < f.length; i += 4) {
        const id = f[i]!;
        const port = this.ports.get(id);
        if (port?.send(withHeader(m.bodies[f[i + 1]!]!, f[i + 2]!, f[i + 3]!))) touched.add(id);
      }
      this.report(touched);
    }
  }

  /** Reports the bytes held by the listed sockets, and by those still holding bytes. */
  private report(ids: Iterable<number>): void {
    const amounts: number[] = [];
    for (const id of new Set([...ids, ...this.pending])) {
      const port = this.ports.get(id);
      if (!port) {
        this.pending.delete(id);
        continue;
      }
      const n = port.buffered();
      if (n === 0 && !this.pending.has(id)) continue; // the main thread already counts it as 0
      amounts.push(id, n);
      if (n > 0) this.pending.add(id);
      else this.pending.delete(id);
    }
    if (amounts.length > 0) this.post({ type: 'live-buffered', amounts });
    if (this.pending.size > 0 && !this.reporter) {
      this.reporter = setTimeout(() => {
        this.reporter = undefined;
        this.report([]);
      }, BUFFERED_REPORT_MS);
      this.reporter.unref();
    }
  }

  /** Every viewer's socket is closing (shutdown). */
  close(): void {
    clearTimeout(this.reporter);
    for (const resolve of this.queries.values()) resolve({ status: 503, body: { code: 'QUERY_UNAVAILABLE', message: 'the gateway is shutting down', retriable: true } });
    this.queries.clear();
  }
}
