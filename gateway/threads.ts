/**
 * One uWS app per worker thread, all listening on the same port (uWS sets SO_REUSEPORT, so the kernel
 * spreads connections over the threads), each with its own Kafka producer and micro-batcher. The default
 * is one thread per core (docs/gateway.md has the measurement); with one thread the app runs on the main
 * thread. `/metrics`, served by whichever thread takes the connection, sums every thread's metrics.
 */
import { createServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { GatewayConfig } from './config.js';
import type { MetricsSnapshot } from './metrics.js';
import { startGateway } from './server.js';

/** Every message that crosses between the main thread and a gateway worker. */
export type WorkerMessage =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'closed' }
  /** A worker serving /metrics asks for every thread's snapshot. */
  | { readonly type: 'metrics-request'; readonly id: number }
  | { readonly type: 'metrics-snapshot'; readonly id: number; readonly snapshot: MetricsSnapshot };

export type MainMessage =
  | { readonly type: 'close' }
  | { readonly type: 'reload-keys' }
  | { readonly type: 'metrics-snapshot-request'; readonly id: number }
  /** `id` is the asking worker's own request id. */
  | { readonly type: 'metrics-response'; readonly id: number; readonly snapshots: MetricsSnapshot[] };

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
    return { port: gw.port, threads: 1, reloadKeys: () => gw.keys.reload(), close: () => gw.close() };
  }
  const workers: Worker[] = [];
  const exited = new Set<Worker>();
  // Metrics gathering: request id -> who asked and the snapshots so far.
  let nextId = 0;
  const gathering = new Map<number, { from: Worker; requestId: number; snapshots: MetricsSnapshot[] }>();
  const start = (i: number, threadCfg: GatewayConfig) => new Promise<number>((resolve, reject) => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { cfg: threadCfg, index: i } });
    workers.push(w);
    w.once('exit', () => exited.add(w));
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'listening') resolve(m.port);
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
    },
  };
}
