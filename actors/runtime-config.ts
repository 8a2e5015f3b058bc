/** Configuration of an `adme runtime` process: every value has a default and an env variable. */
import { DEFAULT_BATCH_BYTES } from '../runtime/index.js';
import { BASE_PRECISION, DEFAULT_MAX_SEGMENTS_PER_CELL, DELTAS_TOPIC, EVENTS_TOPIC } from './model/index.js';
import { ENCODE_SLICE_CELLS, type ShardSettings } from './shard-logic.js';

/** Everything a runtime process is configured with; the shard cadences are the actors' own settings. */
export interface RuntimeConfig extends ShardSettings {
  readonly brokers: readonly string[];
  /** `batchBytes`: most blob bytes per unlogged batch (ADME_CASSANDRA_BATCH_KIB; runtime/adapters/cassandra.ts RowBatcher). */
  readonly cassandra: { readonly contactPoints: readonly string[]; readonly localDc: string; readonly keyspace: string; readonly batchBytes: number };
  readonly mongo: { readonly url: string; readonly database: string };
  /**
   * Replication of what this process creates (topics, keyspace) and the checkpoints' consistency.
   * Unset counts are derived from the cluster: min(3, brokers / nodes), min ISR 2 from 3 replicas.
   */
  readonly replication: { readonly factor: number | undefined; readonly minInsync: number | undefined; readonly consistency: 'quorum' | 'local_quorum' };
  readonly topic: string;
  readonly deltasTopic: string;
  readonly partitions: number;
  readonly groupId: string;
  readonly precision: number;
  readonly windowMs: number;
  /** Segments kept per cell and window (ADME_MAX_SEGMENTS_PER_CELL, as the gateway's). */
  readonly maxSegmentsPerCell: number;
  /** Unique users per segment as well as per cell (ADME_SEGMENT_REACH, default on). */
  readonly segmentReach: boolean;
  readonly allowedLatenessMs: number;
  readonly threads: number | undefined;
  /** Each shard thread's young generation, MiB (ADME_WORKER_YOUNG_MB; 0: V8's default). */
  readonly workerYoungMb: number;
  readonly host: string;
  readonly port: number;
  readonly sessionTimeoutMs: number;
  /** Retention of archived raw events, days (ADME_ARCHIVE_TTL_DAYS; 0 keeps them forever). */
  readonly archiveTtlDays: number;
  /** Bytes one fetch brings per partition: the size of a shard's step, so what it may hold its thread for. */
  readonly fetchPartitionBytes: number;
}

export class RuntimeConfigError extends Error {
  readonly code = 'RT_BAD_CONFIG';
  constructor(variable: string, reason: string) {
    super(`${variable}: ${reason}`);
    this.name = 'RuntimeConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function int(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new RuntimeConfigError(name, `must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}

function name(env: Env, variable: string, fallback: string, pattern: RegExp): string {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  if (!pattern.test(raw)) throw new RuntimeConfigError(variable, `"${raw}" does not match ${String(pattern)}`);
  return raw;
}

/** Reads the runtime configuration; server addresses come from the stack's (already resolved) config. */
export function loadRuntimeConfig(servers: { brokers: readonly string[]; contactPoints: readonly string[]; localDc: string; mongoUrl: string }, env: Env = process.env): RuntimeConfig {
  const sinks = env.ADME_SINKS ?? 'on';
  if (sinks !== 'on' && sinks !== 'off') throw new RuntimeConfigError('ADME_SINKS', `must be on or off, got "${sinks}"`);
  const archive = env.ADME_ARCHIVE ?? 'on';
  if (archive !== 'on' && archive !== 'off') throw new RuntimeConfigError('ADME_ARCHIVE', `must be on or off, got "${archive}"`);
  const segmentReach = env.ADME_SEGMENT_REACH ?? 'on';
  if (segmentReach !== 'on' && segmentReach !== 'off') throw new RuntimeConfigError('ADME_SEGMENT_REACH', `must be on or off, got "${segmentReach}"`);
  const threads = env.ADME_THREADS ? int(env, 'ADME_THREADS', 1, 1, 256) : undefined;
  const windowMs = int(env, 'ADME_WINDOW_MS', 10_000, 1000, 3_600_000);
  const consistency = env.ADME_CASSANDRA_CONSISTENCY || (env.CASSANDRA_LOCAL_DC ? 'local_quorum' : 'quorum');
  if (consistency !== 'quorum' && consistency !== 'local_quorum') throw new RuntimeConfigError('ADME_CASSANDRA_CONSISTENCY', `must be quorum or local_quorum, got "${consistency}"`);
  const factor = env.ADME_REPLICATION ? int(env, 'ADME_REPLICATION', 1, 1, 15) : undefined;
  const minInsync = env.ADME_MIN_INSYNC_REPLICAS ? int(env, 'ADME_MIN_INSYNC_REPLICAS', 1, 1, factor ?? 15) : undefined;
  return {
    brokers: servers.brokers,
    replication: { factor, minInsync, consistency },
    cassandra: { contactPoints: servers.contactPoints, localDc: servers.localDc, keyspace: name(env, 'ADME_KEYSPACE', 'adme', /^[a-z][a-z0-9_]{0,47}$/),
      batchBytes: int(env, 'ADME_CASSANDRA_BATCH_KIB', DEFAULT_BATCH_BYTES / 1024, 16, 65_536) * 1024 },
    mongo: { url: servers.mongoUrl, database: name(env, 'ADME_MONGO_DB', 'adme', /^[A-Za-z0-9_-]{1,63}$/) },
    topic: name(env, 'ADME_EVENTS_TOPIC', EVENTS_TOPIC, /^[A-Za-z0-9._-]{1,249}$/),
    deltasTopic: name(env, 'ADME_DELTAS_TOPIC', DELTAS_TOPIC, /^[A-Za-z0-9._-]{1,249}$/),
    partitions: int(env, 'ADME_PARTITIONS', 12, 1, 10_000),
    groupId: name(env, 'ADME_GROUP', 'adme-aggregators', /^[A-Za-z0-9._-]{1,249}$/),
    precision: int(env, 'ADME_PRECISION', BASE_PRECISION, 1, 9),
    windowMs,
    maxSegmentsPerCell: int(env, 'ADME_MAX_SEGMENTS_PER_CELL', DEFAULT_MAX_SEGMENTS_PER_CELL, 1, 65_536),
    segmentReach: segmentReach === 'on',
    allowedLatenessMs: int(env, 'ADME_LATENESS_MS', 30_000, 0, 86_400_000),
    checkpointEveryMs: int(env, 'ADME_CHECKPOINT_MS', 1000, 50, 600_000),
    checkpointEveryEvents: int(env, 'ADME_CHECKPOINT_EVENTS', 200_000, 1, 1e9),
    maxUncheckpointedEvents: int(env, 'ADME_MAX_UNCHECKPOINTED', 1_000_000, 1, 1e10),
    rollupEveryMs: int(env, 'ADME_ROLLUP_MS', 5000, 0, 600_000),
    openRollupEveryMs: int(env, 'ADME_OPEN_ROLLUP_MS', 30_000, 0, 3_600_000),
    deltaEveryMs: int(env, 'ADME_DELTA_MS', 100, 10, 60_000),
    encodeSliceCells: int(env, 'ADME_ENCODE_SLICE_CELLS', ENCODE_SLICE_CELLS, 1, 1e9),
    sinks: sinks === 'on',
    archive: archive === 'on',
    archiveTtlDays: int(env, 'ADME_ARCHIVE_TTL_DAYS', 30, 0, 7300),
    threads,
    workerYoungMb: int(env, 'ADME_WORKER_YOUNG_MB', 192, 0, 16_384),
    host: env.ADME_RUNTIME_HOST || '127.0.0.1',
    port: int(env, 'ADME_RUNTIME_PORT', 9464, 0, 65535),
    sessionTimeoutMs: int(env, 'ADME_SESSION_TIMEOUT_MS', 2000, 1000, 300_000),
    fetchPartitionBytes: int(env, 'ADME_FETCH_PARTITION_BYTES', 256 * 1024, 16 * 1024, 64 * 1024 * 1024),
  };
}
