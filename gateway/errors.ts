import type { FieldError, WireError } from '../actors/model/index.js';

/** Stable codes of gateway errors: clients branch on these, never on messages. */
export type GatewayErrorCode =
  | 'GW_BAD_EVENT'
  | 'GW_BAD_BODY'
  | 'GW_BAD_BATCH'
  | 'GW_EMPTY_BATCH'
  | 'GW_BATCH_TOO_LARGE'
  | 'GW_BODY_TOO_LARGE'
  | 'GW_UNSUPPORTED_MEDIA_TYPE'
  | 'GW_UNAUTHENTICATED'
  | 'GW_FORBIDDEN'
  | 'GW_RATE_LIMITED'
  | 'GW_KAFKA_UNAVAILABLE'
  | 'GW_OVERLOADED'
  | 'GW_NOT_FOUND';

const STATUS: Readonly<Record<GatewayErrorCode, number>> = {
  GW_BAD_EVENT: 400,
  GW_BAD_BODY: 400,
  GW_BAD_BATCH: 400,
  GW_EMPTY_BATCH: 400,
  GW_BATCH_TOO_LARGE: 413,
  GW_BODY_TOO_LARGE: 413,
  GW_UNSUPPORTED_MEDIA_TYPE: 415,
  GW_UNAUTHENTICATED: 401,
  GW_FORBIDDEN: 403,
  GW_RATE_LIMITED: 429,
  GW_KAFKA_UNAVAILABLE: 503,
  GW_OVERLOADED: 503,
  GW_NOT_FOUND: 404,
};

const RETRIABLE = new Set<GatewayErrorCode>(['GW_RATE_LIMITED', 'GW_KAFKA_UNAVAILABLE', 'GW_OVERLOADED']);

/** An answer other than success: HTTP status, stable code, whether retrying may help, and field errors. */
export class GatewayError extends Error {
  readonly status: number;
  readonly retriable: boolean;
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly errors: readonly FieldError[] = [],
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatewayError';
    this.status = STATUS[code];
    this.retriable = RETRIABLE.has(code);
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, retriable: this.retriable };
  }
}

/** Kafka did not acknowledge a produce: the events it carried are NOT accepted. */
export class KafkaUnavailableError extends GatewayError {
  constructor(message: string, retryAfterMs: number, cause?: unknown) {
    super('GW_KAFKA_UNAVAILABLE', message, [], retryAfterMs, { cause });
    this.name = 'KafkaUnavailableError';
  }
}

/** A configuration value that cannot be used; names the variable (or flag) and the reason. */
export class GatewayConfigError extends Error {
  readonly code = 'GW_BAD_CONFIG';
  constructor(readonly variable: string, reason: string) {
    super(`${variable}: ${reason}`);
    this.name = 'GatewayConfigError';
  }
}
