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
 * One local server: how to provision it into the per-user cache, prepare its per-clone state,
 * launch it, and ask it (by its own protocol) whether it is ready.
 */
export interface ServerDef {
  readonly name: ServerName;
  /** Human label used in progress lines and errors. */
  readonly label: string;
  readonly port: (c: StackConfig) => number;
  readonly external: (c: StackConfig) => boolean;
  /** Address shown by `status`. */
  readonly address: (c: StackConfig) => string;
  /** Resolves jars / builds binaries into the cache when missing; no-op when already there. */
  provision(c: StackConfig, progress: Progress): Promise<void>;
  /** Writes config files and formats storage on first start; returns the command to run. */
  prepare(c: StackConfig, progress: Progress): Promise<Launch>;
  /** One readiness probe over the server's protocol; resolves true when it answered. */
  probe(c: StackConfig): Promise<boolean>;
}
