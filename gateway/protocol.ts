/**
 * Every message that crosses between the gateway's main thread and its uWS worker threads (threads.ts,
 * worker.ts). With several threads the main thread owns the process's one live view (live/service.ts);
 * the `live-*` messages carry viewers, their frames and the query API to and from it (live/remote.ts).
 */
import type { MetricsSnapshot } from './metrics.js';
import type { Answer } from './query/api.js';

/** Worker → main. */
export type WorkerMessage =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'closed' }
  /** A worker serving /metrics asks for every thread's snapshot. */
  | { readonly type: 'metrics-request'; readonly id: number }
  | { readonly type: 'metrics-snapshot'; readonly id: number; readonly snapshot: MetricsSnapshot }
  | LiveUp;

/** Main → worker. */
export type MainMessage =
  | { readonly type: 'close' }
  | { readonly type: 'reload-keys' }
  | { readonly type: 'metrics-snapshot-request'; readonly id: number }
  /** `id` is the asking worker's own request id. */
  | { readonly type: 'metrics-response'; readonly id: number; readonly snapshots: MetricsSnapshot[] }
  | LiveDown;

/** A worker's viewers and queries, to the live view. Viewer ids are the worker's own. */
export type LiveUp =
  | { readonly type: 'live-open'; readonly viewer: number }
  | { readonly type: 'live-message'; readonly viewer: number; readonly bytes: Uint8Array }
  | { readonly type: 'live-close'; readonly viewer: number }
  /** Bytes each listed viewer's socket has not written yet: flat [viewer, bytes, viewer, bytes, ...]. */
  | { readonly type: 'live-buffered'; readonly amounts: number[] }
  | { readonly type: 'live-query'; readonly id: number; readonly path: string; readonly qs: string };

/** The live view's answers, to one worker. */
export type LiveDown =
  /**
   * Frames of one flush: each shared frame body once, then per frame `[viewer, body index, seq, sub]`
   * (flat); the worker adds each viewer's `seq` and `sub` (frames.ts withHeader). `raw` are whole
   * messages (error answers).
   */
  | { readonly type: 'live-frames'; readonly bodies: Uint8Array[]; readonly frames: number[]; readonly raw: [number, Uint8Array][] }
  | { readonly type: 'live-answer'; readonly id: number; readonly answer: Answer }
  | { readonly type: 'live-ready'; readonly ready: boolean };
