/**
 * One uWS app per worker thread, all listening on the same port (uWS sets SO_REUSEPORT, so the kernel
 * spreads connections over the threads), each with its own Kafka producer and micro-batcher.
 * With one thread (the default, see docs/gateway.md for the measurement) the app runs on the main thread.
 */
import { Worker } from 'node:worker_threads';
import type { GatewayConfig } from './config.js';
import { startGateway } from './server.js';

/** Messages from a gateway worker thread to the main thread. */
export type WorkerMessage =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'closed' };

/** Messages from the main thread to a worker. */
export type MainMessage = { readonly type: 'close' } | { readonly type: 'reload-keys' };

export interface GatewayHandle {
  readonly port: number;
  readonly threads: number;
  reloadKeys(): void;
  close(): Promise<void>;
}

export async function runGateway(cfg: GatewayConfig, log: (message: string) => void): Promise<GatewayHandle> {
  if (cfg.threads === 1) {
    const gw = await startGateway(cfg, log);
    return { port: gw.port, threads: 1, reloadKeys: () => gw.keys.reload(), close: () => gw.close() };
  }
  if (cfg.port === 0) throw new Error('--threads > 1 needs a fixed --port (threads share it)');
  const workers: Worker[] = [];
  const ports = await Promise.all(Array.from({ length: cfg.threads }, (_, i) => new Promise<number>((resolve, reject) => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { cfg, index: i } });
    workers.push(w);
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'listening') resolve(m.port);
      else if (m.type === 'log') log(`[thread ${i}] ${m.message}`);
      else if (m.type === 'failed') reject(new Error(`gateway thread ${i}: ${m.message}`));
    });
    w.on('error', reject);
  })));
  return {
    port: ports[0]!,
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
