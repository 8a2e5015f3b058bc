/**
 * Validation of event model v1 (docs/events.md): one definition for the gateway, the actors and the
 * browser. Pure: the server time and the limits are parameters.
 */
import { EVENT_TYPES, type AdEvent, type EventType, type PropValue } from './event.js';

/** Size caps and the accepted event-time window. Every one is overridable by the gateway's config. */
export interface EventLimits {
  /** Max characters of `userId`. */
  readonly userIdMax: number;
  /** Max characters of `id`, `appId`, `campaignId`, `name`, and of a `props` key. */
  readonly shortStringMax: number;
  /** Max characters of a string value in `props`. */
  readonly propValueMax: number;
  /** Max keys in `props`. */
  readonly propsMaxKeys: number;
  /** `ts` may be at most this many ms before server time... */
  readonly tsPastMs: number;
  /** ...and at most this many ms after it (client clock skew). */
  readonly tsFutureMs: number;
  /** Max |value|. */
  readonly valueMaxAbs: number;
  /** Max events in one request or WebSocket frame. */
  readonly maxBatch: number;
}

export const DEFAULT_EVENT_LIMITS: EventLimits = {
  userIdMax: 128,
  shortStringMax: 64,
  propValueMax: 256,
  propsMaxKeys: 32,
  tsPastMs: 72 * 3600_000,
  tsFutureMs: 10 * 60_000,
  valueMaxAbs: 1e12,
  maxBatch: 1000,
};

/** One problem with one field of one event. `index` is the event's position in its batch. */
export interface FieldError {
  readonly index?: number;
  readonly field: string;
  readonly reason: string;
}

export type EventCheck = { readonly ok: true; readonly event: AdEvent } | { readonly ok: false; readonly errors: FieldError[] };

/** The fields of event model v1, in canonical order. Anything else is rejected (docs/events.md). */
export const EVENT_FIELDS = ['userId', 'type', 'name', 'ts', 'lat', 'lon', 'id', 'appId', 'campaignId', 'value', 'props'] as const;
const KNOWN = new Set<string>(EVENT_FIELDS);
const TYPES = new Set<string>(EVENT_TYPES);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof Date) && !(v instanceof Map);

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  if (typeof v === 'number' && !Number.isFinite(v)) return 'Infinity';
  if (ArrayBuffer.isView(v)) return 'binary';
  return typeof v;
}

function str(v: unknown, max: number, errors: FieldError[], field: string): string | undefined {
  if (typeof v !== 'string') {
    errors.push({ field, reason: `must be a string, got ${kindOf(v)}` });
    return undefined;
  }
  if (v.length === 0) {
    errors.push({ field, reason: 'must not be empty' });
    return undefined;
  }
  if (v.length > max) {
    errors.push({ field, reason: `must be at most ${max} characters, got ${v.length}` });
    return undefined;
  }
  return v;
}

function num(v: unknown, min: number, max: number, errors: FieldError[], field: string): number | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    errors.push({ field, reason: `must be a finite number, got ${kindOf(v)}` });
    return undefined;
  }
  if (v < min || v > max) {
    errors.push({ field, reason: `must be between ${min} and ${max}, got ${v}` });
    return undefined;
  }
  return v;
}

function props(v: unknown, limits: EventLimits, errors: FieldError[]): Record<string, PropValue> | undefined {
  if (!isPlainObject(v)) {
    errors.push({ field: 'props', reason: `must be a flat object, got ${kindOf(v)}` });
    return undefined;
  }
  const keys = Object.keys(v);
  if (keys.length > limits.propsMaxKeys) {
    errors.push({ field: 'props', reason: `must have at most ${limits.propsMaxKeys} keys, got ${keys.length}` });
    return undefined;
  }
  const out: Record<string, PropValue> = {};
  const before = errors.length;
  for (const k of keys) {
    const field = `props.${k.length > limits.shortStringMax ? `${k.slice(0, limits.shortStringMax)}…` : k}`;
    if (k.length === 0 || k.length > limits.shortStringMax) {
      errors.push({ field, reason: `key must be 1-${limits.shortStringMax} characters, got ${k.length}` });
      continue;
    }
    const value = v[k];
    if (typeof value === 'string') {
      if (value.length > limits.propValueMax) errors.push({ field, reason: `must be at most ${limits.propValueMax} characters, got ${value.length}` });
      else out[k] = value;
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) errors.push({ field, reason: `must be a finite number, got ${kindOf(value)}` });
      else out[k] = value;
    } else if (typeof value === 'boolean') {
      out[k] = value;
    } else {
      errors.push({ field, reason: `must be a string, number or boolean (props are flat), got ${kindOf(value)}` });
    }
  }
  return errors.length === before ? out : undefined;
}

/**
 * Checks one event against model v1 at server time `now` (epoch ms). On success the event is rebuilt
 * with only the model's fields, in canonical order: what reaches Kafka is exactly what was validated.
 */
export function validateEvent(raw: unknown, now: number, limits: EventLimits = DEFAULT_EVENT_LIMITS): EventCheck {
  if (!isPlainObject(raw)) return { ok: false, errors: [{ field: '(event)', reason: `must be an object, got ${kindOf(raw)}` }] };
  const errors: FieldError[] = [];
  for (const k of Object.keys(raw)) {
    if (!KNOWN.has(k)) errors.push({ field: k.length > 64 ? `${k.slice(0, 64)}…` : k, reason: 'unknown field (put extra attributes in props)' });
  }
  const userId = raw.userId === undefined ? (errors.push({ field: 'userId', reason: 'is required' }), undefined) : str(raw.userId, limits.userIdMax, errors, 'userId');

  let type: EventType | undefined;
  if (raw.type === undefined) errors.push({ field: 'type', reason: 'is required' });
  else if (typeof raw.type !== 'string' || !TYPES.has(raw.type)) errors.push({ field: 'type', reason: `must be one of ${EVENT_TYPES.join(', ')}` });
  else type = raw.type as EventType;

  let name: string | undefined;
  if (type === 'custom') {
    name = raw.name === undefined ? (errors.push({ field: 'name', reason: 'is required when type is custom' }), undefined) : str(raw.name, limits.shortStringMax, errors, 'name');
  } else if (raw.name !== undefined && type !== undefined) {
    errors.push({ field: 'name', reason: 'is only allowed when type is custom' });
  }

  let ts: number | undefined;
  if (raw.ts === undefined) errors.push({ field: 'ts', reason: 'is required' });
  else if (typeof raw.ts !== 'number' || !Number.isInteger(raw.ts)) errors.push({ field: 'ts', reason: `must be an integer epoch in milliseconds, got ${kindOf(raw.ts)}${typeof raw.ts === 'number' && Number.isFinite(raw.ts) ? ' with a fraction' : ''}` });
  else if (raw.ts < now - limits.tsPastMs || raw.ts > now + limits.tsFutureMs) {
    errors.push({ field: 'ts', reason: `must be within ${limits.tsPastMs / 1000} s before and ${limits.tsFutureMs / 1000} s after server time ${now}, got ${raw.ts}` });
  } else ts = raw.ts;

  const lat = raw.lat === undefined ? (errors.push({ field: 'lat', reason: 'is required' }), undefined) : num(raw.lat, -90, 90, errors, 'lat');
  const lon = raw.lon === undefined ? (errors.push({ field: 'lon', reason: 'is required' }), undefined) : num(raw.lon, -180, 180, errors, 'lon');
  const id = raw.id === undefined ? undefined : str(raw.id, limits.shortStringMax, errors, 'id');
  const appId = raw.appId === undefined ? undefined : str(raw.appId, limits.shortStringMax, errors, 'appId');
  const campaignId = raw.campaignId === undefined ? undefined : str(raw.campaignId, limits.shortStringMax, errors, 'campaignId');
  const value = raw.value === undefined ? undefined : num(raw.value, -limits.valueMaxAbs, limits.valueMaxAbs, errors, 'value');
  const p = raw.props === undefined ? undefined : props(raw.props, limits, errors);

  if (errors.length > 0 || userId === undefined || type === undefined || ts === undefined || lat === undefined || lon === undefined) {
    return { ok: false, errors };
  }
  // Canonical field order (EVENT_FIELDS): `name` sits between `type` and `ts`.
  const event: { -readonly [K in keyof AdEvent]: AdEvent[K] } = name === undefined ? { userId, type, ts, lat, lon } : { userId, type, name, ts, lat, lon };
  if (id !== undefined) event.id = id;
  if (appId !== undefined) event.appId = appId;
  if (campaignId !== undefined) event.campaignId = campaignId;
  if (value !== undefined) event.value = value;
  if (p !== undefined) event.props = p;
  return { ok: true, event };
}

/** The outcome of checking a batch: the valid events (with their indexes) and every error. */
export interface BatchCheck {
  readonly events: AdEvent[];
  readonly acceptedIndexes: number[];
  readonly errors: FieldError[];
}

/** A batch-level problem (not an array, empty, too many events): nothing in it is accepted. */
export class BatchShapeError extends Error {
  constructor(readonly code: 'GW_EMPTY_BATCH' | 'GW_BATCH_TOO_LARGE' | 'GW_BAD_BATCH', readonly reason: string) {
    super(reason);
    this.name = 'BatchShapeError';
  }
}

/**
 * Checks a decoded body: one event object or an array of events. Throws {@link BatchShapeError} for a
 * batch that cannot be taken at all; otherwise splits it into valid events and per-index errors.
 */
export function validateBatch(raw: unknown, now: number, limits: EventLimits = DEFAULT_EVENT_LIMITS, allowSingle = true): BatchCheck {
  let items: unknown[];
  if (Array.isArray(raw)) items = raw;
  else if (allowSingle && isPlainObject(raw)) items = [raw];
  else throw new BatchShapeError('GW_BAD_BATCH', `must be ${allowSingle ? 'an event object or ' : ''}an array of events, got ${kindOf(raw)}`);
  if (items.length === 0) throw new BatchShapeError('GW_EMPTY_BATCH', 'batch is empty');
  if (items.length > limits.maxBatch) throw new BatchShapeError('GW_BATCH_TOO_LARGE', `batch has ${items.length} events, the limit is ${limits.maxBatch}`);
  const events: AdEvent[] = [];
  const acceptedIndexes: number[] = [];
  const errors: FieldError[] = [];
  items.forEach((item, index) => {
    const r = validateEvent(item, now, limits);
    if (r.ok) {
      events.push(r.event);
      acceptedIndexes.push(index);
    } else {
      for (const e of r.errors) errors.push({ index, field: e.field, reason: e.reason });
    }
  });
  return { events, acceptedIndexes, errors };
}
