/**
 * The ports the runtime needs from the outside world. Adapters in ../adapters implement them over
 * Kafka, Cassandra and MongoDB; another engine only needs another adapter.
 */

/** One record of a partitioned log. */
export interface LogRecord {
  readonly offset: number;
  readonly value: Buffer;
}

/** What the partition source asks of its owner, once per fetched batch. */
export interface BatchResult {
  /**
   * The owner's next offset after the batch: the source continues there (seeking when it differs from
   * the end of the batch). Undefined when the batch was not processed: it is fetched again.
   */
  readonly nextOffset?: number;
}

export interface PartitionHandlers {
  /** The group gave this process `partitions` (complete new assignment). */
  onAssignment(partitions: readonly number[]): Promise<void>;
  /** A rebalance started: a chance to checkpoint before partitions move (an optimisation only). */
  onRebalancing(): Promise<void>;
  /**
   * Records of one partition, in order. Resolving lets the source fetch more for that partition.
   * `highWatermark`: the log's end when the batch was fetched, if the source knows it (how far behind).
   */
  onBatch(partition: number, records: readonly LogRecord[], heartbeat: () => Promise<void>, highWatermark?: number): Promise<BatchResult>;
}

/** A partitioned log read as a member of a consumer group (the group protocol is the placement service). */
export interface PartitionSource {
  start(handlers: PartitionHandlers): Promise<void>;
  /** Offset committed for monitoring tools only: never read back for recovery. */
  commitForMonitoring(partition: number, nextOffset: number): Promise<void>;
  /** Latest offset (high watermark) per partition, for lag. */
  highWatermarks(): Promise<Map<number, number>>;
  /**
   * Fetch nothing more of `partition` until `resume`, while the other partitions flow on (a batch already
   * fetched may still arrive). A member keeps its paused partitions across rebalances, as kafkajs does:
   * its owner resumes a partition it loses.
   */
  pause(partition: number): void;
  resume(partition: number): void;
  stop(): Promise<void>;
}

/** Appends records to explicit partitions of a topic. */
export interface RecordSink {
  send(topic: string, records: readonly { readonly partition: number; readonly value: Buffer }[]): Promise<void>;
  close(): Promise<void>;
}

/** What an owner got when it took a shard. */
export interface Acquired {
  readonly epoch: number;
  /** Next offset to process; 0 when the shard was never checkpointed. */
  readonly nextOffset: number;
  /** The state, as the named parts of the last checkpoint (empty when never checkpointed). */
  readonly parts: ReadonlyMap<string, Uint8Array>;
}

/**
 * Checkpoints of shard state and offset, committed together atomically, fenced by an ownership epoch.
 * State is a set of named parts; a part passed as `null` is unchanged since this owner's previous
 * successful save and is not written again — checkpoint cost follows what changed, not what is held.
 * `save` throws FencedError when another owner has bumped the epoch since `acquire`.
 */
export interface CheckpointStore {
  acquire(shard: string, owner: string): Promise<Acquired>;
  /**
   * `beforeCommit`: work the commit must wait for (e.g. the archive of the records below `nextOffset`),
   * done while the parts are written; if it fails, nothing is committed and `save` rejects with its error.
   */
  save(shard: string, epoch: number, nextOffset: number, parts: ReadonlyMap<string, Uint8Array | null>, beforeCommit?: Promise<unknown>): Promise<{ readonly bytesWritten: number }>;
  close(): Promise<void>;
}

export interface VersionedDoc {
  readonly _id: string;
  /** Lexicographically ordered version; a write applies only when it is ≥ the stored one. */
  readonly version: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface UpsertResult {
  readonly written: number;
  /** Writes refused because the stored document carries a newer version (replays, zombies). */
  readonly stale: number;
}

export interface InsertResult {
  readonly inserted: number;
  /** Documents whose `_id` was already present (a replay): left as they are. */
  readonly existing: number;
}

/** A document store with version-guarded absolute upserts and idempotent inserts. */
export interface DocStore {
  upsertVersioned(collection: string, docs: readonly VersionedDoc[]): Promise<UpsertResult>;
  /** Inserts documents with deterministic ids; ones already present are left as they are. */
  insertIdempotent(collection: string, docs: readonly Readonly<Record<string, unknown> & { _id: string }>[]): Promise<InsertResult>;
  deleteIds(collection: string, ids: readonly string[]): Promise<void>;
  ensureIndexes(collection: string, indexes: readonly { readonly key: Record<string, 1 | -1>; readonly name: string; readonly unique?: boolean }[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * One block of an archive of a log's records: what one owner's round took of one partition, for one
 * area and time bucket. Its key is (area, bucket, partition, firstOffset): a replay of the same round
 * writes the same key again, overwriting. The data is the owner's; the store neither knows nor cares.
 */
export interface ArchiveBlock {
  readonly area: string;
  /** Start of the time bucket, epoch ms. */
  readonly bucket: number;
  readonly partition: number;
  readonly firstOffset: number;
  /** The offset after the round's last record. */
  readonly endOffset: number;
  /** Items (events) in the block. */
  readonly count: number;
  readonly minTs: number;
  readonly maxTs: number;
  readonly data: Uint8Array;
}

/** Where a block is: enough to read it without its data (listing first, then fetching what is needed). */
export type ArchiveBlockHead = Omit<ArchiveBlock, 'data'>;

/**
 * A write-once-per-key store of archive blocks, expired after a retention. Blocks of one (area, bucket,
 * partition) are kept together, ordered by first offset; which (area, partition) pairs a bucket holds is
 * listed, so a reader of a time range needs no scan.
 */
export interface ArchiveStore {
  write(blocks: readonly ArchiveBlock[]): Promise<{ readonly bytesWritten: number }>;
  /** The (area, partition) pairs holding blocks in a bucket (in one area of it, when given), by area then partition. */
  list(bucket: number, area?: string): Promise<{ readonly area: string; readonly partition: number }[]>;
  /** The blocks of (area, bucket, partition) without their data, by first offset. */
  heads(area: string, bucket: number, partition: number): Promise<ArchiveBlockHead[]>;
  /** Blocks of (area, bucket, partition) with the given first offsets (all when omitted), by first offset. */
  read(area: string, bucket: number, partition: number, firstOffsets?: readonly number[]): Promise<ArchiveBlock[]>;
  close(): Promise<void>;
}
