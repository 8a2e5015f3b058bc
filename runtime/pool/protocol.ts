/** Every message that crosses between the actor threads and the worker pool. */
import type { WireError } from '../core/errors.js';

/** Run `fn` exported by ES module `module` (a file URL) with `payload`. */
export interface TaskRequest {
  readonly type: 'task';
  readonly module: string;
  readonly fn: string;
  readonly payload: unknown;
}

export type TaskResponse =
  | { readonly type: 'ok'; readonly value: unknown }
  | { readonly type: 'error'; readonly error: WireError };
