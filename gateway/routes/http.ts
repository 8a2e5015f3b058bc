/**
 * What every route module shares: JSON answers written once and corked, and the admission of a request's
 * API key (authentication and scope). Transport-thin: written against the few uWS calls they use, so the
 * route tests drive them with fakes.
 */
import { encode } from '../../actors/model/index.js';
import { GatewayError } from '../errors.js';
import { errorAnswer } from '../ingest.js';
import { keyFromRequest, type KeyRecord, type KeyStore, type Scope } from '../keys.js';
import type { HttpRequest, HttpResponse } from '../uws.js';

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: '200 OK', 400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found',
  413: '413 Payload Too Large', 415: '415 Unsupported Media Type', 429: '429 Too Many Requests',
  503: '503 Service Unavailable',
};

/** Whether the answer to a request may still be written (the client went away, or it was answered). */
export interface RequestState {
  aborted: boolean;
}

/**
 * Writes an answer, corked, unless the client went away; a request is answered once. JSON, or msgpack
 * when `msgpack` (the client's `Accept: application/msgpack`, see {@link wantsMsgpack}).
 */
export function reply(res: HttpResponse, state: RequestState, status: number, body: unknown, retryAfterS?: number, msgpack = false): void {
  if (state.aborted) return;
  state.aborted = true;
  res.cork(() => {
    res.writeStatus(STATUS_TEXT[status] ?? String(status));
    res.writeHeader('content-type', msgpack ? 'application/msgpack' : 'application/json');
    if (retryAfterS !== undefined) res.writeHeader('retry-after', String(retryAfterS));
    res.end(msgpack ? encode(body) : JSON.stringify(body));
  });
}

/** Whether an `Accept` header asks for msgpack. */
export const wantsMsgpack = (accept: string): boolean => /\bapplication\/(x-)?msgpack\b/i.test(accept);

/** `Retry-After` in whole seconds (at least 1) for an error that says when to retry. */
export const retryAfterOf = (err: GatewayError): number | undefined =>
  err.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(err.retryAfterMs / 1000));

/** Watches for the client going away; the returned state says whether an answer may still be written. */
export function watchAbort(res: HttpResponse): RequestState {
  const state: RequestState = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  return state;
}

export const NOT_FOUND = { code: 'GW_NOT_FOUND', message: 'no such endpoint', retriable: false } as const;

/** Admits API keys: authentication against the key store, then the scope the route needs. */
export class Admission {
  constructor(private readonly keys: Pick<KeyStore, 'authenticate'>) {}

  /** The key's record, or throws the refusal (401 unknown or missing key, 403 missing scope). */
  admit(key: string | undefined, scope: Scope): KeyRecord {
    const auth = this.keys.authenticate(key);
    if (!auth.ok) {
      throw new GatewayError('GW_UNAUTHENTICATED', auth.reason === 'missing'
        ? 'an API key is required: Authorization: Bearer <key>'
        : 'unknown or revoked API key');
    }
    if (!auth.key.scopes.includes(scope)) throw new GatewayError('GW_FORBIDDEN', `key ${auth.key.id} has no ${scope} scope (it has: ${auth.key.scopes.join(', ')})`);
    return auth.key;
  }

  /**
   * For requests whose key may come from the query string (WebSocket upgrades, the browser's GETs):
   * watches for an abort and admits the key, or answers the refusal (passing its status to `refused`)
   * and returns undefined.
   */
  request(res: HttpResponse, req: HttpRequest, scope: Scope, refused: (status: number) => void = () => undefined): { key: KeyRecord; state: RequestState } | undefined {
    const state = watchAbort(res);
    try {
      return { key: this.admit(keyFromRequest(req.getHeader('authorization'), req.getQuery('key')), scope), state };
    } catch (err) {
      const e = err as GatewayError;
      refused(e.status);
      const { status, body } = errorAnswer(e);
      reply(res, state, status, body);
      return undefined;
    }
  }
}
