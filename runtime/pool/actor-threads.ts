/**
 * Actors placed on worker threads, their state living there (actor-host.ts). piscina starts and owns the
 * threads: each runs one long-lived host task, reached through a MessagePort of its own, so an actor stays
 * on the thread it was spawned on for its whole life. piscina's scheduler picks a free thread per task,
 * which is what spreads the host tasks one per thread; it has no notion of sending a second message to
 * the same thread, which is why messages go over the ports and not through `run`.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { RuntimeError } from '../core/errors.js';
import { compiledModuleUrl, WorkerPool } from './pool.js';
import type { HostCommand, HostEvent, HostInit, LoopStats } from './protocol.js';

export interface ActorThreadsOptions {
  /** Threads; default: one per core. */
  readonly threads?: number;
  /** Interval of the `{ type: 'tick' }` message every actor gets on its thread. */
  readonly tickMs: number;
  /** Each thread's young generation, MiB (PoolOptions.youngGenerationMb); default V8's. */
  readonly youngGenerationMb?: number;
}

/** What the owner of a placed actor hears from it. */
export interface PlacedActorHandlers {
  onEffects(effects: readonly unknown[]): void;
  /** Its `init` or `step` threw; it is gone from its thread. */
  onFailed(err: RuntimeError): void;
}

export interface ThreadStats {
  readonly thread: number;
  readonly actors: number;
  readonly loop: LoopStats;
}

interface Thread {
  readonly index: number;
  readonly port: MessagePort;
  readonly actors: Set<string>;
  readonly done: Promise<unknown>;
}

const HOST = new URL(import.meta.url.endsWith('.ts') ? './actor-host.ts' : './actor-host.js', import.meta.url).href;

export class ActorThreads {
  private readonly placed = new Map<string, { thread: Thread; handlers: PlacedActorHandlers }>();
  private readonly stopping = new Map<string, () => void>();
  private readonly statsWaiting = new Map<number, { want: number; got: ThreadStats[]; resolve: (s: ThreadStats[]) => void }>();
  private nextReq = 0;

  private constructor(private readonly pool: WorkerPool, private readonly threads: readonly Thread[]) {
    for (const t of threads) t.port.on('message', (e: HostEvent) => this.onEvent(t, e));
  }

  static start(o: ActorThreadsOptions): ActorThreads {
    if (!(o.tickMs > 0)) throw new RangeError('options.tickMs must be a positive number');
    const pool = new WorkerPool({ threads: o.threads, youngGenerationMb: o.youngGenerationMb });
    const threads: Thread[] = Array.from({ length: pool.threads }, (_, index) => {
      const { port1, port2 } = new MessageChannel();
      const init: HostInit = { port: port2, thread: index, tickMs: o.tickMs };
      const done = pool.run(HOST, 'hostActors', init, [port2]);
      return { index, port: port1, actors: new Set<string>(), done };
    });
    return new ActorThreads(pool, threads);
  }

  get size(): number {
    return this.threads.length;
  }

  /** The thread actor `id` lives on, or undefined. */
  threadOf(id: string): number | undefined {
    return this.placed.get(id)?.thread.index;
  }

  /**
   * Starts an actor of `moduleUrl`'s exported `logic` with `input` on the thread holding the fewest
   * actors (so partitions spread evenly); returns that thread's index.
   */
  spawn(id: string, moduleUrl: string, input: unknown, handlers: PlacedActorHandlers): number {
    if (this.placed.has(id)) throw new RuntimeError('RT_DUPLICATE_ACTOR', `actor ${id} already exists`, false);
    const thread = this.threads.reduce((a, b) => (b.actors.size < a.actors.size ? b : a));
    thread.actors.add(id);
    this.placed.set(id, { thread, handlers });
    this.post(thread, { type: 'spawn', id, module: compiledModuleUrl(moduleUrl), input });
    return thread.index;
  }

  /** Delivers `msg` to actor `id`; `transfer` moves its buffers instead of copying them. False if no such actor. */
  deliver(id: string, msg: unknown, transfer?: ArrayBuffer[]): boolean {
    const p = this.placed.get(id);
    if (!p) return false;
    p.thread.port.postMessage({ type: 'deliver', id, msg } satisfies HostCommand, transfer);
    return true;
  }

  /** Drops the actor and its state on its thread; effects it posted before are still handled. */
  stop(id: string): Promise<void> {
    const p = this.placed.get(id);
    if (!p) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.stopping.set(id, resolve);
      this.post(p.thread, { type: 'stop', id });
    });
  }

  /**
   * Each thread's event-loop delay and busy fraction since the previous call; a thread that has not
   * answered within `timeoutMs` (it is inside a long step) is left out.
   */
  stats(timeoutMs = 2000): Promise<ThreadStats[]> {
    const req = this.nextReq++;
    return new Promise<ThreadStats[]>((resolve) => {
      const timer = setTimeout(() => {
        const w = this.statsWaiting.get(req);
        this.statsWaiting.delete(req);
        resolve(w?.got.sort((a, b) => a.thread - b.thread) ?? []);
      }, timeoutMs);
      this.statsWaiting.set(req, {
        want: this.threads.length, got: [], resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
      });
      for (const t of this.threads) this.post(t, { type: 'stats', req });
    });
  }

  async close(): Promise<void> {
    for (const t of this.threads) this.post(t, { type: 'close' });
    await Promise.allSettled(this.threads.map((t) => t.done));
    await this.pool.close();
  }

  private post(t: Thread, c: HostCommand): void {
    t.port.postMessage(c);
  }

  private onEvent(t: Thread, e: HostEvent): void {
    switch (e.type) {
      case 'effects':
        this.placed.get(e.id)?.handlers.onEffects(e.effects);
        return;
      case 'failed': {
        const p = this.placed.get(e.id);
        this.forget(t, e.id);
        p?.handlers.onFailed(RuntimeError.fromWire(e.error));
        return;
      }
      case 'stopped':
        this.forget(t, e.id);
        this.stopping.get(e.id)?.();
        this.stopping.delete(e.id);
        return;
      case 'stats': {
        const w = this.statsWaiting.get(e.req);
        if (!w) return;
        w.got.push({ thread: e.thread, actors: e.actors, loop: e.loop });
        if (w.got.length === w.want) {
          this.statsWaiting.delete(e.req);
          w.resolve(w.got.sort((a, b) => a.thread - b.thread));
        }
        return;
      }
    }
  }

  private forget(t: Thread, id: string): void {
    if (this.placed.get(id)?.thread === t) this.placed.delete(id);
    t.actors.delete(id);
  }
}
