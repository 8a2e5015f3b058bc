/**
 * `adme bench stream`: the live view under load. The runtime, the gateway and the simulator run as
 * their own processes and ingest `rate` events/s through the whole pipeline; this process holds
 * `viewers` WebSocket viewers on `WS /v1/stream` that grant a credit as soon as a frame is decoded (a
 * page that draws instantly). Then, in the same run and under the same ingest load, the same viewers
 * connect to the ceiling: a bare uWS app publishing a real frame of the measured size at 10 frames/s
 * (bench/stream-ceiling-server.ts). Gateway CPU is read from /proc over the measured interval.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { decode, encode, type ServerFrame } from '../actors/model/index.js';
import { createKey } from '../gateway/index.js';
import type { StackConfig } from '../stack/index.js';
import { cpuUs, nodeArgsFrom } from './proc.js';
import { dropRunStores } from './runtime-bench.js';

export interface StreamBenchOptions {
  readonly stack: StackConfig;
  readonly projectDir: string;
  readonly viewers: number;
  /** Simulated events/s through the gateway. */
  readonly rate: number;
  readonly warmupS: number;
  readonly durationS: number;
  /** Credits each viewer keeps outstanding (1, as the page: strictly one frame in flight). */
  readonly credit: number;
  readonly progress: (line: string) => void;
}

export interface StreamRun {
  readonly name: string;
  readonly viewers: number;
  readonly framesPerSecond: number;
  readonly framesPerViewerPerSecond: number;
  readonly bytesPerFrame: number;
  /** Frame receive time − the accept time of its oldest new event (ms); ceiling: none. */
  readonly ageP50Ms: number | null;
  readonly ageP99Ms: number | null;
  /** Frame receive time − the frame's `at` (ms): time in the socket. */
  readonly transitP99Ms: number | null;
  readonly serverCpuCores: number;
  readonly serverCpuUsPerFrame: number;
  /** The server's RSS when the measurement starts (after the warm-up) and when it ends. */
  readonly serverRssStartMiB: number;
  readonly serverRssMiB: number;
  /** The largest of the RSS samples taken every RSS_SAMPLE_MS during the measurement. */
  readonly serverRssMaxMiB: number;
  /** The gateway's V8 heaps in use, all threads (its /metrics), at the start and the end; null for the ceiling. */
  readonly heapStartMiB: number | null;
  readonly heapEndMiB: number | null;
  /** Its off-heap buffers (ArrayBuffers and the like) at the end. */
  readonly externalEndMiB: number | null;
  readonly ingestedPerSecond: number;
  /** Frame-clock ticks per second per frame clock (10 when the clock keeps time); ceiling: none. */
  readonly ticksPerSecondPerThread: number | null;
  /** Ticks per second per frame clock at which a view had changed since the previous tick. */
  readonly newsTicksPerSecondPerThread: number | null;
}

export interface StreamBenchResult {
  readonly machine: string;
  readonly rate: number;
  readonly credit: number;
  /** Gateway CPU (cores) while ingesting with no viewer: subtracted to charge the stream its own cost. */
  readonly ingestOnlyCpuCores: number;
  readonly stream: StreamRun;
  readonly ceiling: StreamRun;
  readonly ratio: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
/** Seconds of the ingest-only baseline and of the ceiling run, however long the stream run. */
const SIDE_RUN_S = 20;
const RSS_SAMPLE_MS = 10_000;

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

interface Child {
  readonly proc: ChildProcess;
  readonly log: string[];
}

function child(args: string[], env: Record<string, string>): Child {
  const proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const on = (b: Buffer) => log.push(...b.toString().split('\n').filter(Boolean));
  proc.stdout?.on('data', on);
  proc.stderr?.on('data', on);
  return { proc, log };
}

async function waitLog(c: Child, what: string, re: RegExp, timeoutMs = 90_000): Promise<RegExpExecArray> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    for (const l of c.log) {
      const m = re.exec(l);
      if (m) return m;
    }
    if (c.proc.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`${what} did not start:\n${c.log.slice(-15).join('\n')}`);
}

function stop(c: Child): Promise<void> {
  return new Promise((resolve) => {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) return resolve();
    c.proc.once('exit', () => resolve());
    c.proc.kill('SIGTERM');
    setTimeout(() => c.proc.kill('SIGKILL'), 15_000).unref();
  });
}

const CREDIT = Buffer.from(encode({ type: 'credit' }));

/** `n` sockets; in stream mode each subscribes to the world at zoom ~2 and returns a credit per frame. */
class ViewerFleet {
  frames = 0;
  bytes = 0;
  ages: number[] = [];
  transits: number[] = [];
  sample: Buffer | undefined;
  private sockets: WebSocket[] = [];

  async open(url: string, n: number, subscribe: boolean, credit: number): Promise<void> {
    const batch = 50;
    for (let i = 0; i < n; i += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.binaryType = 'nodebuffer';
        ws.once('open', () => {
          if (subscribe) ws.send(encode({ type: 'subscribe', bbox: [-180, -85, 180, 85], precision: 3, windowS: 60, credit }));
          resolve();
        });
        ws.once('error', reject);
        let n = 0;
        ws.on('message', (data: Buffer) => {
          // The load generator shares the 2 cores with the servers: it returns the credit first, with
          // pre-encoded bytes, and decodes one frame in 8 for the latency figures.
          if (subscribe) ws.send(CREDIT);
          this.frames++;
          this.bytes += data.byteLength;
          if (n++ % 8 !== 0) return;
          const f = decode<ServerFrame>(data);
          if (f.type === 'error') return;
          const now = Date.now();
          if (f.oldestAt > 0) this.ages.push(now - f.oldestAt);
          this.transits.push(now - f.at);
          if (f.cells.length > 0) this.sample = data; // snapshot or delta: the ceiling replays a real frame
        });
        this.sockets.push(ws);
      })));
    }
  }

  reset(): void {
    this.frames = 0;
    this.bytes = 0;
    this.ages = [];
    this.transits = [];
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((ws) => new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve();
      ws.once('close', () => resolve());
      ws.terminate();
    })));
    this.sockets = [];
  }
}

export async function runStreamBench(o: StreamBenchOptions): Promise<StreamBenchResult> {
  const id = `${Date.now().toString(36)}`;
  const name = `bench_stream_${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'adme-stream-bench-'));
  const keysFile = join(dir, 'keys.json');
  const key = createKey(keysFile, ['ingest', 'view'], { label: 'stream bench', rate: 10_000_000, burst: 10_000_000 }).secret;
  const env = {
    ADME_EVENTS_TOPIC: `${name}.events`, ADME_DELTAS_TOPIC: `${name}.deltas`, ADME_GROUP: `${name}-group`, ADME_KEYSPACE: name,
    ADME_MONGO_DB: name, ADME_KEYS_FILE: keysFile,
  };
  const bin = join(o.projectDir, 'bin', 'adme.js');
  const children: Child[] = [];
  const fleet = new ViewerFleet();
  try {
    o.progress('stream bench: starting the runtime and the gateway');
    // Extra node flags for the runtime process (as `adme bench runtime` takes them).
    const rtNodeArgs = nodeArgsFrom('ADME_BENCH_RUNTIME_NODE_ARGS');
    const rt = child([...rtNodeArgs, bin, 'runtime', '--no-stack', '--port', '0'], env);
    children.push(rt);
    await waitLog(rt, 'runtime', /listening on http:\/\/[\d.]+:(\d+)/);
    // Extra node flags for the gateway process only (e.g. --cpu-prof while profiling the stream).
    const gwNodeArgs = nodeArgsFrom('ADME_BENCH_GATEWAY_NODE_ARGS');
    const gw = child([...gwNodeArgs, bin, 'gateway', '--port', '0'], env);
    children.push(gw);
    const port = Number((await waitLog(gw, 'gateway', /ready on http:\/\/[\d.]+:(\d+)/))[1]);
    const base = `http://127.0.0.1:${port}`;
    o.progress(`stream bench: simulating ${o.rate} events/s through ${base}`);
    // The stream run lasts --duration (a soak: minutes); the ingest-only baseline and the ceiling need
    // no more than SIDE_RUN_S.
    const sideS = Math.min(o.durationS, SIDE_RUN_S);
    const total = o.warmupS * 3 + o.durationS + sideS * 2 + 90;
    const sim = child([bin, 'simulate', '--url', base, '--key', key, '--rate', String(o.rate), '--batch', '500', '--duration', String(total)], env);
    children.push(sim);
    const threads = Number((await waitLog(gw, 'gateway', /with (\d+) thread/))[1]);
    const metric = async (name: string) => {
      const text = await (await fetch(`${base}/metrics`)).text();
      let n = 0;
      for (const l of text.split('\n')) if (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) n += Number(l.slice(l.lastIndexOf(' ') + 1));
      return n;
    };
    const ingested = () => metric('adme_gateway_events_accepted_total');

    o.progress(`stream bench: ingest only (no viewers): warming up ${o.warmupS} s, measuring ${sideS} s`);
    await sleep(o.warmupS * 1000);
    const idle0 = cpuUs(gw.proc.pid!);
    const idleT0 = performance.now();
    await sleep(sideS * 1000);
    const ingestOnlyCpuCores = (cpuUs(gw.proc.pid!) - idle0) / 1e6 / ((performance.now() - idleT0) / 1000);

    const measure = async (runName: string, pid: number, url: string, subscribe: boolean, seconds: number): Promise<StreamRun> => {
      o.progress(`stream bench: ${runName}: opening ${o.viewers} viewers`);
      await fleet.open(url, o.viewers, subscribe, o.credit);
      o.progress(`stream bench: ${runName}: warming up ${o.warmupS} s`);
      await sleep(o.warmupS * 1000);
      fleet.reset();
      const cpu0 = cpuUs(pid);
      const in0 = await ingested();
      const ticks0 = await metric('adme_stream_ticks_total');
      const news0 = await metric('adme_stream_news_ticks_total');
      const rss0 = rssMiB(pid);
      const heapMiB = async () => (await metric('adme_gateway_heap_used_bytes')) / 2 ** 20;
      const external = async () => (await metric('adme_gateway_external_bytes')) / 2 ** 20;
      const heap0 = subscribe ? await heapMiB() : null;
      const t0 = performance.now();
      o.progress(`stream bench: ${runName}: measuring ${seconds} s`);
      let rssMax = rss0;
      for (let done = 0; done < seconds * 1000;) {
        const step = Math.min(RSS_SAMPLE_MS, seconds * 1000 - done);
        await sleep(step);
        done += step;
        const now = rssMiB(pid);
        rssMax = Math.max(rssMax, now);
        if (seconds > SIDE_RUN_S) o.progress(`stream bench: ${runName}: ${Math.round(done / 1000)} of ${seconds} s, server RSS ${Math.round(now)} MiB (max ${Math.round(rssMax)})`);
      }
      const wallS = (performance.now() - t0) / 1000;
      const cpu = cpuUs(pid) - cpu0;
      const in1 = await ingested();
      const ticks = (await metric('adme_stream_ticks_total')) - ticks0;
      // One frame clock per process since the live view is shared by the threads (a gateway without the
      // gauge ran one clock per thread).
      const clocks = (await metric('adme_stream_frame_clocks')) || threads;
      const news = (await metric('adme_stream_news_ticks_total')) - news0;
      const rss = rssMiB(pid);
      const heap1 = subscribe ? await heapMiB() : null;
      const external1 = subscribe ? await external() : null;
      const run: StreamRun = {
        name: runName, viewers: o.viewers,
        framesPerSecond: fleet.frames / wallS,
        framesPerViewerPerSecond: fleet.frames / wallS / o.viewers,
        bytesPerFrame: fleet.frames > 0 ? fleet.bytes / fleet.frames : 0,
        ageP50Ms: subscribe ? pct(fleet.ages, 50) : null,
        ageP99Ms: subscribe ? pct(fleet.ages, 99) : null,
        transitP99Ms: subscribe ? pct(fleet.transits, 99) : null,
        serverCpuCores: cpu / 1e6 / wallS,
        serverCpuUsPerFrame: fleet.frames > 0 ? cpu / fleet.frames : 0,
        serverRssStartMiB: rss0,
        serverRssMiB: rss,
        serverRssMaxMiB: Math.max(rssMax, rss),
        heapStartMiB: heap0,
        heapEndMiB: heap1,
        externalEndMiB: external1,
        ingestedPerSecond: (in1 - in0) / wallS,
        ticksPerSecondPerThread: subscribe ? ticks / wallS / clocks : null,
        newsTicksPerSecondPerThread: subscribe ? news / wallS / clocks : null,
      };
      await fleet.close();
      o.progress(`stream bench: ${runName}: ${Math.round(run.framesPerSecond)} frames/s, ${Math.round(run.bytesPerFrame)} B/frame`);
      return run;
    };

    const stream = await measure('gateway /v1/stream', gw.proc.pid!, `ws://127.0.0.1:${port}/v1/stream?key=${key}`, true, o.durationS);
    if (!fleet.sample) throw new Error('no frame with cells arrived: is the pipeline producing deltas?');
    const frameFile = join(dir, 'frame.bin');
    writeFileSync(frameFile, fleet.sample);
    const ceilingServer = child([join(o.projectDir, 'dist', 'bench', 'stream-ceiling-server.js'), '0', frameFile, '10'], {});
    children.push(ceilingServer);
    const cport = Number((await waitLog(ceilingServer, 'ceiling server', /listening (\d+)/))[1]);
    const ceiling = await measure('uWS publish ceiling', ceilingServer.proc.pid!, `ws://127.0.0.1:${cport}/`, false, sideS);
    return {
      machine: `${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      rate: o.rate, credit: o.credit, ingestOnlyCpuCores, stream, ceiling, ratio: stream.framesPerSecond / ceiling.framesPerSecond,
    };
  } finally {
    await fleet.close();
    for (const c of children.reverse()) await stop(c);
    // The run's keyspace and database go; its delta topic stays for `adme bench live-store` to replay.
    if (process.env.ADME_BENCH_KEEP !== '1') await dropRunStores(o.stack, [name], [name]).catch(() => undefined);
  }
}

export function streamBenchMarkdown(r: StreamBenchResult): string {
  const f = (n: number | null, d = 0) => (n === null ? '–' : n.toFixed(d));
  const row = (x: StreamRun) => `| ${x.name} | ${x.viewers} | ${f(x.framesPerSecond)} | ${f(x.framesPerViewerPerSecond, 2)} | ${f(x.ticksPerSecondPerThread, 1)} / ${f(x.newsTicksPerSecondPerThread, 1)} | ${f(x.bytesPerFrame)} | ${f(x.ageP50Ms)} / ${f(x.ageP99Ms)} | ${f(x.transitP99Ms)} | ${f(x.serverCpuCores, 2)} | ${f(x.serverCpuUsPerFrame, 1)} | ${f(x.serverRssStartMiB)} → ${f(x.serverRssMiB)} (max ${f(x.serverRssMaxMiB)}) | ${x.heapStartMiB === null ? '–' : `${f(x.heapStartMiB)} → ${f(x.heapEndMiB)}`} | ${f(x.externalEndMiB)} | ${f(x.ingestedPerSecond)} |`;
  return [
    `Machine: ${r.machine}. Simulated ingest: ${r.rate} events/s through the gateway. Viewer credit window: ${r.credit}.`,
    `Gateway CPU while ingesting with no viewer: ${r.ingestOnlyCpuCores.toFixed(2)} cores; the stream's own cost: ${(r.stream.serverCpuCores - r.ingestOnlyCpuCores).toFixed(2)} cores, ${((r.stream.serverCpuCores - r.ingestOnlyCpuCores) * 1e6 / Math.max(1, r.stream.framesPerSecond)).toFixed(1)} µs per frame.`,
    '',
    '| run | viewers | frames/s | frames/s per viewer | clock ticks/s per frame clock, all / with news | bytes/frame | age p50 / p99 ms | in-socket p99 ms | server CPU cores | server µs/frame | server RSS MiB, start → end (max) | V8 heaps MiB, start → end | off-heap MiB | ingested events/s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    row(r.stream),
    row(r.ceiling),
    '',
    `Ratio to the ceiling (delivered frames/s): **${(r.ratio * 100).toFixed(0)}%**.`,
  ].join('\n');
}
