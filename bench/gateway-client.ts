/**
 * Producer-side clients of the ingestion gateway, used by `adme simulate`, the benchmark and the tests:
 * HTTP (`POST /v1/events`) and a WebSocket producer that keeps the protocol's window (`WS /v1/ingest`).
 */
import WebSocket from 'ws';
import { DEFAULT_WS_WINDOW, isNack, type AdEvent, type IngestReply } from '../actors/model/index.js';
import { decodeMsgpack, encodeMsgpack } from '../gateway/index.js';
import { TrafficModel } from './gateway-traffic.js';

export type Format = 'json' | 'msgpack';

export interface HttpAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly retryAfter: string | null;
}

export async function postEvents(baseUrl: string, key: string | undefined, events: readonly AdEvent[] | AdEvent, format: Format = 'json'): Promise<HttpAnswer> {
  const res = await fetch(`${baseUrl}/v1/events`, {
    method: 'POST',
    headers: {
      'content-type': format === 'json' ? 'application/json' : 'application/msgpack',
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    },
    body: format === 'json' ? JSON.stringify(events) : encodeMsgpack(events),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
}

/** A WebSocket producer: `send` resolves with the frame's ack or nack; at most `window` frames in flight. */
export class WsProducer {
  private seq = 0;
  private readonly waiting = new Map<number, (r: IngestReply) => void>();
  private readonly slots: (() => void)[] = [];
  closeCode: number | undefined;
  closeReason = '';
  private readonly closed: Promise<void>;

  private constructor(readonly ws: WebSocket, readonly window: number) {
    ws.on('message', (data: Buffer) => {
      const r = decodeMsgpack(data) as IngestReply;
      const done = this.waiting.get(r.seq);
      this.waiting.delete(r.seq);
      done?.(r);
      this.slots.shift()?.();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      resolve();
    }));
  }

  static async connect(url: string, key: string, window = DEFAULT_WS_WINDOW, viaQuery = false): Promise<WsProducer> {
    const ws = new WebSocket(viaQuery ? `${url}?key=${encodeURIComponent(key)}` : url, viaQuery ? {} : { headers: { authorization: `Bearer ${key}` } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return new WsProducer(ws, window);
  }

  get inFlight(): number {
    return this.waiting.size;
  }

  /** Sends one frame once the window has room; resolves with its answer. */
  async send(events: readonly AdEvent[]): Promise<IngestReply> {
    while (this.waiting.size >= this.window) await new Promise<void>((r) => this.slots.push(r));
    return this.sendRaw(encodeMsgpack({ seq: this.seq, events }), this.seq++);
  }

  /** Sends bytes as frame `seq` without waiting for the window (tests of misbehaving clients). */
  sendRaw(frame: Buffer, seq: number): Promise<IngestReply> {
    const p = new Promise<IngestReply>((resolve) => this.waiting.set(seq, resolve));
    this.ws.send(frame, { binary: true });
    return p;
  }

  nextSeq(): number {
    return this.seq++;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    await this.closed;
  }

  whenClosed(): Promise<void> {
    return this.closed;
  }
}

export interface SimulateOptions {
  readonly url: string;
  readonly key: string;
  readonly transport: 'http' | 'ws';
  readonly format: Format;
  /** Target events per second. */
  readonly rate: number;
  readonly batch: number;
  readonly durationS?: number;
  readonly count?: number;
  readonly seed: number;
  readonly users: number;
  /** Concurrent requests (HTTP) or sockets (WS). */
  readonly connections: number;
  readonly progress?: (line: string) => void;
}

export interface SimulateReport {
  readonly sent: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly requests: number;
  readonly byStatus: Record<string, number>;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  readonly byType: Record<string, number>;
}

const pct = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

/** Sends model traffic at the target rate for a duration or a count; reports what was sent and acknowledged. */
export async function simulate(o: SimulateOptions): Promise<SimulateReport> {
  const model = new TrafficModel({ seed: o.seed, users: o.users });
  const total = o.count ?? Number.POSITIVE_INFINITY;
  const deadline = o.durationS === undefined ? Number.POSITIVE_INFINITY : Date.now() + o.durationS * 1000;
  let sent = 0;
  let reserved = 0; // events some lane is about to send: --count is never exceeded
  let accepted = 0;
  let requests = 0;
  const byStatus: Record<string, number> = {};
  const byType: Record<string, number> = {};
  const lat: number[] = [];
  const t0 = Date.now();
  let lastReport = t0;
  const ws = o.transport === 'ws' ? await Promise.all(Array.from({ length: o.connections }, () => WsProducer.connect(`${o.url.replace(/^http/, 'ws')}/v1/ingest`, o.key))) : [];

  const lane = async (i: number): Promise<void> => {
    for (;;) {
      // Pace: this batch may go once the rate allows sent + batch events by now.
      const n = Math.min(o.batch, total - reserved);
      if (n <= 0 || Date.now() >= deadline) return;
      reserved += n;
      const due = t0 + (reserved / o.rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (Date.now() >= deadline) return;
      const events = model.batch(n, Date.now());
      sent += n;
      for (const e of events) byType[e.type] = (byType[e.type] ?? 0) + 1;
      const start = performance.now();
      let status: string;
      try {
        if (o.transport === 'http') {
          const a = await postEvents(o.url, o.key, events, o.format);
          status = String(a.status);
          accepted += typeof a.body.accepted === 'number' ? a.body.accepted : 0;
        } else {
          const r = await ws[i]!.send(events);
          status = isNack(r) ? r.error.code : 'ack';
          accepted += r.accepted;
        }
      } catch (err) {
        status = `error: ${(err as Error).message}`;
      }
      lat.push(performance.now() - start);
      requests++;
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      if (o.progress && Date.now() - lastReport >= 1000) {
        lastReport = Date.now();
        o.progress(`sent ${sent}, accepted ${accepted} (${Math.round(sent / ((Date.now() - t0) / 1000))} events/s)`);
      }
    }
  };
  // HTTP: `connections` concurrent requests; WS: one lane per socket, each keeping its window full.
  const lanes = o.transport === 'http' ? o.connections : o.connections * (ws[0]?.window ?? 1);
  await Promise.all(Array.from({ length: lanes }, (_, i) => lane(o.transport === 'http' ? i : i % o.connections)));
  await Promise.all(ws.map((w) => w.close()));
  const seconds = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return {
    sent, accepted, rejected: sent - accepted, requests, byStatus, seconds,
    eventsPerSecond: Math.round(accepted / seconds),
    latencyMs: { p50: Math.round(pct(lat, 50) * 100) / 100, p99: Math.round(pct(lat, 99) * 100) / 100 },
    byType,
  };
}
