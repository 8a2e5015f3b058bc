/**
 * `adme bench runtime`: the aggregation end to end, producer → Kafka → shard actors → Cassandra
 * checkpoints + MongoDB rollups (+ deltas to Kafka), with the runtime in its own process.
 *
 *  1. throughput (after an unmeasured warm-up catch-up of the servers): N events pre-produced, then one
 *     runtime catches up; events/s from its start to lag 0,
 *     once with checkpoints and rollups (sinks on) and once without (the baseline, same run), and once
 *     more with sinks on over the same events without app and campaign (what segments cost);
 *     The same events are also decoded and validated, then folded into a shard's state, in this process
 *     with no Kafka at all: the floor of what a runtime spends;
 *  2. latency: a producer at fixed rates (default 20k and 50k events/s), each record stamped with its
 *     send time; a consumer of the delta topic measures the age of the oldest event folded into each
 *     delta; the runtime's main-thread and worker-thread event-loop delays over the same interval;
 *  3. failover: two runtimes under load, one killed with kill -9: time until the survivor owns its
 *     partitions and has processed everything produced before the kill; several runs, median and worst.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { emptyState } from '../actors/logic.js';
import { DEFAULT_EVENT_LIMITS, decode, packEventRecords, validateEvent, type AdEvent, type DeltaRecord, type EventBatchRecord } from '../actors/model/index.js';
import { foldRecords, type AggregationConfig } from '../actors/fold.js';
import { MongoDocStore, cassandraClient, packRecords } from '../runtime/index.js';
import { rng } from './gateway-traffic.js';
import { SERVERS, SERVER_NAMES, pidOf, type StackConfig } from '../stack/index.js';
import { cpuUs, cpuUsOf, nodeArgsFrom } from './proc.js';
import { benchTopics } from './topics.js';

export interface RuntimeBenchOptions {
  readonly stack: StackConfig;
  readonly projectDir: string;
  readonly events: number;
  readonly partitions: number;
  /** Offered rates of the latency runs, events/s. */
  readonly rates: readonly number[];
  readonly latencySeconds: number;
  /**
   * Seconds of the same load offered before each latency run is measured: a runtime that just started on
   * an empty topic has a cold JIT and small heaps, and its first seconds under load (0.4–0.8 s delta ages
   * where the rest of the run has 0.15–0.3 s) are its start-up, not its steady latency. Undefined: 0.
   */
  readonly latencyWarmupSeconds?: number;
  /** kill -9 failover runs. */
  readonly failovers: number;
  /**
   * A peer's run script (the Kafka Streams peer's `run.sh`), run on the same broker right after the
   * sinks-on run, so the ratio to it is measured in one run; undefined: no peer.
   */
  readonly peer?: string;
  /** Events of the unmeasured sinks-on warm-up before the throughput runs (0: none). */
  readonly warmupEvents: number;
  readonly progress: (line: string) => void;
}

/** The peer's own report (the JSON line its run script prints), as far as the bench reads it. */
export interface PeerRun {
  readonly peer: string;
  readonly topology?: string;
  readonly guarantee?: string;
  readonly eventsPerSecond: number;
  readonly seconds: number;
  readonly cpuCores?: number;
  readonly brokerCpuSeconds?: number;
}

export interface LatencyRun {
  readonly rate: number;
  readonly achievedRate: number;
  readonly deltas: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Checkpoint bytes written per partition per second while the load ran. */
  readonly checkpointBytesPerPartitionSecond: number;
  /** Event-loop delay of the runtime's main (I/O) thread over the run: p99 and max, ms. */
  readonly mainLoop: { readonly p99Ms: number; readonly maxMs: number };
  /** The same for each worker thread. */
  readonly workerLoops: readonly { readonly thread: number; readonly p99Ms: number; readonly maxMs: number; readonly busy: number }[];
  readonly runtimeCpuCores: number;
  /**
   * Where the age goes, from the runtime's own histograms over the run (bucket bounds, ms: "≤ x"):
   * accepted → its batch folded into the shard's state, and accepted → its delta in Kafka.
   */
  /**
   * The runtime's own histograms over the run, as the bucket bound holding the quantile: accepted →
   * folded and → delta in Kafka; a delta's wait for the main thread, and its send to the acknowledgement.
   */
  readonly stages: {
    readonly foldP50Ms: number; readonly foldP99Ms: number; readonly deltaP50Ms: number; readonly deltaP99Ms: number;
    readonly waitP99Ms: number; readonly sendP99Ms: number;
  };
}

/** The same events folded in one thread with no Kafka and no I/O. */
export interface FoldAlone {
  readonly events: number;
  /** msgpack decode and validation of the events only: the floor under any fold. */
  readonly decodeUsPerEvent: number;
  /** Decode, validation, geohash, hashing and the fold into a shard's state: what a shard does per event. */
  readonly foldUsPerEvent: number;
}

export interface RuntimeBenchResult {
  readonly machine: string;
  readonly events: number;
  readonly partitions: number;
  readonly produce: { readonly eventsPerSecond: number };
  readonly sinksOn: ThroughputRun;
  readonly sinksOff: ThroughputRun;
  readonly checkpointTax: number;
  /** Sinks on, the same events without app and campaign: what segments cost. */
  readonly noSegments: ThroughputRun;
  readonly segmentRatio: number;
  readonly fold: FoldAlone;
  /** The peer right after the sinks-on run, and AdME durable ÷ the peer; null without `--peer`. */
  readonly peer: (PeerRun & { readonly ratio: number }) | null;
  readonly latency: readonly LatencyRun[];
  readonly failover: {
    readonly sessionTimeoutMs: number;
    /** Per run: kill → the survivor owns every partition; kill → it has processed all produced before the kill. */
    /** caughtUpMs null: not within {@link FAILOVER_LIMIT_MS} (the run goes on with the next failover). */
    readonly runs: readonly { readonly ownedMs: number; readonly caughtUpMs: number | null }[];
    /** Infinity when more than half the runs did not catch up in time. */
    readonly medianMs: number;
    readonly worstMs: number;
  };
}

export interface ThroughputRun {
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly runtimeCpuCores: number;
  readonly checkpointBytesMax: number;
  readonly checkpointBytesMean: number;
  readonly checkpointMsMean: number;
  readonly encodeMsMean: number;
  readonly checkpoints: number;
  readonly rollupDocs: number;
  /** Mean time of a round's rollup (and late and invalid event) writes to MongoDB. */
  readonly rollupMsMean: number;
  /** What the raw-event archive wrote: events (a round written again after a failure counts again), blocks, bytes. */
  readonly archive: { readonly events: number; readonly blocks: number; readonly bytes: number };
  /** Runtime CPU time per event, µs. */
  readonly cpuUsPerEvent: number;
  /** CPU time per event of each local stack server over the run (kafka, cassandra, ferretdb), µs. */
  readonly serverUsPerEvent: Record<string, number>;
}

/** The stack's local server processes, every node of each, by name: what the sinks cost on this box. */
function serverPids(stack: StackConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const server of SERVER_NAMES) {
    const pids = Array.from({ length: SERVERS[server].nodes(stack) }, (_, i) => pidOf(stack, { server, node: i + 1 })).filter((p): p is number => p !== undefined);
    if (pids.length > 0) out.set(server, pids);
  }
  return out;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function metricValues(text: string, name: string): number[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Apps and campaigns of the bench events: every user is in one app; each hot spot runs three campaigns. */
const BENCH_APPS = 8;
const BENCH_CAMPAIGNS = 40;

/**
 * Deterministic events: users moving around a few dozen hot spots, time advancing with the index. With
 * `segments`, events name an app (the user's) and, but for one user in ten, a campaign of their spot; the
 * same seed without them gives the same events minus those two fields (the segment cost's baseline).
 */
export function* eventStream(seed: number, startTs: number, eventsPerSecondOfEventTime: number, segments = true): Generator<AdEvent> {
  const r = rng(seed);
  const spots = Array.from({ length: 40 }, (_, i) => ({ lat: -40 + ((i * 37) % 80) + r(), lon: -170 + ((i * 71) % 340) + r() }));
  const types = ['impression', 'impression', 'impression', 'impression', 'impression', 'impression', 'click', 'session_start', 'install', 'purchase'] as const;
  for (let i = 0; ; i++) {
    const spot = Math.floor(r() * r() * spots.length);
    const s = spots[spot]!;
    const type = types[Math.floor(r() * types.length)]!;
    const user = Math.floor(r() * 200_000);
    const segment = !segments ? {} : {
      appId: `app-${user % BENCH_APPS}`,
      ...(user % 10 === 0 ? {} : { campaignId: `cmp-${(spot * 3 + (user % 3)) % BENCH_CAMPAIGNS}` }),
    };
    yield {
      userId: `u${user}`, type, ts: startTs + Math.floor((i * 1000) / eventsPerSecondOfEventTime),
      lat: s.lat + (r() - 0.5) * 0.3, lon: s.lon + (r() - 0.5) * 0.3,
      ...(r() < 0.1 ? { id: `b${seed}-${i}` } : {}), ...(type === 'purchase' ? { value: 4.99 } : {}), ...segment,
    };
  }
}

/** Packs events into records (per partition, `perRecord` each) the way the gateway does. */
function records(events: readonly AdEvent[], partitions: number, perRecord: number, at: number): { partition: number; value: Buffer }[] {
  return packEventRecords(events, partitions, perRecord, at).map((r) => ({ partition: r.partition, value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength) }));
}

interface Proc {
  readonly child: ChildProcess;
  readonly port: number;
  readonly log: string[];
  metrics(): Promise<string>;
  healthz(): Promise<{ partitions: number[]; positions: Record<string, number | null> }>;
}

async function startRuntime(o: RuntimeBenchOptions, env: Record<string, string>): Promise<Proc> {
  // Extra node flags for the runtime process only (e.g. --cpu-prof while profiling a scenario).
  const nodeArgs = nodeArgsFrom('ADME_BENCH_RUNTIME_NODE_ARGS');
  const child = spawn(process.execPath, [...nodeArgs, join(o.projectDir, 'bin', 'adme.js'), 'runtime', '--no-stack', '--port', '0'],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const on = (b: Buffer) => log.push(...b.toString().split('\n').filter(Boolean));
  child.stdout?.on('data', on);
  child.stderr?.on('data', on);
  for (let i = 0; i < 600; i++) {
    const m = log.map((l) => /listening on http:\/\/[\d.]+:(\d+)/.exec(l)).find(Boolean);
    if (m) {
      const port = Number(m[1]);
      return {
        child, port, log,
        metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
        healthz: async () => (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { partitions: number[]; positions: Record<string, number | null> },
      };
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`runtime did not start:\n${log.slice(-20).join('\n')}`);
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const done = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await done;
}

async function highWatermarks(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((x) => [x.partition, Number(x.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Runs a peer's script with the bench's broker, event count and partitions (the Kafka Streams peer's
 * variables: BROKERS, ADME_DIR, EVENTS, PARTITIONS; TOPOLOGY per-partition, AdME's lateness semantics,
 * unless set), its progress passed through; returns the JSON line it prints last.
 */
async function runPeer(o: RuntimeBenchOptions, script: string): Promise<PeerRun> {
  const env = {
    ...process.env, BROKERS: o.stack.kafka.brokers.join(','), ADME_DIR: o.projectDir, EVENTS: String(o.events), PARTITIONS: String(o.partitions),
    TOPOLOGY: process.env.TOPOLOGY ?? 'per-partition',
  };
  const child = spawn('bash', [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  let partial = '';
  child.stderr.on('data', (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) o.progress(`  ${l.replace(/\x1b\[[0-9;]*m/g, '')}`);
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const last = out.trim().split('\n').pop() ?? '';
  let r: PeerRun;
  try {
    r = JSON.parse(last) as PeerRun;
  } catch {
    throw new Error(`the peer (${script}) exited with ${code} without its JSON line; its output ended with: ${out.slice(-500)}`);
  }
  if (!(r.eventsPerSecond > 0)) throw new Error(`the peer (${script}) reported no events/s: ${last}`);
  return r;
}

/** Polls until every partition's position reaches its high watermark; returns when. */
async function caughtUp(p: Proc, hw: Map<number, number>, partitions: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const h = await p.healthz().catch(() => undefined);
    if (h && h.partitions.length === partitions && h.partitions.every((x) => (h.positions[String(x)] ?? -1) >= (hw.get(x) ?? 0))) return Date.now();
    await sleep(100);
  }
  throw new Error(`runtime did not catch up within ${timeoutMs} ms`);
}

/** Waits until the group's committed offsets (written after checkpoint + rollups) reach `hw`. */
async function committedUpTo(kafka: Kafka, groupId: string, topic: string, hw: Map<number, number>, timeoutMs: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      if (t && t.partitions.every((p) => Number(p.offset) >= (hw.get(p.partition) ?? 0))) return Date.now();
      await sleep(200);
    }
    throw new Error(`checkpoints did not reach the end within ${timeoutMs} ms`);
  } finally {
    await admin.disconnect();
  }
}

/** The keyspace (and database) a throughput run named `name` over `topic` writes to. */
export const runStore = (topic: string, name: string): string => `${topic.replace(/\W/g, '_')}_${name}`;

/** Drops what bench runs left behind: Cassandra keyspaces `keyspaces` and MongoDB databases `databases`. */
export async function dropRunStores(stack: StackConfig, keyspaces: readonly string[], databases: readonly string[] = []): Promise<void> {
  const cql = cassandraClient({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc });
  await cql.connect();
  for (const k of keyspaces) await cql.execute(`DROP KEYSPACE IF EXISTS ${k}`).catch(() => undefined);
  await cql.shutdown();
  for (const d of databases) {
    const docs = await MongoDocStore.open(stack.mongo.url, d);
    await docs.database.dropDatabase().catch(() => undefined);
    await docs.close();
  }
}

/**
 * Drops everything a bench run named after `topic` created: its topics (`topic` and every `topic.*`), and
 * the keyspaces and databases named after them. Left behind, a few sessions of runs grew the local stack
 * by tens of GiB and kept live keyspaces that Cassandra tends (docs/BENCHMARKS.md, issue 11 this session).
 * `ADME_BENCH_KEEP=1` keeps them for inspection.
 */
export async function dropBenchRun(stack: StackConfig, kafka: Kafka, topic: string, progress: (m: string) => void): Promise<void> {
  if (process.env.ADME_BENCH_KEEP === '1') return;
  const prefix = topic.replace(/\W/g, '_');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t === topic || t.startsWith(`${topic}.`) || t.startsWith(`${topic}-`));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
  const cql = cassandraClient({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc });
  await cql.connect();
  const keyspaces = (await cql.execute('SELECT keyspace_name FROM system_schema.keyspaces')).rows.map((r) => r.get('keyspace_name') as string).filter((k) => k.startsWith(prefix));
  await cql.shutdown();
  const docs = await MongoDocStore.open(stack.mongo.url, 'admin');
  const databases = (await docs.database.admin().listDatabases()).databases.map((d) => d.name).filter((d) => d.startsWith(prefix));
  await docs.close();
  await dropRunStores(stack, keyspaces, databases);
  progress(`dropped this run's ${keyspaces.length} keyspaces, ${databases.length} databases and its topics (ADME_BENCH_KEEP=1 keeps them)`);
}

/** One catch-up of the pre-produced `topic` by a fresh runtime process, timed until every event is durable. */
export async function throughput(o: RuntimeBenchOptions, kafka: Kafka, topic: string, name: string, sinks: boolean, extraEnv: Record<string, string> = {}): Promise<ThroughputRun> {
  const hw = await highWatermarks(kafka, topic);
  const env = {
    ADME_EVENTS_TOPIC: topic, ADME_DELTAS_TOPIC: `${topic}.deltas.${name}`, ADME_GROUP: `${topic}-${name}`, ADME_KEYSPACE: runStore(topic, name),
    ADME_MONGO_DB: runStore(topic, name), ADME_PARTITIONS: String(o.partitions), ADME_SINKS: sinks ? 'on' : 'off', ...extraEnv,
  };
  const p = await startRuntime(o, env);
  // The clock starts once every partition is owned and restored: group join is not aggregation.
  for (;;) {
    const h = await p.healthz().catch(() => undefined);
    if (h && h.partitions.length === o.partitions && Object.values(h.positions).every((x) => x !== null)) break;
    await sleep(20);
  }
  const t0 = Date.now();
  const pids = serverPids(o.stack);
  const servers0 = cpuUsOf(pids);
  const cpu0 = cpuUs(p.child.pid!);
  let t1 = await caughtUp(p, hw, o.partitions, 600_000);
  if (sinks) {
    // Caught up is not done: the run ends when every event is durable — checkpointed, its rollups
    // written — which the offsets committed after each checkpoint-and-rollups round tell.
    t1 = await committedUpTo(kafka, env.ADME_GROUP, topic, hw, 600_000);
  }
  const cpu1 = cpuUs(p.child.pid!);
  const servers1 = cpuUsOf(pids);
  const m = await p.metrics();
  await stop(p);
  const seconds = (t1 - t0) / 1000;
  const cpN = sum(metricValues(m, 'adme_runtime_checkpoint_duration_seconds_count'));
  const checkpoints = sum(metricValues(m, 'adme_runtime_checkpoints_total'));
  const encN = sum(metricValues(m, 'adme_runtime_checkpoint_encode_seconds_count'));
  const rollN = sum(metricValues(m, 'adme_runtime_rollup_write_seconds_count'));
  return {
    seconds, eventsPerSecond: Math.round(o.events / seconds), runtimeCpuCores: (cpu1 - cpu0) / 1e6 / seconds,
    checkpointBytesMax: Math.max(0, ...metricValues(m, 'adme_runtime_checkpoint_bytes')),
    checkpointBytesMean: checkpoints ? sum(metricValues(m, 'adme_runtime_checkpoint_bytes_total')) / checkpoints : 0,
    checkpointMsMean: cpN ? (sum(metricValues(m, 'adme_runtime_checkpoint_duration_seconds_sum')) / cpN) * 1000 : 0,
    encodeMsMean: encN ? (sum(metricValues(m, 'adme_runtime_checkpoint_encode_seconds_sum')) / encN) * 1000 : 0,
    checkpoints,
    rollupDocs: sum(metricValues(m, 'adme_runtime_rollup_docs_total')),
    rollupMsMean: rollN ? (sum(metricValues(m, 'adme_runtime_rollup_write_seconds_sum')) / rollN) * 1000 : 0,
    archive: {
      events: sum(metricValues(m, 'adme_runtime_archived_events_total')), blocks: sum(metricValues(m, 'adme_runtime_archive_blocks_total')),
      bytes: sum(metricValues(m, 'adme_runtime_archive_bytes_total')),
    },
    cpuUsPerEvent: (cpu1 - cpu0) / o.events,
    serverUsPerEvent: Object.fromEntries([...servers1].filter(([k]) => servers0.has(k)).map(([k, v]) => [k, (v - servers0.get(k)!) / o.events])),
  };
}

/** Produces `count` events of `gen` to topic `t` as the gateway packs them (500 per record); returns events/s. */
export async function produceEvents(o: Pick<RuntimeBenchOptions, 'partitions' | 'progress'>, producer: Producer, t: string, gen: Generator<AdEvent>, count: number): Promise<number> {
  o.progress(`producing ${count} events to ${t} (${o.partitions} partitions)…`);
  const p0 = Date.now();
  const chunk = 50_000;
  for (let done = 0; done < count; done += chunk) {
    const batch: AdEvent[] = [];
    for (let i = 0; i < Math.min(chunk, count - done); i++) batch.push(gen.next().value as AdEvent);
    // One send per partition, in parallel: concurrent sends to one partition may land out of order,
    // which would make an event older than the partition's watermark (late) once a chunk spans more
    // event time than the allowed lateness.
    const byPartition = new Map<number, { partition: number; value: Buffer }[]>();
    for (const r of records(batch, o.partitions, 500, Date.now())) {
      const list = byPartition.get(r.partition);
      if (list) list.push(r);
      else byPartition.set(r.partition, [r]);
    }
    await Promise.all([...byPartition.values()].map((messages) => producer.send({ topic: t, acks: -1, messages })));
    if ((done / chunk) % 10 === 0) o.progress(`  produced ${done + batch.length}`);
  }
  return Math.round(count / ((Date.now() - p0) / 1000));
}

/**
 * The events of the throughput runs folded here, one partition after another, in batches of 20 records
 * as a fetch brings them: the cost of the aggregation itself, with no Kafka, thread hops or I/O.
 */
export function foldAlone(events: number, partitions: number): FoldAlone {
  const config: AggregationConfig = { precision: 6, windowMs: 10_000, allowedLatenessMs: 30_000 };
  const gen = eventStream(42, Date.UTC(2026, 10, 1), 20_000, true);
  const byPartition: Buffer[][] = Array.from({ length: partitions }, () => []);
  for (let done = 0; done < events; done += 50_000) {
    const batch: AdEvent[] = [];
    for (let i = 0; i < Math.min(50_000, events - done); i++) batch.push(gen.next().value as AdEvent);
    for (const r of records(batch, partitions, 500, Date.now())) byPartition[r.partition]!.push(r.value);
  }
  const limits = { ...DEFAULT_EVENT_LIMITS, tsPastMs: Infinity, tsFutureMs: Infinity };
  let valid = 0; // read after the runs, so the validation is not optimised away
  const measure = (fold: boolean) => {
    const t0 = process.cpuUsage();
    for (const values of byPartition) {
      const s = emptyState();
      for (let i = 0; i < values.length; i += 20) {
        const m = packRecords(values.slice(i, i + 20).map((value, j) => ({ offset: i + j, value })));
        if (fold) {
          foldRecords(s, m, config);
          continue;
        }
        for (let r = 0; r < m.ends.length; r++) {
          const rec = decode<EventBatchRecord>(m.bytes.subarray(r === 0 ? 0 : m.ends[r - 1], m.ends[r]));
          for (const e of rec.events) if (validateEvent(e, 0, limits).ok) valid++;
        }
      }
    }
    const t = process.cpuUsage(t0);
    return (t.user + t.system) / events;
  };
  measure(true); // warm-up: the JIT, as a long-running runtime has it
  measure(false);
  const decodeUsPerEvent = measure(false);
  const foldUsPerEvent = measure(true);
  if (valid === 0) throw new Error('no event of the bench stream validated');
  return { events, decodeUsPerEvent, foldUsPerEvent };
}

/** Sends of the load generator awaiting their acknowledgement at once (kafkajs' idempotent producer allows 5). */
const MAX_SENDS_IN_FLIGHT = 5;

/** Sends `rate` events/s in 20 ms ticks for `seconds`, each record stamped with its send time. */
async function produceAtRate(producer: Producer, topic: string, partitions: number, gen: Generator<AdEvent>, rate: number, seconds: number, stopFlag: { stop: boolean }): Promise<number> {
  const tickMs = 20;
  const perTick = Math.round((rate * tickMs) / 1000);
  const start = Date.now();
  let sent = 0;
  // Sends overlap (the idempotent producer keeps them in order): awaiting each acks=all round trip
  // before the next tick capped the offered rate at ~10k events/s here, whatever was asked.
  const inFlight: Promise<unknown>[] = [];
  for (let tick = 0; !stopFlag.stop && Date.now() - start < seconds * 1000; tick++) {
    const batch: AdEvent[] = [];
    for (let i = 0; i < perTick; i++) batch.push(gen.next().value as AdEvent);
    inFlight.push(producer.send({ topic, acks: -1, messages: records(batch, partitions, 500, Date.now()) }));
    if (inFlight.length >= MAX_SENDS_IN_FLIGHT) await inFlight.shift();
    sent += batch.length;
    const wait = start + (tick + 1) * tickMs - Date.now();
    if (wait > 0) await sleep(wait);
  }
  await Promise.all(inFlight);
  return sent;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Per bucket bound (seconds), the count of a histogram's samples at most that, summed over its labels. */
function buckets(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of text.split('\n')) {
    if (!l.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(l)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(l.slice(l.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** The bucket bound (ms) holding quantile `q` of the samples between two scrapes (Infinity past the last). */
function bucketQuantileMs(before: string, after: string, name: string, q: number): number {
  const a = buckets(after, name);
  const b = buckets(before, name);
  const bounds = [...a.keys()].sort((x, y) => x - y);
  const total = (a.get(Infinity) ?? 0) - (b.get(Infinity) ?? 0);
  if (total <= 0) return 0;
  for (const bound of bounds) if ((a.get(bound) ?? 0) - (b.get(bound) ?? 0) >= q * total) return bound * 1000;
  return Infinity;
}

/** The runtime's loop delays from a scrape: main thread and each worker, since the previous scrape. */
function loops(m: string): Pick<LatencyRun, 'mainLoop' | 'workerLoops'> {
  const q = (name: string, ...labels: string[]) => {
    const line = m.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000 : 0;
  };
  const threads = [...new Set(m.split('\n').filter((l) => l.startsWith('adme_runtime_worker_busy_ratio{')).map((l) => Number(/thread="(\d+)"/.exec(l)?.[1])))];
  return {
    mainLoop: { p99Ms: q('adme_runtime_event_loop_delay_seconds', 'quantile="0.99"'), maxMs: q('adme_runtime_event_loop_delay_seconds', 'quantile="1"') },
    workerLoops: threads.sort((a, b) => a - b).map((t) => ({
      thread: t,
      p99Ms: q('adme_runtime_worker_event_loop_delay_seconds', `thread="${t}"`, 'quantile="0.99"'),
      maxMs: q('adme_runtime_worker_event_loop_delay_seconds', `thread="${t}"`, 'quantile="1"'),
      busy: q('adme_runtime_worker_busy_ratio', `thread="${t}"`) / 1000,
    })),
  };
}

/** Offers `rate` events/s for `o.latencySeconds` to a caught-up runtime; measures accepted → delta. */
async function latencyRun(o: RuntimeBenchOptions, kafka: Kafka, producer: Producer, ltopic: string, rate: number): Promise<LatencyRun> {
  await benchTopics(o.stack.kafka.brokers, [ltopic], o.partitions);
  const env = {
    ADME_EVENTS_TOPIC: ltopic, ADME_DELTAS_TOPIC: `${ltopic}.deltas`, ADME_GROUP: `${ltopic}-g`, ADME_KEYSPACE: `${ltopic.replace(/\W/g, '_')}`,
    ADME_MONGO_DB: `${ltopic.replace(/\W/g, '_')}`, ADME_PARTITIONS: String(o.partitions),
  };
  const live = await startRuntime(o, env);
  await caughtUp(live, await highWatermarks(kafka, ltopic), o.partitions, 60_000);
  const ages: number[] = [];
  const consumer = kafka.consumer({ groupId: `${ltopic}-deltas-reader`, maxWaitTimeInMs: 20 });
  await consumer.connect();
  await consumer.subscribe({ topic: `${ltopic}.deltas`, fromBeginning: false });
  let measuring = false;
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (!measuring || !message.value) return;
      const d = decode<DeltaRecord>(message.value);
      ages.push(Date.now() - d.oldestAt);
    },
  });
  await sleep(3000); // the delta reader joins its group
  const liveGen = eventStream(7, Date.now(), rate, true);
  const warmup = o.latencyWarmupSeconds ?? 0;
  if (warmup > 0) {
    o.progress(`  warm-up: ${rate} events/s for ${warmup} s, not measured…`);
    await produceAtRate(producer, ltopic, o.partitions, liveGen, rate, warmup, { stop: false });
  }
  measuring = true;
  // This scrape also starts the event-loop delay windows of the run.
  const m0 = await live.metrics();
  const bytesBefore = sum(metricValues(m0, 'adme_runtime_checkpoint_bytes_total'));
  const cpu0 = cpuUs(live.child.pid!);
  const flag = { stop: false };
  const l0 = Date.now();
  const sent = await produceAtRate(producer, ltopic, o.partitions, liveGen, rate, o.latencySeconds, flag);
  const liveSeconds = (Date.now() - l0) / 1000;
  const cpu1 = cpuUs(live.child.pid!);
  const achieved = Math.round(sent / liveSeconds);
  await sleep(1000);
  measuring = false;
  const lm = await live.metrics();
  await stop(live);
  await consumer.disconnect();
  return {
    rate, achievedRate: achieved, deltas: ages.length, p50Ms: pct(ages, 50), p99Ms: pct(ages, 99), maxMs: Math.max(0, ...ages),
    checkpointBytesPerPartitionSecond: (sum(metricValues(lm, 'adme_runtime_checkpoint_bytes_total')) - bytesBefore) / o.partitions / (liveSeconds + 1),
    ...loops(lm),
    runtimeCpuCores: (cpu1 - cpu0) / 1e6 / liveSeconds,
    stages: {
      foldP50Ms: bucketQuantileMs(m0, lm, 'adme_runtime_fold_age_seconds', 0.5), foldP99Ms: bucketQuantileMs(m0, lm, 'adme_runtime_fold_age_seconds', 0.99),
      deltaP50Ms: bucketQuantileMs(m0, lm, 'adme_runtime_delta_age_seconds', 0.5), deltaP99Ms: bucketQuantileMs(m0, lm, 'adme_runtime_delta_age_seconds', 0.99),
      waitP99Ms: bucketQuantileMs(m0, lm, 'adme_runtime_delta_wait_seconds', 0.99), sendP99Ms: bucketQuantileMs(m0, lm, 'adme_runtime_delta_send_seconds', 0.99),
    },
  };
}

/** Positions of every partition owned by `p` (healthz), or undefined when it answers nothing. */
async function positions(p: Proc): Promise<Map<number, number> | undefined> {
  const h = await p.healthz().catch(() => undefined);
  if (!h) return undefined;
  return new Map(h.partitions.map((x) => [x, h.positions[String(x)] ?? -1]));
}

/**
 * Two runtimes share the partitions under a steady load; one is killed with kill -9. Measured: kill →
 * the survivor owns every partition, and kill → it has processed every record produced before the kill.
 * The killed one is started again (and the group settles) before the next run.
 */
/** How long a failover run waits for the survivor to catch up before it counts the run as failed. */
const FAILOVER_LIMIT_MS = 120_000;

async function failoverRuns(o: RuntimeBenchOptions, kafka: Kafka, producer: Producer, ftopic: string, rate: number) {
  await benchTopics(o.stack.kafka.brokers, [ftopic], o.partitions);
  const env = {
    ADME_EVENTS_TOPIC: ftopic, ADME_DELTAS_TOPIC: `${ftopic}.deltas`, ADME_GROUP: `${ftopic}-g`, ADME_KEYSPACE: `${ftopic.replace(/\W/g, '_')}`,
    ADME_MONGO_DB: `${ftopic.replace(/\W/g, '_')}`, ADME_PARTITIONS: String(o.partitions),
  };
  const flag = { stop: false };
  const bg = produceAtRate(producer, ftopic, o.partitions, eventStream(11, Date.now(), rate, true), rate, 3600, flag);
  const procs = [await startRuntime(o, env), await startRuntime(o, env)];
  const runs: { ownedMs: number; caughtUpMs: number | null }[] = [];
  try {
    for (let run = 0; run < o.failovers; run++) {
      // Settle: both own partitions and have caught up with the log as it was when they did (the
      // restart of the previous victim moved partitions again, which their new owner replays): each
      // kill starts from a pair that keeps up, not from the previous run's backlog.
      const settle0 = Date.now();
      for (let shared = false; ;) {
        const [a, b] = await Promise.all(procs.map(positions));
        if (!shared && a && b && a.size > 0 && b.size > 0 && a.size + b.size === o.partitions) shared = true;
        if (shared) {
          // Keeping up: a second later, every partition is past where the log ended.
          const hw0 = await highWatermarks(kafka, ftopic);
          await sleep(1000);
          const [a1, b1] = await Promise.all(procs.map(positions));
          const pos = new Map([...(a1 ?? []), ...(b1 ?? [])]);
          if (pos.size === o.partitions && [...hw0].every(([p, h]) => (pos.get(p) ?? 0) >= h)) break;
        }
        if (Date.now() - settle0 > FAILOVER_LIMIT_MS) throw new Error(`the two runtimes did not share the partitions and keep up within ${FAILOVER_LIMIT_MS / 1000} s`);
        await sleep(200);
      }
      await sleep(3000);
      const victim = procs[run % 2]!;
      const survivor = procs[(run + 1) % 2]!;
      victim.child.kill('SIGKILL');
      const k0 = Date.now();
      const hw = await highWatermarks(kafka, ftopic);
      let ownedMs = 0;
      let caughtUpMs: number | null = null;
      let behind = '';
      for (;;) {
        const pos = await positions(survivor);
        if (pos && pos.size === o.partitions) {
          if (!ownedMs) ownedMs = Date.now() - k0;
          const lag = [...pos].map(([p, x]) => [p, (hw.get(p) ?? 0) - x] as const).filter(([, l]) => l > 0);
          if (lag.length === 0) {
            caughtUpMs = Date.now() - k0;
            break;
          }
          behind = lag.map(([p, l]) => `p${p}: ${l} records`).join(', ');
        }
        if (Date.now() - k0 > FAILOVER_LIMIT_MS) break;
        await sleep(50);
      }
      runs.push({ ownedMs, caughtUpMs });
      o.progress(`  failover ${run + 1}/${o.failovers}: owned after ${ownedMs || '–'} ms, ` +
        (caughtUpMs === null ? `NOT caught up within ${FAILOVER_LIMIT_MS / 1000} s (still behind the kill: ${behind || 'partitions not all owned'})` : `caught up after ${caughtUpMs} ms`));
      await new Promise((r) => (victim.child.exitCode !== null || victim.child.signalCode !== null ? r(null) : victim.child.once('exit', r)));
      procs[run % 2] = await startRuntime(o, env).catch((err: unknown) => {
        throw new Error(`restarting the killed runtime failed: ${(err as Error).message}\n--- survivor ---\n${survivor.log.slice(-15).join('\n')}`);
      });
    }
  } finally {
    flag.stop = true;
    await bg;
    await Promise.all(procs.map(stop));
  }
  const sorted = runs.map((r) => r.caughtUpMs ?? Infinity).sort((a, b) => a - b);
  return { runs, medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0, worstMs: sorted[sorted.length - 1] ?? 0 };
}

export async function runRuntimeBench(o: RuntimeBenchOptions): Promise<RuntimeBenchResult> {
  const kafka = new Kafka({ clientId: 'adme-bench', brokers: [...o.stack.kafka.brokers], logLevel: logLevel.ERROR });
  const topic = `adme.bench.rt.${Date.now().toString(36)}`;
  await benchTopics(o.stack.kafka.brokers, [topic], o.partitions);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
  await producer.connect();

  const skip = process.env.ADME_BENCH_SKIP_THROUGHPUT === '1';
  const empty: ThroughputRun = {
    seconds: 0, eventsPerSecond: 0, runtimeCpuCores: 0, checkpointBytesMax: 0, checkpointBytesMean: 0, checkpointMsMean: 0, encodeMsMean: 0, checkpoints: 0, rollupDocs: 0, rollupMsMean: 0,
    archive: { events: 0, blocks: 0, bytes: 0 }, cpuUsPerEvent: 0, serverUsPerEvent: {},
  };
  let produceRate = 0;
  let on = empty;
  let off = empty;
  let plain = empty;
  let peer: RuntimeBenchResult['peer'] = null;
  const plainTopic = `${topic}.plain`;
  if (!skip) {
  // 1. Pre-produce; event time advances 20k events/s so windows close and are evicted during the run.
  // The plain topic holds the same events without app and campaign.
  await benchTopics(o.stack.kafka.brokers, o.warmupEvents > 0 ? [plainTopic, `${topic}.warmup`] : [plainTopic], o.partitions);
  const preProduce = (t: string, gen: Generator<AdEvent>, count: number) => produceEvents(o, producer, t, gen, count);
  produceRate = await preProduce(topic, eventStream(42, Date.UTC(2026, 10, 1), 20_000, true), o.events);
  await preProduce(plainTopic, eventStream(42, Date.UTC(2026, 10, 1), 20_000, false), o.events);
  o.progress(`produced at ${produceRate} events/s`);

  // A warm-up catch-up with the sinks on, not measured: the first run after a fresh `stack up` otherwise
  // pays for the servers' cold start (Cassandra's JIT, the broker flushing what was just produced),
  // which once made the sinks-on figure, measured first, look a fifth slower than its repeat.
  if (o.warmupEvents > 0) {
    const warmTopic = `${topic}.warmup`;
    await preProduce(warmTopic, eventStream(43, Date.UTC(2026, 9, 1), 20_000, true), o.warmupEvents);
    o.progress(`warm-up: ${o.warmupEvents} events with the sinks on (not measured)…`);
    const w = await throughput({ ...o, events: o.warmupEvents }, kafka, warmTopic, 'warmup', true);
    o.progress(`  ${w.eventsPerSecond} events/s`);
  }

  o.progress('throughput with checkpoints + rollups (sinks on)…');
  on = await throughput(o, kafka, topic, 'on', true);
  o.progress(`  ${on.eventsPerSecond} events/s in ${on.seconds.toFixed(1)} s`);
  if (o.peer) {
    o.progress(`the peer (${o.peer}), same broker, same events, right after…`);
    const pr = await runPeer(o, o.peer);
    peer = { ...pr, ratio: on.eventsPerSecond / pr.eventsPerSecond };
    o.progress(`  ${pr.eventsPerSecond} events/s in ${pr.seconds.toFixed(1)} s: AdME durable ÷ the peer = ${peer.ratio.toFixed(2)}`);
  }
  o.progress('throughput without checkpoints and rollups (sinks off, the baseline)…');
  off = await throughput(o, kafka, topic, 'off', false);
  o.progress(`  ${off.eventsPerSecond} events/s in ${off.seconds.toFixed(1)} s`);
  o.progress('throughput with sinks on, events without app and campaign (the segments\' baseline)…');
  plain = await throughput(o, kafka, plainTopic, 'plain', true);
  o.progress(`  ${plain.eventsPerSecond} events/s in ${plain.seconds.toFixed(1)} s`);
  }

  o.progress(`decode + validation, and the fold into a shard's state, alone (no Kafka), ${o.events} events…`);
  const fold = foldAlone(o.events, o.partitions);
  o.progress(`  ${fold.decodeUsPerEvent.toFixed(2)} µs/event decode + validation, ${fold.foldUsPerEvent.toFixed(2)} µs/event with the fold into the state`);

  // 2. Latency at fixed rates, against a live runtime that has caught up.
  const latency: LatencyRun[] = [];
  for (const rate of o.rates) {
    o.progress(`latency: ${rate} events/s for ${o.latencySeconds} s…`);
    const l = await latencyRun(o, kafka, producer, `${topic}.live${rate}`, rate);
    latency.push(l);
    o.progress(`  p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms; main loop p99 ${l.mainLoop.p99Ms.toFixed(1)} ms max ${l.mainLoop.maxMs.toFixed(1)} ms; ` +
      `workers ${l.workerLoops.map((w) => `p99 ${w.p99Ms.toFixed(1)} max ${w.maxMs.toFixed(1)} busy ${(w.busy * 100).toFixed(0)}%`).join(', ')}; ` +
      `stages p50/p99 ≤ folded ${l.stages.foldP50Ms}/${l.stages.foldP99Ms} ms, delta in Kafka ${l.stages.deltaP50Ms}/${l.stages.deltaP99Ms} ms; p99 ≤ delta wait ${l.stages.waitP99Ms} ms, send ${l.stages.sendP99Ms} ms`);
  }

  // 3. Failover: kill -9 one of two runtimes under load.
  const failRate = Math.min(...o.rates);
  o.progress(`failover: ${o.failovers} × kill -9 of one of two runtimes at ${failRate} events/s…`);
  const f = o.failovers > 0
    ? await failoverRuns(o, kafka, producer, `${topic}.failover`, failRate).finally(() => producer.disconnect())
    : (await producer.disconnect(), { runs: [], medianMs: 0, worstMs: 0 });
  await dropBenchRun(o.stack, kafka, topic, o.progress);

  return {
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    events: o.events, partitions: o.partitions,
    produce: { eventsPerSecond: produceRate },
    sinksOn: on, sinksOff: off, checkpointTax: off.eventsPerSecond ? on.eventsPerSecond / off.eventsPerSecond : 0,
    noSegments: plain, segmentRatio: plain.eventsPerSecond ? on.eventsPerSecond / plain.eventsPerSecond : 0,
    fold, peer, latency,
    failover: { sessionTimeoutMs: Number(process.env.ADME_SESSION_TIMEOUT_MS ?? 2000), ...f },
  };
}

/** " (topology, guarantee)" of a peer's report, as far as it names them. */
function peerLabel(p: PeerRun): string {
  const l = [p.topology, p.guarantee].filter(Boolean).join(', ');
  return l ? ` (${l})` : '';
}

export function runtimeBenchMarkdown(r: RuntimeBenchResult): string {
  const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const ms = (n: number) => (Number.isFinite(n) ? `${f(n)} ms` : `over ${FAILOVER_LIMIT_MS / 1000} s`);
  const servers = (t: ThroughputRun) => SERVER_NAMES.map((n) => (t.serverUsPerEvent[n] === undefined ? '–' : f(t.serverUsPerEvent[n], 1))).join(' / ');
  const box = (t: ThroughputRun) => t.cpuUsPerEvent + Object.values(t.serverUsPerEvent).reduce((a, b) => a + b, 0);
  const row = (name: string, t: ThroughputRun) => `| ${name} | ${f(t.eventsPerSecond)} | ${f(t.seconds, 1)} | ${f(t.runtimeCpuCores, 2)} | ${f(t.cpuUsPerEvent, 2)} µs | ${servers(t)} µs | ${f(box(t), 1)} µs | ${t.checkpoints} | ${f(t.checkpointBytesMean / 1024)} KiB | ${f(t.checkpointMsMean, 1)} ms | ${f(t.encodeMsMean, 1)} ms | ${t.rollupDocs} | ${f(t.rollupMsMean, 1)} ms |`;
  return [
    `Machine: ${r.machine}. ${f(r.events)} events over ${r.partitions} partitions, pre-produced at ${f(r.produce.eventsPerSecond)} events/s.`,
    '',
    `| run | events/s | seconds | runtime CPU (cores) | CPU per event | servers' CPU per event (${SERVER_NAMES.join(' / ')}) | box CPU per event | checkpoints | mean checkpoint written | mean checkpoint write | mean snapshot encode | rollup docs | mean rollup write |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('sinks on (checkpoints + rollups), until durable', r.sinksOn),
    row('sinks off (baseline)', r.sinksOff),
    row('sinks on, no app or campaign', r.noSegments),
    `| msgpack decode + validation alone, one thread, no Kafka | | | | ${f(r.fold.decodeUsPerEvent, 2)} µs | | | | | | | | |`,
    `| … and the fold into a shard's state (decode + pre-aggregation alone) | | | | ${f(r.fold.foldUsPerEvent, 2)} µs | | | | | | | | |`,
    ...(r.peer ? [`| the peer: ${r.peer.peer}${peerLabel(r.peer)}, same broker, right after the sinks-on run | ${f(r.peer.eventsPerSecond)} | ${f(r.peer.seconds, 1)} | ${r.peer.cpuCores === undefined ? '' : f(r.peer.cpuCores, 2)} | | ${r.peer.brokerCpuSeconds === undefined ? '' : `kafka ${f((r.peer.brokerCpuSeconds * 1e6) / r.events, 1)} µs`} | | | | | | | |`] : []),
    '',
    ...(r.peer ? [`AdME durable ÷ the peer, same run: **${f(r.peer.ratio, 2)}** (target ≥ 2).`, ''] : []),
    `Checkpoint tax (sinks on ÷ sinks off): **${f(r.checkpointTax, 2)}** (target ≥ 0.85). Segments cost: sinks on ÷ the same events without app and campaign = **${f(r.segmentRatio, 2)}**. ` +
      `Runtime CPU per event, sinks off ÷ decode + fold alone: **${f(r.sinksOff.cpuUsPerEvent / (r.fold.foldUsPerEvent || 1), 2)}** (target ≤ 3).`,
    '',
    '| offered events/s | achieved | deltas | accepted → delta p50 | p99 | max | stages p50 / p99 (≤ bucket): accepted → folded, → delta in Kafka; p99 of a delta\'s wait for the main thread, and of its send | main loop p99 / max | worker loops p99 / max (busy) | runtime CPU (cores) | checkpoint KiB per partition·s |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: |',
    ...r.latency.map((l) => `| ${f(l.rate)} | ${f(l.achievedRate)} | ${l.deltas} | ${f(l.p50Ms)} ms | **${f(l.p99Ms)} ms** | ${f(l.maxMs)} ms | ${f(l.stages.foldP50Ms)} / ${f(l.stages.foldP99Ms)} ms, ${f(l.stages.deltaP50Ms)} / ${f(l.stages.deltaP99Ms)} ms; ${f(l.stages.waitP99Ms)}, ${f(l.stages.sendP99Ms)} ms | ${f(l.mainLoop.p99Ms, 1)} / ${f(l.mainLoop.maxMs, 1)} ms | ` +
      `${l.workerLoops.map((w) => `${f(w.p99Ms, 1)} / ${f(w.maxMs, 1)} ms (${f(w.busy * 100)} %)`).join('; ')} | ${f(l.runtimeCpuCores, 2)} | ${f(l.checkpointBytesPerPartitionSecond / 1024)} |`),
    '',
    r.failover.runs.length === 0 ? 'Failover: not run (`--failovers 0`).' : `Failover, kill -9 of one of two runtimes under load (session timeout ${r.failover.sessionTimeoutMs} ms): ` +
      r.failover.runs.map((x) => `owned ${f(x.ownedMs)} ms / caught up ${x.caughtUpMs === null ? `not within ${FAILOVER_LIMIT_MS / 1000} s` : `${f(x.caughtUpMs)} ms`}`).join('; ') +
      `. Caught up: median **${ms(r.failover.medianMs)}**, worst **${ms(r.failover.worstMs)}** (target ≤ 5 s).`,
  ].join('\n');
}
