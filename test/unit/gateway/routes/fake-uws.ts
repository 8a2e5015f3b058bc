/** Fakes of the few uWS request, response and socket calls the route modules make. */
import type { KeyRecord } from '../../../../gateway/keys.js';
import { Admission } from '../../../../gateway/routes/http.js';
import type { HttpHandler, Route } from '../../../../gateway/routes/table.js';
import type { HttpRequest, HttpResponse } from '../../../../gateway/uws.js';

export class FakeRes {
  status = '200 OK';
  readonly headers: Record<string, string> = {};
  body: string | undefined;
  ended = false;
  upgraded: unknown;
  private abort: (() => void) | undefined;
  private data: ((chunk: ArrayBuffer, isLast: boolean) => void) | undefined;

  writeStatus(s: string) {
    this.status = s;
    return this;
  }
  writeHeader(k: string, v: string) {
    this.headers[k] = v;
    return this;
  }
  end(body?: string | Uint8Array) {
    if (this.ended) throw new Error('answered twice');
    this.ended = true;
    this.body = body === undefined ? '' : typeof body === 'string' ? body : Buffer.from(body).toString();
    return this;
  }
  cork(f: () => void) {
    f();
    return this;
  }
  onAborted(f: () => void) {
    this.abort = f;
    return this;
  }
  onData(f: (chunk: ArrayBuffer, isLast: boolean) => void) {
    this.data = f;
    return this;
  }
  upgrade(user: unknown) {
    this.upgraded = user;
  }
  /** The client sends the body (in one chunk). */
  send(body: string | Buffer) {
    const b = Buffer.from(body);
    this.data?.(Uint8Array.from(b).buffer, true);
  }
  clientGone() {
    this.abort?.();
  }
  get code(): number {
    return Number(this.status.slice(0, 3));
  }
  json(): Record<string, unknown> {
    return JSON.parse(this.body ?? 'null') as Record<string, unknown>;
  }
}

export function fakeReq(o: { headers?: Record<string, string>; query?: string; url?: string } = {}): HttpRequest {
  const params = new URLSearchParams(o.query ?? '');
  return {
    getHeader: (k: string) => o.headers?.[k] ?? '',
    getQuery: (k?: string) => (k === undefined ? o.query : params.get(k) ?? undefined),
    getUrl: () => o.url ?? '/',
  } as unknown as HttpRequest;
}

export const asRes = (r: FakeRes) => r as unknown as HttpResponse;

export const KEYS: Record<string, KeyRecord> = {
  'ingest-key': { id: 'k-ingest', hash: '', scopes: ['ingest'], createdAt: '' },
  'view-key': { id: 'k-view', hash: '', scopes: ['view'], createdAt: '' },
};

/** Admission over the fixed {@link KEYS}. */
export const admission = new Admission({
  authenticate: (key) => (key === undefined ? { ok: false, reason: 'missing' } : KEYS[key] ? { ok: true, key: KEYS[key] } : { ok: false, reason: 'unknown' }),
});

/** The handler of a route by method and path. */
export function handler(routes: readonly Route[], method: 'get' | 'post' | 'any', path: string): HttpHandler {
  const r = routes.find((x) => x.method === method && x.path === path);
  if (!r || r.method === 'ws') throw new Error(`no ${method} ${path}`);
  return r.handler;
}

/** A socket route's handlers, as the tests call them (uWS types them as possibly async). */
export interface SocketHandlers {
  readonly maxBackpressure?: number;
  upgrade(res: HttpResponse, req: HttpRequest, context: unknown): void;
  open(ws: unknown): void;
  message(ws: unknown, message: ArrayBuffer, isBinary: boolean): void;
  drain?(ws: unknown): void;
  close(ws: unknown, code: number, message: ArrayBuffer): void;
}

export function behavior(routes: readonly Route[], path: string): SocketHandlers {
  const r = routes.find((x) => x.method === 'ws' && x.path === path);
  if (!r || r.method !== 'ws') throw new Error(`no ws ${path}`);
  return r.behavior as unknown as SocketHandlers;
}

/** A fake WebSocket: user data, what was sent, and how it ended. */
export class FakeWs<U> {
  readonly sent: Uint8Array[] = [];
  endedWith: [number, string] | undefined;
  buffered = 0;
  constructor(private readonly user: U) {}
  getUserData() {
    return this.user;
  }
  send(m: Uint8Array) {
    this.sent.push(new Uint8Array(m));
    return 1;
  }
  cork(f: () => void) {
    f();
  }
  end(code: number, reason: string) {
    this.endedWith = [code, reason];
  }
  getBufferedAmount() {
    return this.buffered;
  }
}
