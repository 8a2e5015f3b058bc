/**
 * `adme bench runtime`: the aggregation end to end, producer → Kafka → shard actors → Cassandra
 * checkpoints + MongoDB rollups (+ deltas to Kafka), with the runtime in its own process.
 *
 *  1. throughput: N events pre-produced, then one runtime catches up; events/s from its start to lag 0,
 *     once with checkpoints and rollups (sinks on) and once without (the baseline, same run), and once
 *     more with sinks on over the same events without app and campaign (what segments cost);
 *  2. latency: a producer at a fixed rate (default 50k events/s), each record stamped with its send
 *     time; a consumer of the delta topic measures the age of the oldest event folded into each delta
 *     (events without app and campaign first, then with them);
 *  3. recovery: kill -9 under that load, restart, time until the new process has caught up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { decode, packEventRecords, type AdEvent, type DeltaRecord } from '../actors/model/index.js';
import { rng } from './gateway-traffic.js';
import type { StackConfig } from '../stack/index.js';
import { cpuUs } from './proc.js';

export interface RuntimeBenchOptions {
  readonly stack: StackConfig;
  readonly projectDir: string;
  readonly events: number;
  readonly partitions: number;
  readonly rate: number;
  readonly latencySeconds: number;
  readonly progress: (line: string) => void;
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
  readonly latency: {
    readonly rate: number; readonly achievedRate: number; readonly deltas: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number;
    /** Checkpoint bytes written per partition per second while the load ran. */
    readonly checkpointBytesPerPartitionSecond: number;
  };
  /** The same latency run with events without app and campaign (before it, same runtime build). */
  readonly latencyNoSegments: RuntimeBenchResult['latency'];
  readonly recovery: { readonly restartToAssignedMs: number; readonly restartToCaughtUpMs: number; readonly sessionTimeoutMs: number };
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
  const nodeArgs = (process.env.ADME_BENCH_RUNTIME_NODE_ARGS ?? '').split(' ').filter(Boolean);
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
  if (p.child.exitCode !== null) return;
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

async function throughput(o: RuntimeBenchOptions, kafka: Kafka, topic: string, name: string, sinks: boolean): Promise<ThroughputRun> {
  const hw = await highWatermarks(kafka, topic);
  const env = {
    ADME_EVENTS_TOPIC: topic, ADME_DELTAS_TOPIC: `${topic}.deltas.${name}`, ADME_GROUP: `${topic}-${name}`, ADME_KEYSPACE: `${topic.replace(/\W/g, '_')}_${name}`,
    ADME_MONGO_DB: `${topic.replace(/\W/g, '_')}_${name}`, ADME_PARTITIONS: String(o.partitions), ADME_SINKS: sinks ? 'on' : 'off',
  };
  const p = await startRuntime(o, env);
  // The clock starts once every partition is owned and restored: group join is not aggregation.
  for (;;) {
    const h = await p.healthz().catch(() => undefined);
    if (h && h.partitions.length === o.partitions && Object.values(h.positions).every((x) => x !== null)) break;
    await sleep(20);
  }
  const t0 = Date.now();
  const cpu0 = cpuUs(p.child.pid!);
  let t1 = await caughtUp(p, hw, o.partitions, 600_000);
  if (sinks) {
    // Caught up is not done: the run ends when every event is durable — checkpointed, its rollups
    // written — which the offsets committed after each checkpoint-and-rollups round tell.
    t1 = await committedUpTo(kafka, env.ADME_GROUP, topic, hw, 600_000);
  }
  const cpu1 = cpuUs(p.child.pid!);
  const m = await p.metrics();
  await stop(p);
  const seconds = (t1 - t0) / 1000;
  const cpN = sum(metricValues(m, 'adme_runtime_checkpoint_duration_seconds_count'));
  const checkpoints = sum(metricValues(m, 'adme_runtime_checkpoints_total'));
  const encN = sum(metricValues(m, 'adme_runtime_checkpoint_encode_seconds_count'));
  return {
    seconds, eventsPerSecond: Math.round(o.events / seconds), runtimeCpuCores: (cpu1 - cpu0) / 1e6 / seconds,
    checkpointBytesMax: Math.max(0, ...metricValues(m, 'adme_runtime_checkpoint_bytes')),
    checkpointBytesMean: checkpoints ? sum(metricValues(m, 'adme_runtime_checkpoint_bytes_total')) / checkpoints : 0,
    checkpointMsMean: cpN ? (sum(metricValues(m, 'adme_runtime_checkpoint_duration_seconds_sum')) / cpN) * 1000 : 0,
    encodeMsMean: encN ? (sum(metricValues(m, 'adme_runtime_checkpoint_encode_seconds_sum')) / encN) * 1000 : 0,
    checkpoints,
    rollupDocs: sum(metricValues(m, 'adme_runtime_rollup_docs_total')),
  };
}

/** Sends `rate` events/s in 20 ms ticks for `seconds`, each record stamped with its send time. */
async function produceAtRate(producer: Producer, topic: string, partitions: number, gen: Generator<AdEvent>, rate: number, seconds: number, stopFlag: { stop: boolean }): Promise<number> {
  const tickMs = 20;
  const perTick = Math.round((rate * tickMs) / 1000);
  const start = Date.now();
  let sent = 0;
  for (let tick = 0; !stopFlag.stop && Date.now() - start < seconds * 1000; tick++) {
    const batch: AdEvent[] = [];
    for (let i = 0; i < perTick; i++) batch.push(gen.next().value as AdEvent);
    await producer.send({ topic, acks: -1, messages: records(batch, partitions, 500, Date.now()) });
    sent += batch.length;
    const wait = start + (tick + 1) * tickMs - Date.now();
    if (wait > 0) await sleep(wait);
  }
  return sent;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Offers `o.rate` events/s for `o.latencySeconds` to a caught-up runtime; measures accepted → delta. */
async function latencyRun(o: RuntimeBenchOptions, kafka: Kafka, producer: Producer, ltopic: string, segments: boolean) {
  const a2 = kafka.admin();
  await a2.connect();
  await a2.createTopics({ topics: [{ topic: ltopic, numPartitions: o.partitions }], waitForLeaders: true });
  await a2.disconnect();
  const env = {
    ADME_EVENTS_TOPIC: ltopic, ADME_DELTAS_TOPIC: `${ltopic}.deltas`, ADME_GROUP: `${ltopic}-g`, ADME_KEYSPACE: `${ltopic.replace(/\W/g, '_')}`,
    ADME_MONGO_DB: `${ltopic.replace(/\W/g, '_')}`, ADME_PARTITIONS: String(o.partitions), ADME_SESSION_TIMEOUT_MS: '6000',
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
  const liveGen = eventStream(7, Date.now(), o.rate, segments);
  measuring = true;
  // Also resets the event-loop delay window.
  const bytesBefore = sum(metricValues(await live.metrics(), 'adme_runtime_checkpoint_bytes_total'));
  const flag = { stop: false };
  const l0 = Date.now();
  const sent = await produceAtRate(producer, ltopic, o.partitions, liveGen, o.rate, o.latencySeconds, flag);
  const liveSeconds = (Date.now() - l0) / 1000;
  const achieved = Math.round(sent / liveSeconds);
  await sleep(1000);
  measuring = false;

  const lm = await live.metrics();
  const latency = {
    rate: o.rate, achievedRate: achieved, deltas: ages.length, p50Ms: pct(ages, 50), p99Ms: pct(ages, 99), maxMs: Math.max(0, ...ages),
    checkpointBytesPerPartitionSecond: (sum(metricValues(lm, 'adme_runtime_checkpoint_bytes_total')) - bytesBefore) / o.partitions / (liveSeconds + 1),
  };
  o.progress(`event loop delay: ${lm.split('\n').filter((l) => l.startsWith('adme_runtime_event_loop_delay_seconds{')).join(' ')}`);
  const foldBuckets = lm.split('\n').filter((l) => l.startsWith('adme_runtime_fold_age_seconds_bucket'));
  const ageBuckets = lm.split('\n').filter((l) => l.startsWith('adme_runtime_delta_age_seconds_bucket'));
  o.progress(`fold age buckets: ${foldBuckets.map((l) => l.replace(/.*le="([^"]+)"} /, '$1:')).join(' ')}`);
  o.progress(`delta age buckets: ${ageBuckets.map((l) => l.replace(/.*le="([^"]+)"} /, '$1:')).join(' ')}`);
  return { latency, live, env, consumer, liveGen, flag, ltopic };
}

export async function runRuntimeBench(o: RuntimeBenchOptions): Promise<RuntimeBenchResult> {
  const kafka = new Kafka({ clientId: 'adme-bench', brokers: [...o.stack.kafka.brokers], logLevel: logLevel.ERROR });
  const topic = `adme.bench.rt.${Date.now().toString(36)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: o.partitions }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
  await producer.connect();

  const skip = process.env.ADME_BENCH_SKIP_THROUGHPUT === '1';
  const empty: ThroughputRun = { seconds: 0, eventsPerSecond: 0, runtimeCpuCores: 0, checkpointBytesMax: 0, checkpointBytesMean: 0, checkpointMsMean: 0, encodeMsMean: 0, checkpoints: 0, rollupDocs: 0 };
  let produceRate = 0;
  let on = empty;
  let off = empty;
  let plain = empty;
  const plainTopic = `${topic}.plain`;
  if (!skip) {
  // 1. Pre-produce; event time advances 20k events/s so windows close and are evicted during the run.
  // The plain topic holds the same events without app and campaign.
  const a1 = kafka.admin();
  await a1.connect();
  await a1.createTopics({ topics: [{ topic: plainTopic, numPartitions: o.partitions }], waitForLeaders: true });
  await a1.disconnect();
  for (const [t, segments] of [[topic, true], [plainTopic, false]] as const) {
    o.progress(`producing ${o.events} events to ${t} (${o.partitions} partitions)…`);
    const gen = eventStream(42, Date.UTC(2026, 10, 1), 20_000, segments);
    const p0 = Date.now();
    const chunk = 50_000;
    for (let done = 0; done < o.events; done += chunk) {
      const batch: AdEvent[] = [];
      for (let i = 0; i < Math.min(chunk, o.events - done); i++) batch.push(gen.next().value as AdEvent);
      const recs = records(batch, o.partitions, 500, Date.now());
      await Promise.all(Array.from({ length: Math.ceil(recs.length / 20) }, (_, i) => producer.send({ topic: t, acks: -1, messages: recs.slice(i * 20, i * 20 + 20) })));
      if ((done / chunk) % 10 === 0) o.progress(`  produced ${done + batch.length}`);
    }
    if (segments) produceRate = Math.round(o.events / ((Date.now() - p0) / 1000));
  }
  o.progress(`produced at ${produceRate} events/s`);

  o.progress('throughput with checkpoints + rollups (sinks on)…');
  on = await throughput(o, kafka, topic, 'on', true);
  o.progress(`  ${on.eventsPerSecond} events/s in ${on.seconds.toFixed(1)} s`);
  o.progress('throughput without checkpoints and rollups (sinks off, the baseline)…');
  off = await throughput(o, kafka, topic, 'off', false);
  o.progress(`  ${off.eventsPerSecond} events/s in ${off.seconds.toFixed(1)} s`);
  o.progress('throughput with sinks on, events without app and campaign (the segments\' baseline)…');
  plain = await throughput(o, kafka, plainTopic, 'plain', true);
  o.progress(`  ${plain.eventsPerSecond} events/s in ${plain.seconds.toFixed(1)} s`);
  }

  // 2. Latency at a fixed rate, against a live runtime that has caught up: first with events without app
  // and campaign (the baseline), then with them (the runtime kept for the recovery run).
  o.progress(`latency without app and campaign: ${o.rate} events/s for ${o.latencySeconds} s…`);
  const plainLive = await latencyRun(o, kafka, producer, `${topic}.live-plain`, false);
  await stop(plainLive.live);
  await plainLive.consumer.disconnect();
  o.progress(`  p50 ${plainLive.latency.p50Ms} ms, p99 ${plainLive.latency.p99Ms} ms`);
  o.progress(`latency: ${o.rate} events/s for ${o.latencySeconds} s…`);
  const { latency, live, env, consumer, liveGen, flag, ltopic } = await latencyRun(o, kafka, producer, `${topic}.live`, true);
  const latencyNoSegments = plainLive.latency;
  if (process.env.ADME_BENCH_RUNTIME_NODE_ARGS) {
    // Profiling the live runtime: stop it gracefully so it writes its profile; no recovery run.
    await stop(live);
    await consumer.disconnect();
    await producer.disconnect();
    return {
      machine: '', events: o.events, partitions: o.partitions, produce: { eventsPerSecond: produceRate }, sinksOn: on, sinksOff: off, checkpointTax: 0,
      noSegments: plain, segmentRatio: 0,
      latency, latencyNoSegments,
      recovery: { restartToAssignedMs: 0, restartToCaughtUpMs: 0, sessionTimeoutMs: 0 },
    };
  }
  // 3. Recovery: keep producing, kill -9, restart at once, time to caught up.
  o.progress('recovery: kill -9 under load, restart…');
  const bg = produceAtRate(producer, ltopic, o.partitions, liveGen, Math.min(o.rate, 20_000), 60, flag);
  await sleep(3000);
  live.child.kill('SIGKILL');
  await new Promise((r) => live.child.once('exit', r));
  const r0 = Date.now();
  const again = await startRuntime(o, env);
  let assignedAt = 0;
  for (;;) {
    const h = await again.healthz().catch(() => undefined);
    if (h && h.partitions.length === o.partitions && Object.values(h.positions).every((x) => x !== null)) {
      assignedAt = Date.now();
      break;
    }
    await sleep(50);
  }
  flag.stop = true;
  await bg;
  const r1 = await caughtUp(again, await highWatermarks(kafka, ltopic), o.partitions, 120_000);
  await stop(again);
  await consumer.disconnect();
  await producer.disconnect();

  return {
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    events: o.events, partitions: o.partitions,
    produce: { eventsPerSecond: produceRate },
    sinksOn: on, sinksOff: off, checkpointTax: off.eventsPerSecond ? on.eventsPerSecond / off.eventsPerSecond : 0,
    noSegments: plain, segmentRatio: plain.eventsPerSecond ? on.eventsPerSecond / plain.eventsPerSecond : 0,
    latency, latencyNoSegments,
    recovery: { restartToAssignedMs: assignedAt - r0, restartToCaughtUpMs: r1 - r0, sessionTimeoutMs: 6000 },
  };
}

export function runtimeBenchMarkdown(r: RuntimeBenchResult): string {
  const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const row = (name: string, t: ThroughputRun) => `| ${name} | ${f(t.eventsPerSecond)} | ${f(t.seconds, 1)} | ${f(t.runtimeCpuCores, 2)} | ${t.checkpoints} | ${f(t.checkpointBytesMean / 1024)} KiB | ${f(t.checkpointBytesMax / 1024)} KiB | ${f(t.checkpointMsMean, 1)} ms | ${f(t.encodeMsMean, 1)} ms | ${t.rollupDocs} |`;
  return [
    `Machine: ${r.machine}. ${f(r.events)} events over ${r.partitions} partitions, pre-produced at ${f(r.produce.eventsPerSecond)} events/s.`,
    '',
    '| run | events/s | seconds | runtime CPU (cores) | checkpoints | mean checkpoint written | largest last checkpoint | mean checkpoint write | mean snapshot encode | rollup docs |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('sinks on (checkpoints + rollups)', r.sinksOn),
    row('sinks off (baseline)', r.sinksOff),
    row('sinks on, no app or campaign', r.noSegments),
    '',
    `Checkpoint tax (sinks on ÷ sinks off): **${f(r.checkpointTax, 2)}** (target ≥ 0.85). ` +
      `Segments (app × campaign per cell) cost: sinks on ÷ the same events without app and campaign = **${f(r.segmentRatio, 2)}**.`,
    '',
    `Accepted → delta at ${f(r.latency.rate)} events/s offered (${f(r.latency.achievedRate)} achieved), over ${r.latency.deltas} deltas: ` +
      `p50 **${f(r.latency.p50Ms)} ms**, p99 **${f(r.latency.p99Ms)} ms**, max ${f(r.latency.maxMs)} ms (target p99 ≤ 250 ms); ` +
      `checkpoints wrote ${f(r.latency.checkpointBytesPerPartitionSecond / 1024)} KiB per partition per second. ` +
      `The same events without app and campaign (run just before): p50 ${f(r.latencyNoSegments.p50Ms)} ms, p99 ${f(r.latencyNoSegments.p99Ms)} ms, ` +
      `max ${f(r.latencyNoSegments.maxMs)} ms, ${f(r.latencyNoSegments.checkpointBytesPerPartitionSecond / 1024)} KiB per partition per second.`,
    '',
    `Recovery after kill -9 under load: partitions assigned and restored ${f(r.recovery.restartToAssignedMs)} ms after the restart, ` +
      `caught up after **${f(r.recovery.restartToCaughtUpMs)} ms** (session timeout ${r.recovery.sessionTimeoutMs} ms; target ≤ 5 s).`,
  ].join('\n');
}
