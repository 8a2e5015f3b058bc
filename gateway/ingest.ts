/**
 * Pure request handling for ingest: content type, body decoding, batch validation, and the answer.
 * No server, no Kafka: the validation table in test/unit/gateway runs against these functions.
 */
import { Packr, Unpackr } from 'msgpackr';
import {
  BatchShapeError, scanEventBatch, scanEventFrame, validateBatch, wireEvent,
  type AcceptedResponse, type EventLimits, type FieldError, type RejectedResponse, type WireError, type WireEvent,
} from '../actors/model/index.js';
import { GatewayError } from './errors.js';

export type BodyKind = 'json' | 'msgpack';

// Records/structures extensions off: plain msgpack any client library reads and writes. 64-bit integers
// (what most msgpack libraries write for an epoch in ms) decode to numbers, not BigInt.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const packr = new Packr({ useRecords: false });

export const encodeMsgpack = (value: unknown): Buffer => packr.pack(value);
export const decodeMsgpack = (buf: Uint8Array): unknown => unpackr.unpack(buf);

/** `application/json` or `application/msgpack` (also `application/x-msgpack`), parameters ignored. */
export function bodyKind(contentType: string): BodyKind {
  const mime = contentType.split(';')[0]!.trim().toLowerCase();
  if (mime === 'application/json') return 'json';
  if (mime === 'application/msgpack' || mime === 'application/x-msgpack' || mime === 'application/vnd.msgpack') return 'msgpack';
  throw new GatewayError('GW_UNSUPPORTED_MEDIA_TYPE', `Content-Type must be application/json or application/msgpack, got "${contentType || '(none)'}"`);
}

const bodyError = (reason: string): GatewayError => new GatewayError('GW_BAD_BODY', reason, [{ field: '(body)', reason }]);

export function decodeBody(body: Uint8Array, kind: BodyKind): unknown {
  if (body.length === 0) throw bodyError('body is empty');
  try {
    if (kind === 'json') return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as unknown;
    return decodeMsgpack(body);
  } catch (err) {
    const e = err as Error;
    const why = e instanceof RangeError ? 'nested too deeply' : e.message;
    throw bodyError(`malformed ${kind === 'json' ? 'JSON' : 'msgpack'}: ${why}`);
  }
}

/** A request that may go to Kafka: the valid events (as bytes) and the errors of the others. */
export interface CheckedBatch {
  readonly total: number;
  readonly events: WireEvent[];
  /** The batch positions of `events`; only filled when some event was rejected. */
  readonly acceptedIndexes: number[];
  readonly errors: FieldError[];
}

/** The ordinary path: decoded and validated, each valid event encoded again on its own. */
function validated(raw: unknown, now: number, limits: EventLimits, allowSingle: boolean): Omit<CheckedBatch, 'total'> {
  const r = validateBatch(raw, now, limits, allowSingle);
  return { events: r.events.map(wireEvent), acceptedIndexes: r.errors.length > 0 ? r.acceptedIndexes : [], errors: r.errors };
}

function shape(err: unknown): never {
  if (err instanceof BatchShapeError) throw new GatewayError(err.code, err.reason, [{ field: '(batch)', reason: err.reason }]);
  throw err;
}

/**
 * Checks an HTTP ingest request. Throws {@link GatewayError} for what makes the whole request unusable
 * (415, 413, 400 for a bad body or batch); otherwise returns the valid events and per-event errors.
 * A msgpack batch whose events are all valid is checked in place (model wire.ts); any other takes the
 * ordinary path, which names every error.
 */
export function checkHttpBatch(contentType: string, body: Uint8Array, now: number, limits: EventLimits, maxBodyBytes: number): CheckedBatch {
  const kind = bodyKind(contentType);
  if (body.length > maxBodyBytes) throw new GatewayError('GW_BODY_TOO_LARGE', `body is ${body.length} bytes, the limit is ${maxBodyBytes}`);
  if (kind === 'msgpack') {
    const events = scanEventBatch(body, now, limits, true);
    if (events) return { total: events.length, events, acceptedIndexes: [], errors: [] };
  }
  const raw = decodeBody(body, kind);
  try {
    return { total: Array.isArray(raw) ? raw.length : 1, ...validated(raw, now, limits, true) };
  } catch (err) {
    return shape(err);
  }
}

/** A decoded WebSocket frame: its `seq` (always known, or the frame is unusable) and its checked events. */
export interface CheckedFrame extends CheckedBatch {
  readonly seq: number;
}

/** A frame that is not msgpack `{seq, events}` with an integer seq: the socket is closed (4000). */
export class BadFrameError extends Error {
  readonly code = 'GW_BAD_FRAME';
  constructor(reason: string) {
    super(reason);
    this.name = 'BadFrameError';
  }
}

/**
 * Checks one WebSocket frame. Throws {@link BadFrameError} when no `seq` can be read; throws
 * {@link GatewayError} (with the seq) for a frame whose batch is unusable as a whole.
 */
export function checkFrame(frame: Uint8Array, isBinary: boolean, now: number, limits: EventLimits): CheckedFrame {
  if (!isBinary) throw new BadFrameError('frames must be binary msgpack {seq, events}');
  const fast = scanEventFrame(frame, now, limits);
  if (fast) return { seq: fast.seq, total: fast.events.length, events: fast.events, acceptedIndexes: [], errors: [] };
  let raw: unknown;
  try {
    raw = decodeMsgpack(frame);
  } catch (err) {
    throw new BadFrameError(`malformed msgpack: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BadFrameError('a frame must be a msgpack map {seq, events}');
  const { seq, events } = raw as { seq?: unknown; events?: unknown };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw new BadFrameError('frame.seq must be a non-negative integer');
  try {
    return { seq, total: (events as unknown[]).length, ...validated(events, now, limits, false) };
  } catch (err) {
    if (err instanceof BatchShapeError) throw Object.assign(new GatewayError(err.code, err.reason, [{ field: 'events', reason: err.reason }]), { seq });
    throw err;
  }
}

/** The HTTP answer (status and body) once the valid events are durable. */
export function answer(batch: CheckedBatch): { status: number; body: AcceptedResponse | RejectedResponse } {
  if (batch.errors.length === 0) return { status: 200, body: { accepted: batch.events.length } };
  const rejected = batch.total - batch.events.length;
  return {
    status: 400,
    body: {
      code: 'GW_BAD_EVENT',
      message: `${rejected} of ${batch.total} events are invalid and were not accepted; the other ${batch.events.length} were`,
      retriable: false,
      accepted: batch.events.length,
      acceptedIndexes: batch.acceptedIndexes,
      errors: batch.errors,
    },
  };
}

/** The HTTP answer for an error that made the whole request fail: nothing was accepted. */
export function errorAnswer(err: GatewayError): { status: number; body: WireError & { accepted: 0; errors?: readonly FieldError[]; retryAfterMs?: number } } {
  return {
    status: err.status,
    body: {
      ...err.toWire(), accepted: 0,
      ...(err.errors.length > 0 ? { errors: err.errors } : {}),
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
    },
  };
}
