/**
 * How the routes of one uWS thread reach the live view: the process's one live store, on this thread
 * ({@link LiveService}) or on the main thread through messages (remote.ts). Routes see no difference.
 */
import type { Answer } from '../query/api.js';
import type { ViewerPort } from './hub.js';

/** A viewer's side of the live view, once its socket is open. */
export interface LiveViewer {
  /** A binary message the viewer sent (subscribe, credit, resync). */
  message(bytes: Uint8Array): void;
  /** The socket closed. */
  close(): void;
}

export interface LiveAccess {
  /** A new viewer; frames go out through `port`. */
  open(port: ViewerPort): LiveViewer;
  /** A query API request (`path` is one of QUERY_PATHS, `qs` the raw query string). */
  query(path: string, qs: string): Promise<Answer>;
  /** True once the live horizon has been replayed from the deltas topic (readiness). */
  ready(): boolean;
  /** The live view's metrics, for this thread's `/metrics` snapshot (empty when another thread owns them). */
  metrics(): Record<string, number>;
}
