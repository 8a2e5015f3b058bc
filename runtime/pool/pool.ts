import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { RuntimeError } from '../core/errors.js';
import type { TaskRequest, TaskResponse } from './protocol.js';

/**
 * Worker threads run compiled JavaScript. When the caller runs from TypeScript sources (tests), map
 * `<root>/x/y.ts` to `<root>/dist/x/y.js`, `<root>` being the nearest folder with a package.json.
 */
export function compiledModuleUrl(moduleUrl: string): string {
  const file = fileURLToPath(moduleUrl);
  if (!file.endsWith('.ts')) return moduleUrl;
  let root = dirname(file);
  while (!existsSync(join(root, 'package.json'))) {
    const up = dirname(root);
    if (up === root) throw new RuntimeError('RT_NO_BUILD', `no package.json above ${file}`, false);
    root = up;
  }
  const js = join(root, 'dist', relative(root, file)).replace(/\.ts$/, '.js');
  if (!existsSync(js)) throw new RuntimeError('RT_NO_BUILD', `${js} is missing: run npm run build`, false);
  return pathToFileURL(js).href;
}

export interface PoolOptions {
  /** Threads; default: one per core. */
  readonly threads?: number;
  /** Tasks queued beyond the threads before `run` is refused with RT_POOL_FULL. */
  readonly maxQueue?: number;
  /**
   * Each thread's young generation, MiB (V8: two semi-spaces and the new large-object space, a third
   * each); default V8's. Threads that hold long-lived state and allocate per event (the shard actors) are
   * scavenged far less, and promote less of what would have died young, with more (docs/runtime.md).
   */
  readonly youngGenerationMb?: number;
}

/** The worker-thread pool (piscina) that runs CPU work off the I/O event loop. */
export class WorkerPool {
  private readonly piscina: Piscina;
  readonly threads: number;

  constructor(opts: PoolOptions = {}) {
    const threads = opts.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError('options.threads must be a positive integer');
    this.threads = threads;
    this.piscina = new Piscina({
      filename: compiledModuleUrl(new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url).href),
      minThreads: threads,
      maxThreads: threads,
      maxQueue: opts.maxQueue ?? 1024,
      idleTimeout: 60_000,
      ...(opts.youngGenerationMb ? { resourceLimits: { maxYoungGenerationSizeMb: opts.youngGenerationMb } } : {}),
    });
  }

  /** Runs `fn` of `moduleUrl` (see {@link compiledModuleUrl}) on a worker; `transfer` moves buffers and ports. */
  async run<R>(moduleUrl: string, fn: string, payload: unknown, transfer?: (ArrayBuffer | MessagePort)[]): Promise<R> {
    const req: TaskRequest = { type: 'task', module: compiledModuleUrl(moduleUrl), fn, payload };
    const res = (await this.piscina.run(req, transfer ? { transferList: transfer } : {})) as TaskResponse;
    if (res.type === 'error') throw RuntimeError.fromWire(res.error);
    return res.value as R;
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  /** Busy fraction of the pool threads since start (piscina's utilization). */
  get utilization(): number {
    return this.piscina.utilization;
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
