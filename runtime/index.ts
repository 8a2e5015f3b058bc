/**
 * The AdME runtime: a small, general actor system (no AdME knowledge) plus the ports and adapters
 * it needs to host one actor per partition of a log.
 */
export { DEFAULT_SUPERVISION, type SupervisionPolicy } from './core/supervision.js';
export { ManualClock, monotonicClock, systemClock, type Clock, type Cancel } from './core/clock.js';
export { FencedError, RuntimeError, isRetriable, toWireError, type WireError } from './core/errors.js';
export { retry, type RetryOptions } from './core/retry.js';
export { Counter, Gauge, Histogram, Registry } from './core/metrics.js';
export { WorkerPool, compiledModuleUrl, type PoolOptions } from './pool/pool.js';
export type { Acquired, ArchiveBlock, ArchiveBlockHead, ArchiveStore, BatchResult, CheckpointStore, DocStore, InsertResult, LogRecord, PartitionHandlers, PartitionSource, RecordSink, UpsertResult, VersionedDoc } from './ports/ports.js';
export { SEND_ROUNDS, UnacknowledgedPartitionsError, sendAcknowledged, type AcknowledgedBatch, type BatchProducer } from './produce.js';
export { KafkaGroupSource, KafkaRecordSink, ensureTopics, kafkaClient, topicReplication, type GroupSourceOptions, type KafkaOptions, type RecordSinkOptions, type TopicReplication } from './adapters/kafka.js';
export { CassandraArchiveStore, CassandraCheckpointStore, DEFAULT_BATCH_BYTES, RowBatcher, cassandraClient, ensureKeyspace, isBatchTooLarge, type ArchiveOptions, type CassandraOptions, type CheckpointConsistency } from './adapters/cassandra.js';
export { MongoDocStore } from './adapters/mongo.js';
export { ShardHost, packRecords, type ShardHostOptions } from './shards.js';
export { isSelfMessage, stepThrough, type ActorLogic, type LogicModule, type SelfMessage } from './core/logic.js';
export { ActorThreads, type ActorThreadsOptions, type PlacedActorHandlers, type ThreadStats } from './pool/actor-threads.js';
export type { LoopStats } from './pool/protocol.js';
export type { DocWrite, DocWriteResult, ShardHostMsg, ShardPortEffect, ShardStart } from './shard-protocol.js';
export { FaultInjector, MemoryArchiveStore, MemoryCheckpointStore, MemoryDocStore, MemoryLog, MemoryPartitionSource, MemoryRecordSink, type CommittedCheckpoint, type MemoryLogOptions } from './adapters/memory.js';
