/**
 * Errors of the runtime. Each has a stable `code` to branch on, says whether retrying can help
 * (`retriable`), and keeps its `cause`. Errors crossing a thread or the wire travel as {@link WireError}.
 */

export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
}

export class RuntimeError extends Error {
  constructor(readonly code: string, message: string, readonly retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeError';
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, retriable: this.retriable };
  }

  static fromWire(w: WireError): RuntimeError {
    return new RuntimeError(w.code, w.message, w.retriable);
  }
}

/** A writer lost its ownership: a newer owner holds a higher epoch. Never retried. */
export class FencedError extends RuntimeError {
  constructor(readonly resource: string, readonly ownEpoch: number, readonly currentEpoch: number | undefined) {
    super('RT_FENCED', `${resource}: write with epoch ${ownEpoch} rejected, current owner epoch is ${currentEpoch ?? 'unknown'}`, false);
    this.name = 'FencedError';
  }
}

/** Whether retrying `err` can help: runtime errors say so; anything else (I/O) is assumed transient. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof RuntimeError) return err.retriable;
  return true;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof RuntimeError) return err.toWire();
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : 'RT_INTERNAL', message: typeof e?.message === 'string' ? e.message : String(err), retriable: true };
}
