import { isRetriable } from './errors.js';

export interface RetryOptions {
  /** Attempts in all, including the first. Infinity retries until a non-retriable error. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Called before each wait, e.g. to log. */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  readonly signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => {
    clearTimeout(t);
    reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  }, { once: true });
});

/** The one retry helper: exponential back-off with jitter; stops at once on a non-retriable error. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  let delay = opts.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetriable(err) || attempt >= opts.attempts || opts.signal?.aborted) throw err;
      const wait = Math.min(opts.maxDelayMs, delay) * (0.8 + Math.random() * 0.4);
      opts.onRetry?.(err, attempt, wait);
      await sleep(wait, opts.signal);
      delay = Math.min(opts.maxDelayMs, delay * 2);
    }
  }
}
