/**
 * Query-string parsing of the HTTP query API (docs/api.md). Pure: every bad parameter becomes a
 * {@link QueryParamError} that names it and says what was expected.
 */
import { EVENT_TYPES, checkIds, SegmentFilterError, type Bbox, type EventType, type SegmentFilter } from '../../actors/model/index.js';

export class QueryParamError extends Error {
  readonly code = 'QUERY_BAD_PARAM';
  constructor(readonly param: string, message: string) {
    super(`${param}: ${message}`);
  }
}

export type Query = Readonly<Record<string, string | undefined>>;

export function parseQuery(qs: string): Query {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(qs)) out[k] = v;
  return out;
}

/** Epoch ms or an ISO 8601 date. */
export function time(q: Query, name: string, fallback: number): number {
  const raw = q[name];
  if (raw === undefined || raw === '') return fallback;
  const n = /^-?\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(n)) throw new QueryParamError(name, `expected epoch milliseconds or an ISO 8601 date, got "${raw}"`);
  return n;
}

export function int(q: Query, name: string, fallback: number, min: number, max: number): number {
  const raw = q[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new QueryParamError(name, `expected an integer ${min}-${max}, got "${raw}"`);
  return n;
}

export function num(q: Query, name: string, fallback: number, min: number): number {
  const raw = q[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new QueryParamError(name, `expected a number >= ${min}, got "${raw}"`);
  return n;
}

export function bbox(q: Query): Bbox | undefined {
  const raw = q.bbox;
  if (raw === undefined || raw === '') return undefined;
  const parts = raw.split(',').map(Number);
  if (parts.length !== 4 || !parts.every(Number.isFinite)) throw new QueryParamError('bbox', `expected west,south,east,north in degrees, got "${raw}"`);
  const [w, s, e, n] = parts as [number, number, number, number];
  if (Math.abs(w) > 180 || Math.abs(e) > 180) throw new QueryParamError('bbox', `longitudes must be within -180..180, got "${raw}"`);
  if (s < -90 || n > 90 || s > n) throw new QueryParamError('bbox', `latitudes must satisfy -90 <= south <= north <= 90, got "${raw}"`);
  return [w, s, e, n];
}

export function types(q: Query): EventType[] {
  const raw = q.types;
  if (raw === undefined || raw === '') return [...EVENT_TYPES];
  const out = raw.split(',').map((t) => t.trim());
  for (const t of out) if (!(EVENT_TYPES as readonly string[]).includes(t)) throw new QueryParamError('types', `unknown event type "${t}" (known: ${EVENT_TYPES.join(', ')})`);
  return out as EventType[];
}

const SPAN_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `window=`: a span such as `90s`, `15m`, `1h`, `1d`, or seconds without a unit; in ms. */
export function span(q: Query, name: string): number | undefined {
  const raw = q[name];
  if (raw === undefined || raw === '') return undefined;
  const m = /^(\d+)([smhd]?)$/.exec(raw.trim());
  if (!m) throw new QueryParamError(name, `expected a span such as 90s, 15m, 1h or 1d (seconds without a unit), got "${raw}"`);
  const ms = Number(m[1]) * SPAN_UNITS_MS[m[2] || 's']!;
  if (!(ms > 0)) throw new QueryParamError(name, `must be longer than 0, got "${raw}"`);
  return ms;
}

/**
 * A time range [from, to) with `to` defaulting to now and a bounded span; `window=` (a span) instead of
 * `from` means the last `window` before `to`.
 */
export function range(q: Query, now: number, defaultSpanMs: number, maxSpanMs: number): { from: number; to: number } {
  const to = time(q, 'to', now);
  const last = span(q, 'window');
  if (last !== undefined && q.from !== undefined) throw new QueryParamError('window', 'give from or window, not both');
  const from = last !== undefined ? to - last : time(q, 'from', to - defaultSpanMs);
  if (from >= to) throw new QueryParamError('from', `must be before to (from=${from}, to=${to})`);
  if (to - from > maxSpanMs) throw new QueryParamError('from', `the range is ${Math.round((to - from) / 1000)} s; at most ${maxSpanMs / 1000} s per request`);
  return { from, to };
}

/** The `app=` and `campaign=` parameters, each repeatable (ids may hold commas, so lists are not joined). */
export function segmentFilter(qs: string): SegmentFilter {
  const p = new URLSearchParams(qs);
  const ids = (name: string) => {
    try {
      return checkIds(p.getAll(name), name);
    } catch (err) {
      if (err instanceof SegmentFilterError) throw new QueryParamError(name, err.reason);
      throw err;
    }
  };
  return { apps: ids('app'), campaigns: ids('campaign') };
}
