import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_EVENT_LIMITS, DEFAULT_MAX_SEGMENTS_PER_CELL, DELTAS_TOPIC, EVENTS_TOPIC, LIVE_WINDOWS_S, type EventLimits } from '../actors/model/index.js';
import { GatewayConfigError } from './errors.js';
import type { TopicReplication } from './kafka.js';

/** Everything the ingestion gateway needs; every value has a default and an env var (docs/gateway.md). */
export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly brokers: readonly string[];
  readonly kafkaClientId: string;
  readonly topic: string;
  /** Partition count of the topic when the gateway creates it; the partitioner uses the topic's real count. */
  readonly partitions: number;
  /**
   * Replication of the topics the gateway creates (ADME_REPLICATION, ADME_MIN_INSYNC_REPLICAS); unset:
   * min(3, live brokers) and min ISR 2 from 3 replicas, as the runtime does.
   */
  readonly replication: TopicReplication;
  readonly keysFile: string;
  readonly limits: EventLimits;
  readonly maxBodyBytes: number;
  /** Micro-batcher: flush after this many ms... */
  readonly lingerMs: number;
  /** ...or as soon as this many events wait. */
  readonly flushEvents: number;
  /** A Kafka record (many events of one partition) is split before it exceeds this many bytes. */
  readonly maxRecordBytes: number;
  /** Bytes of accepted-but-unacknowledged requests above which new requests get 503 GW_OVERLOADED. */
  readonly maxInflightBytes: number;
  /** kafkajs request timeout for a produce, ms. */
  readonly produceTimeoutMs: number;
  /** Retry-After sent with 503, seconds. */
  readonly retryAfterS: number;
  /** WebSocket: frames in flight (sent, not acked) a client may have; twice this closes the socket. */
  readonly wsWindow: number;
  /** WebSocket: bytes of unread acks after which the socket is closed (4009). */
  readonly wsMaxBackpressure: number;
  /** Default per-key rate, events/s, and bucket size (keys may carry their own). */
  readonly keyRate: number;
  readonly keyBurst: number;
  /** uWS apps (one per worker thread) sharing the port; default {@link defaultGatewayThreads}. */
  readonly threads: number;
  /** The live view (`WS /v1/stream`, docs/api.md): actor deltas in, frames to viewers out. */
  readonly stream: {
    readonly deltasTopic: string;
    /** The actors' window length, ms (must match the runtime's ADME_WINDOW_MS). */
    readonly windowMs: number;
    /** Event time kept in memory and replayed from Kafka at start, ms (≥ the longest live window). */
    readonly horizonMs: number;
    readonly minFrameMs: number;
    readonly heartbeatMs: number;
    readonly maxBuffered: number;
    /** Distinct (app, campaign) pairs per (window, cell) in the live store; the rest count as "other". */
    readonly maxSegmentsPerCell: number;
    /** Windows this far behind every partition's newest window are frozen in the live store, ms. */
    readonly freezeMs: number;
  };
  /**
   * The privacy floor (ADME_PRIVACY_K, docs/api.md "Privacy floor"): a cell, segment or area with fewer
   * unique users than this is neither streamed nor answered at that precision; 0 turns it off.
   */
  readonly privacyK: number;
  /** The query API's MongoDB (undefined: the query endpoints answer 503). */
  readonly mongoUrl: string | undefined;
  readonly mongoDb: string;
  /**
   * The raw-event archive `/v1/events` reads (Cassandra, keyspace ADME_KEYSPACE); undefined when
   * ADME_ARCHIVE=off or no Cassandra is known: the endpoint answers 503.
   */
  readonly archive: { readonly contactPoints: readonly string[]; readonly localDc: string; readonly keyspace: string } | undefined;
  /** `/v1/events`: how long listings and block heads are reused (new blocks show up at most this late), decoded blocks kept. */
  readonly archiveCache: { readonly headsMs: number; readonly maxEvents: number };
  readonly queryMaxRows: number;
  readonly queryCacheMs: number;
  /** The built viewer (viz/dist) served at `/`. */
  readonly vizDir: string;
  /**
   * Room the gateway's V8 heap may grow over its live heap before the next full collection, as a percentage
   * (`ADME_GATEWAY_HEAP_GROWING_PERCENT`; 0 leaves V8's own factor), and at least `heapMinRoomMb`
   * (`ADME_GATEWAY_HEAP_MIN_ROOM_MB`). See heap-growth.ts.
   */
  readonly heapGrowingPercent: number;
  readonly heapMinRoomMb: number;
}

type Env = Readonly<Record<string, string | undefined>>;
type Flags = Readonly<Record<string, string | boolean | undefined>>;

function pick(env: Env, flags: Flags, name: string, flag: string | undefined): { raw: string; from: string } | undefined {
  const f = flag === undefined ? undefined : flags[flag];
  if (typeof f === 'string') return { raw: f, from: `--${flag}` };
  const e = env[name];
  if (e !== undefined && e !== '') return { raw: e, from: name };
  return undefined;
}

function int(env: Env, flags: Flags, name: string, flag: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = pick(env, flags, name, flag);
  if (!v) return fallback;
  const n = Number(v.raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new GatewayConfigError(v.from, `must be an integer ${min}-${max}, got "${v.raw}"`);
  return n;
}

function text(env: Env, flags: Flags, name: string, flag: string | undefined, fallback: string): string {
  return pick(env, flags, name, flag)?.raw ?? fallback;
}

/** The environment the CLI resolved: Kafka brokers and the per-clone state folder. */
export interface GatewayBase {
  readonly brokers: readonly string[];
  readonly stateDir: string;
  readonly mongoUrl?: string;
  readonly cassandra?: { readonly contactPoints: readonly string[]; readonly localDc: string };
}

/** viz/dist of this checkout, found from this module's place (it runs from gateway/ or dist/gateway/). */
function defaultVizDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'viz', 'dist');
}

function archiveOf(base: GatewayBase, env: Env, flags: Flags): GatewayConfig['archive'] {
  const on = text(env, flags, 'ADME_ARCHIVE', undefined, 'on');
  if (on !== 'on' && on !== 'off') throw new GatewayConfigError('ADME_ARCHIVE', `must be on or off, got "${on}"`);
  const keyspace = text(env, flags, 'ADME_KEYSPACE', undefined, 'adme');
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace)) throw new GatewayConfigError('ADME_KEYSPACE', `"${keyspace}" must match [a-z][a-z0-9_]{0,47}`);
  return on === 'on' && base.cassandra ? { ...base.cassandra, keyspace } : undefined;
}

/** Reads the gateway's configuration: flags win over env vars, which win over defaults. */
/** Default of ADME_PRIVACY_K: the k-anonymity threshold of aggregate reporting (docs/api.md). */
export const DEFAULT_PRIVACY_K = 10;

/**
 * uWS apps by default: one per core but one. With several, the main thread holds the process's live view
 * (the delta consumer, the live store and the frame clock every viewer waits on), and it needs a core of
 * its own: on 2 cores, with the stack beside it, two uWS threads starved it to half the frame rate
 * (docs/gateway.md, "Threads"). On 2 cores this is one thread, and the live view runs on it.
 */
export function defaultGatewayThreads(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

export function loadGatewayConfig(base: GatewayBase, env: Env = process.env, flags: Flags = {}): GatewayConfig {
  const topic = text(env, flags, 'ADME_EVENTS_TOPIC', 'topic', EVENTS_TOPIC);
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic)) throw new GatewayConfigError('ADME_EVENTS_TOPIC', `not a valid Kafka topic name: "${topic}"`);
  const keyRate = int(env, flags, 'ADME_KEY_RATE', undefined, 100_000, 1);
  const windowMs = int(env, flags, 'ADME_WINDOW_MS', undefined, 10_000, 1000, 3_600_000);
  // The longest live window by default: older ranges are answered from the MongoDB rollups, final by then.
  const horizonMs = int(env, flags, 'ADME_LIVE_HORIZON_S', undefined, Math.max(...LIVE_WINDOWS_S), 1, 86_400) * 1000;
  if (horizonMs < Math.max(...LIVE_WINDOWS_S) * 1000) throw new GatewayConfigError('ADME_LIVE_HORIZON_S', `must be at least the longest live window, ${Math.max(...LIVE_WINDOWS_S)} s`);
  // The runtime's allowed lateness (the same variable): a window it may still change is never frozen.
  const latenessMs = int(env, flags, 'ADME_LATENESS_MS', undefined, 30_000, 0, 86_400_000);
  const minFreezeMs = latenessMs + 2 * windowMs;
  const freezeMs = env.ADME_LIVE_FREEZE_S === undefined ? minFreezeMs + windowMs : int(env, flags, 'ADME_LIVE_FREEZE_S', undefined, 60, 1, 86_400) * 1000;
  if (freezeMs < minFreezeMs) throw new GatewayConfigError('ADME_LIVE_FREEZE_S', `must be at least the runtime's lateness plus two windows (ADME_LATENESS_MS + 2 × ADME_WINDOW_MS = ${minFreezeMs / 1000} s): deltas may still change a younger window`);
  const maxBatch = int(env, flags, 'ADME_MAX_BATCH', undefined, DEFAULT_EVENT_LIMITS.maxBatch, 1, 100_000);
  return {
    host: text(env, flags, 'ADME_HOST', 'host', '127.0.0.1'),
    port: int(env, flags, 'ADME_PORT', 'port', 8080, 0, 65535),
    brokers: base.brokers,
    kafkaClientId: text(env, flags, 'ADME_KAFKA_CLIENT_ID', undefined, 'adme-gateway'),
    topic,
    partitions: int(env, flags, 'ADME_PARTITIONS', 'partitions', 12, 1, 10_000),
    replication: {
      replicationFactor: env.ADME_REPLICATION ? int(env, flags, 'ADME_REPLICATION', undefined, 1, 1, 15) : undefined,
      minInsyncReplicas: env.ADME_MIN_INSYNC_REPLICAS ? int(env, flags, 'ADME_MIN_INSYNC_REPLICAS', undefined, 1, 1, 15) : undefined,
    },
    keysFile: text(env, flags, 'ADME_KEYS_FILE', 'keys-file', join(base.stateDir, 'keys.json')),
    limits: {
      ...DEFAULT_EVENT_LIMITS,
      maxBatch,
      tsPastMs: int(env, flags, 'ADME_TS_PAST_S', undefined, DEFAULT_EVENT_LIMITS.tsPastMs / 1000, 1) * 1000,
      tsFutureMs: int(env, flags, 'ADME_TS_FUTURE_S', undefined, DEFAULT_EVENT_LIMITS.tsFutureMs / 1000, 0) * 1000,
    },
    maxBodyBytes: int(env, flags, 'ADME_MAX_BODY_BYTES', undefined, 1024 * 1024, 1024, 64 * 1024 * 1024),
    lingerMs: int(env, flags, 'ADME_LINGER_MS', undefined, 2, 0, 1000),
    flushEvents: int(env, flags, 'ADME_FLUSH_EVENTS', undefined, 5000, 1),
    maxRecordBytes: int(env, flags, 'ADME_MAX_RECORD_BYTES', undefined, 900_000, 1024),
    maxInflightBytes: int(env, flags, 'ADME_MAX_INFLIGHT_BYTES', undefined, 64 * 1024 * 1024, 1024),
    produceTimeoutMs: int(env, flags, 'ADME_PRODUCE_TIMEOUT_MS', undefined, 5000, 100),
    retryAfterS: int(env, flags, 'ADME_RETRY_AFTER_S', undefined, 1, 1),
    wsWindow: int(env, flags, 'ADME_WS_WINDOW', undefined, 16, 1, 4096),
    wsMaxBackpressure: int(env, flags, 'ADME_WS_MAX_BACKPRESSURE', undefined, 1024 * 1024, 1024),
    keyRate,
    keyBurst: int(env, flags, 'ADME_KEY_BURST', undefined, keyRate * 2, 1),
    threads: int(env, flags, 'ADME_GATEWAY_THREADS', 'threads', defaultGatewayThreads(), 1, 64),
    stream: {
      deltasTopic: text(env, flags, 'ADME_DELTAS_TOPIC', undefined, DELTAS_TOPIC),
      windowMs,
      horizonMs,
      minFrameMs: int(env, flags, 'ADME_STREAM_MIN_FRAME_MS', undefined, 100, 10, 10_000),
      heartbeatMs: int(env, flags, 'ADME_STREAM_HEARTBEAT_MS', undefined, 1000, 100, 60_000),
      maxBuffered: int(env, flags, 'ADME_STREAM_MAX_BUFFERED', undefined, 4 * 1024 * 1024, 1024),
      maxSegmentsPerCell: int(env, flags, 'ADME_MAX_SEGMENTS_PER_CELL', undefined, DEFAULT_MAX_SEGMENTS_PER_CELL, 1, 65_536),
      freezeMs,
    },
    privacyK: int(env, flags, 'ADME_PRIVACY_K', 'privacy-k', DEFAULT_PRIVACY_K, 0, 1_000_000),
    mongoUrl: text(env, flags, 'ADME_MONGO_URL', undefined, base.mongoUrl ?? '') || undefined,
    mongoDb: text(env, flags, 'ADME_MONGO_DB', undefined, 'adme'),
    archive: archiveOf(base, env, flags),
    archiveCache: {
      headsMs: int(env, flags, 'ADME_ARCHIVE_CACHE_MS', undefined, 2000, 0, 600_000),
      maxEvents: int(env, flags, 'ADME_ARCHIVE_CACHE_EVENTS', undefined, 500_000, 0, 100_000_000),
    },
    queryMaxRows: int(env, flags, 'ADME_QUERY_MAX_ROWS', undefined, 2_000_000, 1),
    queryCacheMs: int(env, flags, 'ADME_QUERY_CACHE_MS', undefined, 1000, 0, 60_000),
    vizDir: text(env, flags, 'ADME_VIZ_DIR', undefined, defaultVizDir()),
    heapGrowingPercent: int(env, flags, 'ADME_GATEWAY_HEAP_GROWING_PERCENT', undefined, 30, 0, 1000),
    heapMinRoomMb: int(env, flags, 'ADME_GATEWAY_HEAP_MIN_ROOM_MB', undefined, 48, 1, 1_000_000),
  };
}
