import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** The three servers AdME needs locally. */
export type ServerName = 'kafka' | 'cassandra' | 'ferretdb';
export const SERVER_NAMES: readonly ServerName[] = ['kafka', 'cassandra', 'ferretdb'];

/** Versions the stack provisions. Changing one re-provisions into a new cache folder. */
export const VERSIONS = {
  kafka: '4.1.1',
  log4j: '2.24.3',
  cassandra: '5.0.6',
  ferretdb: 'v1.24.2',
} as const;

export interface StackConfig {
  /** Project root (holds `stack/`), used to find the poms and the FerretDB wrapper. */
  readonly projectDir: string;
  /** Per-clone server data, logs and pid files. */
  readonly stateDir: string;
  /** Per-user cache of resolved jars and built binaries, shared by every clone. */
  readonly cacheDir: string;
  /**
   * Kafka brokers and Cassandra nodes the local stack runs (ADME_NODES, default 1). FerretDB is always
   * one server: it has no replica set.
   */
  readonly nodes: number;
  readonly kafka: {
    readonly brokers: string[]; readonly external: boolean;
    /** Listener and controller port of node 1; node n listens on `port + n - 1`, its controller on `controllerPort + n - 1`. */
    readonly port: number; readonly controllerPort: number; readonly heap: string;
  };
  readonly cassandra: {
    readonly contactPoints: string[]; readonly external: boolean;
    /**
     * The CQL and storage ports, the same on every node: node n listens on 127.0.0.n (the Node.js driver
     * reaches every peer on one native port, so nodes differ by address, not by port).
     */
    readonly port: number; readonly storagePort: number; readonly heap: string; readonly localDc: string;
  };
  readonly mongo: { readonly url: string; readonly external: boolean; readonly port: number };
  /** Explicit JDK 17 home, when auto-detection should be bypassed. */
  readonly javaHome: string | undefined;
  /** Seconds `up` waits for a server to answer its protocol before failing. */
  readonly bootTimeoutS: number;
  /** Seconds `down` waits after SIGTERM before SIGKILL. */
  readonly stopTimeoutS: number;
}

export class ConfigError extends Error {
  readonly code = 'CFG_BAD_VALUE';
  constructor(readonly variable: string, reason: string) {
    super(`${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}

/** Loopback addresses give at most this many Cassandra nodes a machine can tell apart cheaply; 9 is plenty. */
export const MAX_NODES = 9;

/** 1..n */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

/** Loopback address of local Cassandra node n (1-based): 127.0.0.n. */
export const cassandraHost = (node: number): string => `127.0.0.${node}`;

type Env = Readonly<Record<string, string | undefined>>;

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(name, `must be a port number 1-65535, got "${raw}"`);
  return n;
}

function seconds(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(name, `must be a positive number of seconds, got "${raw}"`);
  return n;
}

function heap(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[1-9][0-9]*[mMgG]$/.test(raw)) throw new ConfigError(name, `must look like 512m or 1g, got "${raw}"`);
  return raw;
}

function count(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ConfigError(name, `must be an integer from 1 to ${max}, got "${raw}"`);
  return n;
}

function list(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function dir(env: Env, name: string, fallback: string, base: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return isAbsolute(raw) ? raw : resolve(base, raw);
}

/** The file in which `up` remembers a cluster's node count, so later commands need no ADME_NODES. */
export const nodesFile = (stateDir: string): string => join(stateDir, 'nodes');

function rememberedNodes(stateDir: string): number | undefined {
  const f = nodesFile(stateDir);
  if (!existsSync(f)) return undefined;
  const n = Number(readFileSync(f, 'utf8').trim());
  return Number.isInteger(n) && n >= 1 && n <= MAX_NODES ? n : undefined;
}

/**
 * Reads the stack configuration from the environment. The node count is ADME_NODES, else what the last
 * `up --nodes` of this state dir remembered while that stack runs, else 1. Every value has a default; a server whose
 * address variable is set (KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS, MONGO_URL) is treated as external:
 * used, never started or stopped.
 */
export function loadStackConfig(projectDir: string, env: Env = process.env): StackConfig {
  const stateDir = dir(env, 'ADME_STATE_DIR', join(projectDir, '.adme'), projectDir);
  const nodes = count(env, 'ADME_NODES', rememberedNodes(stateDir) ?? 1, MAX_NODES);
  const kafkaPort = port(env, 'ADME_KAFKA_PORT', 9092);
  const controllerPort = port(env, 'ADME_KAFKA_CONTROLLER_PORT', kafkaPort + nodes);
  const cassandraPort = port(env, 'ADME_CASSANDRA_PORT', 9042);
  const storagePort = port(env, 'ADME_CASSANDRA_STORAGE_PORT', 7000);
  const mongoPort = port(env, 'ADME_MONGO_PORT', 27017);
  const cacheBase = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  const brokers = env.KAFKA_BROKERS ? list(env.KAFKA_BROKERS) : [];
  const contactPoints = env.CASSANDRA_CONTACT_POINTS ? list(env.CASSANDRA_CONTACT_POINTS) : [];
  if (env.KAFKA_BROKERS !== undefined && env.KAFKA_BROKERS !== '' && brokers.length === 0) {
    throw new ConfigError('KAFKA_BROKERS', 'must be a comma-separated list of host:port');
  }
  if (env.MONGO_URL && !/^mongodb(\+srv)?:\/\//.test(env.MONGO_URL)) {
    throw new ConfigError('MONGO_URL', `must start with mongodb:// or mongodb+srv://, got "${env.MONGO_URL}"`);
  }
  for (const [name, first] of [['ADME_KAFKA_PORT', kafkaPort], ['ADME_KAFKA_CONTROLLER_PORT', controllerPort]] as const) {
    if (first + nodes - 1 > 65535) throw new ConfigError(name, `${first} + ${nodes - 1} more nodes goes past port 65535`);
  }
  if (kafkaPort < controllerPort + nodes && controllerPort < kafkaPort + nodes) {
    throw new ConfigError('ADME_KAFKA_CONTROLLER_PORT', `${controllerPort}-${controllerPort + nodes - 1} overlaps the broker ports ${kafkaPort}-${kafkaPort + nodes - 1}`);
  }
  if (cassandraPort === storagePort) throw new ConfigError('ADME_CASSANDRA_STORAGE_PORT', `must differ from ADME_CASSANDRA_PORT (${cassandraPort})`);
  const many = nodes > 1;
  return {
    projectDir, nodes,
    stateDir,
    cacheDir: dir(env, 'ADME_CACHE_DIR', join(cacheBase, 'adme'), projectDir),
    kafka: {
      brokers: brokers.length > 0 ? brokers : range(nodes).map((n) => `127.0.0.1:${kafkaPort + n - 1}`),
      external: brokers.length > 0,
      port: kafkaPort,
      controllerPort,
      // Three brokers and three Cassandra nodes must fit in 8 GiB of RSS with room for AdME itself.
      heap: heap(env, 'ADME_KAFKA_HEAP', many ? '512m' : '1g'),
    },
    cassandra: {
      contactPoints: contactPoints.length > 0 ? contactPoints : range(nodes).map((n) => `${cassandraHost(n)}:${cassandraPort}`),
      external: contactPoints.length > 0,
      port: cassandraPort,
      storagePort,
      heap: heap(env, 'ADME_CASSANDRA_HEAP', many ? '768m' : '1g'),
      localDc: env.CASSANDRA_LOCAL_DC || 'datacenter1',
    },
    mongo: {
      url: env.MONGO_URL || `mongodb://127.0.0.1:${mongoPort}/`,
      external: Boolean(env.MONGO_URL),
      port: mongoPort,
    },
    javaHome: env.ADME_JAVA_HOME || undefined,
    bootTimeoutS: seconds(env, 'ADME_BOOT_TIMEOUT', 240),
    stopTimeoutS: seconds(env, 'ADME_STOP_TIMEOUT', 30),
  };
}

/** State folder of node n of a server that runs `nodes` nodes: `<server>/` alone, `<server>-<n>/` in a cluster. */
export function nodeDir(c: Pick<StackConfig, 'stateDir'>, name: ServerName, nodes: number, node: number): string {
  return join(c.stateDir, nodes === 1 ? name : `${name}-${node}`);
}
