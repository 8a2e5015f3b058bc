/** The HTTP query API (actors/model/query.ts), with the viewer key as a Bearer token. */
import type { QueryError } from '../../actors/model/query.js';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly retriable: boolean) {
    super(message);
  }
}

export type Params = Record<string, string | number | readonly string[] | undefined>;

/** Parameters given once per value (`app=a&app=b`), not comma-joined: app and campaign ids may hold commas. */
export const REPEATED_PARAMS: ReadonlySet<string> = new Set(['app', 'campaign']);

/**
 * `/v1/<path>?<params>`: arrays joined by commas (`types=click,install`) except {@link REPEATED_PARAMS},
 * repeated (an empty one is left out); undefined left out. Also what the test hooks show.
 */
export function queryString(path: string, params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (Array.isArray(v) && REPEATED_PARAMS.has(k)) for (const x of v as readonly string[]) q.append(k, x);
    else q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = q.toString();
  return `/v1/${path}${s ? `?${s}` : ''}`;
}

export async function getJson<T>(url: string, key: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}`, accept: 'application/json' }, ...(signal ? { signal } : {}) });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const e = body as Partial<QueryError> | undefined;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (text.slice(0, 200) || res.statusText), e?.retriable ?? res.status >= 500);
  }
  return body as T;
}
