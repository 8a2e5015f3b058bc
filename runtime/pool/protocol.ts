/**
 * Every message that crosses between the main (I/O) thread and the worker threads. Only plain data and
 * transferable buffers cross: a logic's state never does.
 */
import type { MessagePort } from 'node:worker_threads';
import type { WireError } from '../core/errors.js';

/** Run `fn` exported by ES module `module` (a file URL) with `payload` (stateless pool tasks). */
export interface TaskRequest {
  readonly type: 'task';
  readonly module: string;
  readonly fn: string;
  readonly payload: unknown;
}

export type TaskResponse =
  | { readonly type: 'ok'; readonly value: unknown }
  | { readonly type: 'error'; readonly error: WireError };

/** Main thread → actor host thread (over the host's MessagePort). */
export type HostCommand =
  /** Load `module`'s `logic` (once per thread) and start an actor with `input`. */
  | { readonly type: 'spawn'; readonly id: string; readonly module: string; readonly input: unknown }
  /** One message for the actor's `step`. */
  | { readonly type: 'deliver'; readonly id: string; readonly msg: unknown }
  /** Drop the actor and its state; answered by `stopped`. */
  | { readonly type: 'stop'; readonly id: string }
  /** Ask for the thread's statistics; answered by `stats` with the same `req`. */
  | { readonly type: 'stats'; readonly req: number }
  /** End the host task (the thread returns to the pool). */
  | { readonly type: 'close' };

/** Event-loop delay of one thread since the previous `stats`, in milliseconds. */
export interface LoopStats {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Fraction of the wall time spent in steps since the previous `stats`. */
  readonly busy: number;
}

/** Actor host thread → main thread. */
export type HostEvent =
  | { readonly type: 'effects'; readonly id: string; readonly effects: readonly unknown[] }
  /** The actor's `init` or `step` threw: it is gone from the thread. */
  | { readonly type: 'failed'; readonly id: string; readonly error: WireError }
  | { readonly type: 'stopped'; readonly id: string }
  | { readonly type: 'stats'; readonly req: number; readonly thread: number; readonly actors: number; readonly loop: LoopStats };

/** What a host task is started with. */
export interface HostInit {
  readonly port: MessagePort;
  readonly thread: number;
  /** Every actor on the thread gets `{ type: 'tick' }` this often. */
  readonly tickMs: number;
}
