/**
 * Ingest wire formats (docs/gateway.md): what producers send to the gateway and what they get back,
 * over HTTP (`POST /v1/events`) and WebSocket (`WS /v1/ingest`, binary msgpack frames).
 */
import type { AdEvent } from './event.js';
import type { FieldError } from './validate.js';

/** Errors that cross the wire: plain data, rebuilt on the other side; branch on `code`. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
}

/** HTTP 200: every event of the request is in Kafka. */
export interface AcceptedResponse {
  readonly accepted: number;
}

/**
 * HTTP 400 for a batch with invalid events: the valid siblings (`acceptedIndexes`, `accepted` of them)
 * ARE durably in Kafka; resend only the events named in `errors`, fixed.
 */
export interface RejectedResponse extends WireError {
  readonly accepted: number;
  readonly acceptedIndexes: readonly number[];
  readonly errors: readonly FieldError[];
  /** Milliseconds to wait before retrying (429, 503). */
  readonly retryAfterMs?: number;
}

/** Client to server, one binary WebSocket message. `seq` is the client's, echoed in the answer. */
export interface IngestFrame {
  readonly seq: number;
  readonly events: readonly AdEvent[];
}

/** Server to client: every event of frame `seq` is in Kafka. */
export interface IngestAck {
  readonly seq: number;
  readonly accepted: number;
}

/**
 * Server to client: frame `seq` was not (entirely) taken. `accepted`/`acceptedIndexes` name the events
 * that ARE in Kafka; `error` says why the rest were not (`retriable` tells whether resending may work).
 */
export interface IngestNack {
  readonly seq: number;
  readonly accepted: number;
  readonly acceptedIndexes: readonly number[];
  readonly error: WireError;
  readonly errors: readonly FieldError[];
  readonly retryAfterMs?: number;
}

export type IngestReply = IngestAck | IngestNack;

export const isNack = (r: IngestReply): r is IngestNack => 'error' in r;

/** WebSocket close codes the gateway uses (4000-4999 is the application range). */
export const WS_CLOSE = {
  /** The client sent more frames than the window without waiting for acks. */
  WINDOW_EXCEEDED: 4008,
  /** The client does not read its acks: the server's send buffer for it is over the limit. */
  ACKS_NOT_READ: 4009,
  /** A frame that is not binary msgpack `{seq, events}`. */
  BAD_FRAME: 4000,
  /** The server is shutting down; reconnect (to another gateway). */
  GOING_AWAY: 1001,
} as const;

/** Default in-flight window of a WebSocket producer: frames sent but not yet acked. */
export const DEFAULT_WS_WINDOW = 16;
