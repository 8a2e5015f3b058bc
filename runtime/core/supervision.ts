/** How a failing shard is restarted (runtime/shards.ts): back-off, and when its failure escalates. */
export interface SupervisionPolicy {
  /** Restarts allowed within `windowMs` before the failure escalates to the process. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_SUPERVISION: SupervisionPolicy = { maxRestarts: 5, windowMs: 60_000, initialBackoffMs: 200, maxBackoffMs: 10_000 };
