/**
 * `adme bench gateway`: the ingestion gateway under load, with its ceilings measured in the same run.
 * The gateway, the empty uWS server and Kafka each run in their own process; this process is the load
 * generator (autocannon for HTTP, WsProducer for WebSocket). CPU per unit of work is read from
 * /proc/<pid>/stat (utime + stime) of the server process and of Kafka over each run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { DEFAULT_EVENT_LIMITS, isNack, validateBatch } from '../actors/model/index.js';
import { createKey, encodeMsgpack } from '../gateway/index.js';
import { kafkaClasspath, status, type StackConfig } from '../stack/index.js';
import { checkHttpBatch, decodeMsgpack } from '../gateway/ingest.js';
import { findJava17 } from '../stack/tools.js';
import { WsProducer } from './gateway-client.js';
import { cpuUs, nodeArgsFrom } from './proc.js';
import { TrafficModel } from './gateway-traffic.js';

const require = createRequire(import.meta.url);

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = require('autocannon') as Autocannon;

export interface BenchOptions {
  readonly stack: StackConfig;
  readonly projectDir: string;
  readonly durationS: number;
  readonly connections: number;
  readonly threads: number;
  /** Run only scenarios whose name matches. */
  readonly only: RegExp | undefined;
  readonly progress: (line: string) => void;
}

export interface Row {
  readonly scenario: string;
  readonly eventsPerSecond: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly serverCpuUsPerRequest: number;
  readonly serverCpuUsPerEvent: number;
  readonly serverCpuCores: number;
  readonly kafkaCpuCores: number;
}


const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function measure<T>(serverPid: number, kafkaPid: number, run: () => Promise<T>): Promise<{ result: T; serverUs: number; kafkaUs: number; wallS: number }> {
  const s0 = cpuUs(serverPid);
  const k0 = cpuUs(kafkaPid);
  const t0 = performance.now();
  const result = await run();
  return { result, serverUs: cpuUs(serverPid) - s0, kafkaUs: cpuUs(kafkaPid) - k0, wallS: (performance.now() - t0) / 1000 };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const round = (n: number, d = 0) => Math.round(n * 10 ** d) / 10 ** d;

/**
 * In-process floors, no HTTP and no Kafka; CPU µs per event is what the "POST msgpack ×N" rows compare
 * with. `decode + validation`: msgpack decoded to objects, then `validateBatch` (what the gateway did
 * for every batch before it checked them in place, and the floor the issue's target is set against).
 * `in-place check`: the gateway's own `checkHttpBatch`, which checks an all-valid batch without decoding
 * it (model wire.ts).
 */
const FLOORS = {
  'msgpack decode + validation alone': (body: Uint8Array, now: number) => validateBatch(decodeMsgpack(body), now, DEFAULT_EVENT_LIMITS).events.length,
  'msgpack in-place check alone': (body: Uint8Array, now: number) => checkHttpBatch('application/msgpack', body, now, DEFAULT_EVENT_LIMITS, 1 << 24).events.length,
} as const;

export function floorRow(name: keyof typeof FLOORS, events: number, seconds: number): Row {
  const model = new TrafficModel({ seed: 43, users: 100_000 });
  const bodies = Array.from({ length: 32 }, () => encodeMsgpack(model.batch(events, Date.now())));
  const now = Date.now();
  const check = FLOORS[name];
  let checked = 0;
  const run = (ms: number) => {
    const end = Date.now() + ms;
    let n = 0;
    while (Date.now() < end) {
      for (const body of bodies) checked += check(body, now);
      n += bodies.length;
    }
    return n;
  };
  run(300); // warm-up (JIT)
  checked = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const requests = run(seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const us = cpu.user + cpu.system;
  if (checked !== requests * events) throw new Error(`${name}: ${checked} of ${requests * events} events passed; the bench's events must all be valid`);
  return {
    scenario: `${name} x${events} (in-process)`,
    eventsPerSecond: Math.round(checked / (us / 1e6)), requestsPerSecond: Math.round(requests / (us / 1e6)), p50Ms: 0, p99Ms: 0, errors: 0, non2xx: 0,
    serverCpuUsPerRequest: Number((us / requests).toFixed(2)), serverCpuUsPerEvent: Number((us / checked).toFixed(3)), serverCpuCores: Number((us / 1e6 / wallS).toFixed(2)), kafkaCpuCores: 0,
  };
}

export async function benchGateway(o: BenchOptions): Promise<{ rows: Row[]; kafkaTool: string; machine: string }> {
  const want = (name: string) => !o.only || o.only.test(name);
  const micro: Row[] = [];
  for (const name of Object.keys(FLOORS) as (keyof typeof FLOORS)[]) {
    for (const n of [1, 100]) {
      if (!want(`${name} x${n}`)) continue;
      o.progress(`bench: ${name} x${n}: ${Math.min(o.durationS, 5)} s in-process`);
      micro.push(floorRow(name, n, Math.min(o.durationS, 5)));
    }
  }
  const loadBefore = loadavg()[0]!;
  const kafka = (await status(o.stack, ['kafka']))[0]!;
  if (kafka.pid === undefined) throw new Error('Kafka is not running locally (adme stack up kafka); the benchmark reads its CPU from /proc');
  const keysFile = join(mkdtempSync(join(tmpdir(), 'adme-bench-')), 'keys.json');
  const key = createKey(keysFile, ['ingest'], { rate: 1e9, burst: 1e9 }).secret;
  const topic = `adme.bench.events.${Date.now().toString(36)}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  o.progress(`bench: starting the gateway on ${url} (${o.threads} thread(s)), topic ${topic}`);
  // Extra node flags for the gateway only (e.g. --cpu-prof while profiling), as `adme bench stream` takes them.
  const nodeArgs = nodeArgsFrom('ADME_BENCH_GATEWAY_NODE_ARGS');
  const gw = spawn(process.execPath, [...nodeArgs, join(o.projectDir, 'bin', 'adme.js'), 'gateway', '--port', String(port), '--topic', topic, '--keys-file', keysFile, '--threads', String(o.threads)], { stdio: ['ignore', 'ignore', 'inherit'], env: process.env });
  const rows: Row[] = [...micro];
  try {
    await waitUntil('the gateway', async () => (await fetch(`${url}/readyz`)).status === 200);
    const model = new TrafficModel({ seed: 42, users: 100_000 });
    const authorization = `Bearer ${key}`;

    const http = async (name: string, target: string, serverPid: number, events: number, format: 'json' | 'msgpack', pipelining = 1) => {
      if (!want(name)) return;
      // 32 distinct bodies, cycled; timestamps stay inside the accepted window for the whole run.
      const bodies = Array.from({ length: 32 }, () => {
        const batch = model.batch(events, Date.now());
        return format === 'json' ? JSON.stringify(batch) : encodeMsgpack(batch);
      });
      const headers = { authorization, 'content-type': format === 'json' ? 'application/json' : 'application/msgpack' };
      o.progress(`bench: ${name}: ${o.durationS} s, ${o.connections} connections${pipelining > 1 ? `, pipelining ${pipelining}` : ''}`);
      await autocannon({ url: `${target}/v1/events`, method: 'POST', connections: o.connections, duration: 1, headers, body: bodies[0] }); // warm-up
      const m = await measure(serverPid, kafka.pid!, () => autocannon({
        url: `${target}/v1/events`, connections: o.connections, pipelining, duration: o.durationS,
        requests: bodies.map((body) => ({ method: 'POST', headers, body })),
      }));
      const r = m.result;
      const total = r.requests.total;
      rows.push({
        scenario: name,
        eventsPerSecond: round((total * events) / m.wallS),
        requestsPerSecond: round(total / m.wallS),
        p50Ms: r.latency.p50, p99Ms: r.latency.p99,
        errors: r.errors + r.timeouts, non2xx: r.non2xx,
        serverCpuUsPerRequest: round(m.serverUs / total, 1),
        serverCpuUsPerEvent: round(m.serverUs / (total * events), 2),
        serverCpuCores: round(m.serverUs / 1e6 / m.wallS, 2),
        kafkaCpuCores: round(m.kafkaUs / 1e6 / m.wallS, 2),
      });
      o.progress(`bench: ${name}: ${JSON.stringify(rows.at(-1))}`);
    };

    const gwPid = gw.pid!;
    for (const format of ['msgpack', 'json'] as const) {
      for (const events of [1, 100, 1000]) await http(`POST ${format} x${events}`, url, gwPid, events, format);
    }
    // No pipelined run against the gateway: this uWS build aborts a request whose answer is still
    // pending when the next pipelined request arrives (docs/gateway.md); the gateway's answers wait for Kafka.

    // WebSocket: K producers, frames of 100 events, window 16 each.
    for (const k of [1, 64]) {
      const name = `WS ${k} producer${k > 1 ? 's' : ''} x100/frame`;
      if (!want(name)) continue;
      o.progress(`bench: ${name}: ${o.durationS} s`);
      const producers = await Promise.all(Array.from({ length: k }, () => WsProducer.connect(`ws://127.0.0.1:${port}/v1/ingest`, key)));
      const frames = Array.from({ length: 32 }, () => model.batch(100, Date.now()));
      const lat: number[] = [];
      let acked = 0;
      let nacks = 0;
      const m = await measure(gwPid, kafka.pid, async () => {
        const end = Date.now() + o.durationS * 1000;
        await Promise.all(producers.flatMap((p, pi) => Array.from({ length: p.window }, async (_, lane) => {
          let i = pi + lane;
          while (Date.now() < end) {
            const t0 = performance.now();
            const r = await p.send(frames[i++ % frames.length]!);
            lat.push(performance.now() - t0);
            if (isNack(r)) nacks++;
            else acked++;
          }
        })));
      });
      await Promise.all(producers.map((p) => p.close()));
      lat.sort((a, b) => a - b);
      rows.push({
        scenario: name,
        eventsPerSecond: round((acked * 100) / m.wallS), requestsPerSecond: round(acked / m.wallS),
        p50Ms: round(lat[Math.floor(lat.length / 2)] ?? 0, 1), p99Ms: round(lat[Math.floor(lat.length * 0.99)] ?? 0, 1),
        errors: 0, non2xx: nacks,
        serverCpuUsPerRequest: round(m.serverUs / (acked + nacks), 1),
        serverCpuUsPerEvent: round(m.serverUs / ((acked + nacks) * 100), 2),
        serverCpuCores: round(m.serverUs / 1e6 / m.wallS, 2),
        kafkaCpuCores: round(m.kafkaUs / 1e6 / m.wallS, 2),
      });
      o.progress(`bench: ${name}: ${JSON.stringify(rows.at(-1))}`);
    }
  } finally {
    await stop(gw);
  }

  // Ceiling 1: an empty uWS handler, same load generator, same 1-event body.
  if (want('empty uWS')) {
    const emptyPort = await freePort();
    const empty = spawn(process.execPath, [join(o.projectDir, 'dist', 'bench', 'gateway-empty-server.js'), String(emptyPort)], { stdio: 'ignore' });
    try {
      const target = `http://127.0.0.1:${emptyPort}`;
      await waitUntil('the empty server', async () => (await fetch(target, { method: 'POST', body: '{}' })).status === 200);
      const model = new TrafficModel({ seed: 43, users: 1000 });
      for (const pipelining of [1, 10]) {
        const name = `empty uWS handler${pipelining > 1 ? ', pipelining 10' : ''}`;
        o.progress(`bench: ${name}: ${o.durationS} s`);
        const body = encodeMsgpack(model.batch(1, Date.now()));
        const m = await measure(empty.pid!, kafka.pid, () => autocannon({ url: `${target}/v1/events`, method: 'POST', connections: o.connections, pipelining, duration: o.durationS, body, headers: { 'content-type': 'application/msgpack' } }));
        const total = m.result.requests.total;
        rows.push({
          scenario: name, eventsPerSecond: 0, requestsPerSecond: round(total / m.wallS), p50Ms: m.result.latency.p50, p99Ms: m.result.latency.p99,
          errors: m.result.errors + m.result.timeouts, non2xx: m.result.non2xx,
          serverCpuUsPerRequest: round(m.serverUs / total, 1), serverCpuUsPerEvent: 0,
          serverCpuCores: round(m.serverUs / 1e6 / m.wallS, 2), kafkaCpuCores: round(m.kafkaUs / 1e6 / m.wallS, 2),
        });
        o.progress(`bench: ${name}: ${JSON.stringify(rows.at(-1))}`);
      }
    } finally {
      await stop(empty);
    }
  }

  // Ceiling 2: Kafka's own producer performance tool, records of one event's size, acks=all, idempotent.
  let kafkaTool = '(skipped)';
  if (want('kafka producer-perf')) {
    const size = encodeMsgpack(new TrafficModel({ seed: 44, users: 10 }).next(Date.now())).length;
    const records = 2_000_000;
    o.progress(`bench: kafka ProducerPerformance: ${records} records of ${size} B, acks=all, idempotent`);
    const perfTopic = `adme.bench.perf.${Date.now().toString(36)}`;
    const admin = new Kafka({ clientId: 'adme-bench', brokers: o.stack.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: perfTopic, numPartitions: 12, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const r = spawnSync(findJava17(o.stack.javaHome), ['-Xmx512m', '-cp', kafkaClasspath(o.stack), 'org.apache.kafka.tools.ProducerPerformance',
      '--topic', perfTopic, '--num-records', String(records), '--record-size', String(size), '--throughput', '-1',
      '--producer-props', `bootstrap.servers=${o.stack.kafka.brokers.join(',')}`, 'acks=all', 'enable.idempotence=true', 'linger.ms=5', 'batch.size=131072'], { encoding: 'utf8', timeout: 300_000 });
    kafkaTool = `${r.stdout.trim().split('\n').at(-1) ?? r.stderr} (record size ${size} B)`;
    o.progress(`bench: kafka ProducerPerformance: ${kafkaTool}`);
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}; gateway threads ${o.threads}; autocannon ${o.connections} connections, ${o.durationS} s per run; 1-min load average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`;
  const out = join(o.stack.stateDir, 'bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `gateway-threads${o.threads}.json`), JSON.stringify({ machine, rows, kafkaTool }, null, 2));
  return { rows, kafkaTool, machine };
}

export function markdown(r: { rows: Row[]; kafkaTool: string; machine: string }): string {
  const head = '| scenario | events/s | requests/s | p50 ms | p99 ms | errors | non-2xx | server CPU µs/request | µs/event | server cores | Kafka cores |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
  const lines = r.rows.map((x) => `| ${x.scenario} | ${x.eventsPerSecond} | ${x.requestsPerSecond} | ${x.p50Ms} | ${x.p99Ms} | ${x.errors} | ${x.non2xx} | ${x.serverCpuUsPerRequest} | ${x.serverCpuUsPerEvent} | ${x.serverCpuCores} | ${x.kafkaCpuCores} |`);
  return [`Machine: ${r.machine}`, '', head, ...lines, '', `Kafka ProducerPerformance: ${r.kafkaTool}`].join('\n');
}
