/**
 * The contract between the shard host (shards.ts, main thread) and a shard logic (on its worker thread):
 * the messages a shard's `step` takes and the effects it returns. The host executes the port effects
 * (checkpoint saves, document writes, record sends, monitoring commits) and relays each outcome back as a
 * message carrying the effect's `tag`, as Akka's pipeTo does; effects it does not know (a logic's own,
 * such as metrics) go to the process's handler. Everything here is plain data.
 */
import type { WireError } from './core/errors.js';
import type { ArchiveBlock, InsertResult, UpsertResult, VersionedDoc } from './ports/ports.js';

/** What a shard starts from: its ownership and the last committed checkpoint (null when sinks are off). */
export interface ShardStart {
  readonly partition: number;
  readonly epoch: number;
  readonly nextOffset: number;
  readonly parts: readonly (readonly [string, Uint8Array])[];
  /** The logic's own configuration. */
  readonly config: unknown;
}

/** One write of a document batch; a `docs` effect runs its writes in order and stops at the first failure. */
export type DocWrite =
  | { readonly op: 'insert'; readonly collection: string; readonly docs: readonly (Record<string, unknown> & { _id: string })[] }
  | { readonly op: 'delete'; readonly collection: string; readonly ids: readonly string[] }
  | { readonly op: 'upsert'; readonly collection: string; readonly docs: readonly VersionedDoc[] };

export type DocWriteResult = InsertResult | UpsertResult | null;

/** Effects every shard logic may return; the host executes them. */
export type ShardPortEffect =
  /** The records delivered last are taken: fetching continues at `nextOffset` (a seek when it differs). */
  | { readonly type: 'accepted'; readonly nextOffset: number }
  /**
   * Save a checkpoint (parts as in CheckpointStore.save) at the shard's epoch, after writing `archive`
   * (blocks idempotent per key, written beside the parts; the commit waits for them). Outcome: `saved` or `failed`.
   */
  | { readonly type: 'save'; readonly tag: number; readonly nextOffset: number; readonly parts: readonly (readonly [string, Uint8Array | null])[]; readonly archive?: readonly ArchiveBlock[] }
  /** Outcome: `written` (one result per write) or `failed`. */
  | { readonly type: 'docs'; readonly tag: number; readonly writes: readonly DocWrite[] }
  /** Append records to a topic (`at`: when the logic asked, on its clock). Outcome: `sent` or `failed`. */
  | { readonly type: 'send'; readonly tag: number; readonly at: number; readonly topic: string; readonly records: readonly { readonly partition: number; readonly value: Uint8Array }[] }
  /** Commit `nextOffset` for monitoring tools (never read back); no outcome. */
  | { readonly type: 'commit'; readonly nextOffset: number }
  /** Answer to a `flush` message: everything up to now is durable (or nothing needed saving). */
  | { readonly type: 'flushed'; readonly tag: number }
  | { readonly type: 'log'; readonly message: string };

/** Messages the host sends a shard logic (besides its `init` input). */
export type ShardHostMsg =
  /** Fetched records; `behind`: records after them already in the log when they were fetched (0 if unknown). */
  | { readonly type: 'records'; readonly bytes: Uint8Array; readonly ends: Uint32Array; readonly offsets: Float64Array; readonly behind: number }
  | { readonly type: 'tick' }
  /**
   * Make the state durable now; answer with `flushed`. `full`: every open window's rollups too (a
   * graceful stop); otherwise the checkpoint, with the rollups that are due anyway (a rebalance: a
   * successor re-sends every cell it restores).
   */
  | { readonly type: 'flush'; readonly tag: number; readonly full: boolean }
  | { readonly type: 'saved'; readonly tag: number; readonly bytesWritten: number; readonly ms: number; readonly archive?: { readonly bytesWritten: number; readonly ms: number } }
  | { readonly type: 'written'; readonly tag: number; readonly results: readonly DocWriteResult[]; readonly ms: number }
  /** `waitMs`: from the send's `at` to the host starting it (the hop and the main thread's queue); `ms`: the send itself. */
  | { readonly type: 'sent'; readonly tag: number; readonly waitMs: number; readonly ms: number }
  /** A port effect failed. `error.code` RT_FENCED: a newer owner holds the partition. */
  | { readonly type: 'failed'; readonly tag: number; readonly error: WireError };
