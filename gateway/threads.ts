/**
 * One uWS app per worker thread, all listening on the same port (uWS sets SO_REUSEPORT, so the kernel
 * spreads connections over the threads), each with its own Kafka producer and micro-batcher. The default
 * is one per core but one (config.ts `defaultGatewayThreads`; docs/gateway.md has the measurement); with
 * one thread the app runs on the main thread. With several, the main thread holds the process's one live
 * view (one delta consumer, one live store, frames built once) and serves the threads' viewers and queries
 * through messages (live/remote.ts).
 * `/metrics`, served by whichever thread takes the connection, sums every thread's metrics.
 */
import { createServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { GatewayConfig } from './config.js';
import { watchHeapGrowth } from './heap-growth.js';
import { LiveLink } from './live/remote.js';
import { LiveService } from './live/service.js';
import { memoryGauges, type MetricsSnapshot } from './metrics.js';
import type { MainMessage, WorkerMessage } from './protocol.js';
import { startGateway } from './server.js';

export type { MainMessage, WorkerMessage } from './protocol.js';

export interface GatewayHandle {
  readonly port: number;
  readonly threads: number;
  reloadKeys(): void;
  close(): Promise<void>;
}

/** A port that is free on `host` now: the given one (checked) or, for 0, one the kernel picks. */
export function checkPort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`)));
    s.listen(port, host, () => {
      const chosen = (s.address() as { port: number }).port;
      s.close(() => resolve(chosen));
    });
  });
}

export async function runGateway(cfg: GatewayConfig, log: (message: string) => void): Promise<GatewayHandle> {
  if (cfg.threads === 1) {
    // uWS listens with SO_REUSEPORT: without this check a second gateway would silently share the port.
    const gw = await startGateway({ ...cfg, port: await checkPort(cfg.host, cfg.port) }, log);
    // One isolate: the heap's growing factor is this thread's to set (heap-growth.ts says why not with several).
    const heap = watchHeapGrowth({ percent: cfg.heapGrowingPercent, minRoomMb: cfg.heapMinRoomMb }, log);
    return {
      port: gw.port, threads: 1, reloadKeys: () => gw.keys.reload(),
      close: async () => {
        heap.stop();
        await gw.close();
      },
    };
  }
  const workers: Worker[] = [];
  const exited = new Set<Worker>();
  const live = new LiveService(cfg, (m) => log(`[live] ${m}`));
  live.start();
  const links = new Set<LiveLink>();
  // Readiness is pushed to the threads once the replay is done (polled: the feed has no event for it).
  const readiness = setInterval(() => {
    if (!live.ready()) return;
    clearInterval(readiness);
    for (const l of links) l.ready(true);
  }, 200);
  // Metrics gathering: request id -> who asked and the snapshots so far.
  let nextId = 0;
  const gathering = new Map<number, { from: Worker; requestId: number; snapshots: MetricsSnapshot[] }>();
  const start = (i: number, threadCfg: GatewayConfig) => new Promise<number>((resolve, reject) => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { cfg: threadCfg, index: i } });
    workers.push(w);
    const link = new LiveLink(live, (m, transfer) => w.postMessage(m satisfies MainMessage, transfer ?? []));
    links.add(link);
    link.ready(live.ready());
    w.once('exit', () => {
      exited.add(w);
      link.close();
      links.delete(link);
    });
    w.on('message', (m: WorkerMessage) => {
      if (m.type.startsWith('live-')) link.receive(m as Extract<WorkerMessage, { type: `live-${string}` }>);
      else if (m.type === 'listening') resolve(m.port);
      else if (m.type === 'log') log(`[thread ${i}] ${m.message}`);
      else if (m.type === 'failed') reject(new Error(`gateway thread ${i}: ${m.message}`));
      else if (m.type === 'metrics-request') {
        const id = nextId++;
        gathering.set(id, { from: w, requestId: m.id, snapshots: [] });
        for (const other of workers) other.postMessage({ type: 'metrics-snapshot-request', id } satisfies MainMessage);
      } else if (m.type === 'metrics-snapshot') {
        const g = gathering.get(m.id);
        if (!g) return;
        g.snapshots.push(m.snapshot);
        if (g.snapshots.length === workers.length) {
          gathering.delete(m.id);
          // The live view's metrics, once for the process (the threads report none); the main thread's
          // memory, added to the threads'.
          const [first, ...rest] = g.snapshots;
          const main = memoryGauges(true);
          const added = (name: string) => (first?.extra[name] ?? 0) + (main[name] ?? 0);
          const memory = Object.fromEntries(Object.keys(main).map((name) => [name, added(name)]));
          if (first) g.snapshots = [{ ...first, extra: { ...first.extra, ...live.metrics(), ...memory } }, ...rest];
          g.from.postMessage({ type: 'metrics-response', id: g.requestId, snapshots: g.snapshots } satisfies MainMessage);
        }
      }
    });
    w.on('error', reject);
  });
  // uWS shares a port between threads only when it is given explicitly (SO_REUSEPORT is not set for port
  // 0), and a thread that fails to listen cannot be torn down cleanly: so the port is chosen and checked
  // here, before any thread starts.
  const port = await checkPort(cfg.host, cfg.port);
  try {
    await Promise.all(Array.from({ length: cfg.threads }, (_, i) => start(i, { ...cfg, port })));
  } catch (err) {
    // Threads that started close cleanly; one that failed (Kafka unreachable) has no uWS app yet.
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      if (exited.has(w)) return resolve();
      w.once('exit', () => resolve());
      w.postMessage({ type: 'close' } satisfies MainMessage);
    })));
    clearInterval(readiness);
    await live.close();
    throw err;
  }
  return {
    port,
    threads: cfg.threads,
    reloadKeys: () => workers.forEach((w) => w.postMessage({ type: 'reload-keys' } satisfies MainMessage)),
    close: async () => {
      await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
        w.once('exit', () => resolve());
        w.postMessage({ type: 'close' } satisfies MainMessage);
      })));
      clearInterval(readiness);
      await live.close();
    },
  };
}
