import type { StackConfig, ServerName } from './config.js';

/** Progress lines for slow steps (provisioning, booting). */
export type Progress = (message: string) => void;

/** What it takes to start one server process. */
export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * One local server: how to provision it into the per-user cache, prepare the per-clone state of each
 * of its nodes, launch a node, and ask it (by its own protocol) whether it is ready. Nodes are numbered
 * from 1; a server with one node keeps its state in `<state dir>/<server>/`, node n of several in
 * `<state dir>/<server>-<n>/`.
 */
export interface ServerDef {
  readonly name: ServerName;
  /** Human label used in progress lines and errors. */
  readonly label: string;
  /** How many nodes the local stack runs of this server. */
  readonly nodes: (c: StackConfig) => number;
  /** Where node n listens (host:port), shown by `status`. */
  readonly listen: (c: StackConfig, node: number) => string;
  readonly external: (c: StackConfig) => boolean;
  /** Address of the whole server (every node), shown by `status` and in progress lines. */
  readonly address: (c: StackConfig) => string;
  /** Resolves jars / builds binaries into the cache when missing; no-op when already there. */
  provision(c: StackConfig, progress: Progress): Promise<void>;
  /** Writes node n's config files and formats its storage on first start; returns the command to run. */
  prepare(c: StackConfig, node: number, progress: Progress): Promise<Launch>;
  /**
   * One readiness probe of node n over the server's protocol (n = 0: the server as a whole, used for
   * external servers); resolves true when it answered and, in a cluster, has joined it.
   */
  probe(c: StackConfig, node: number): Promise<boolean>;
}
