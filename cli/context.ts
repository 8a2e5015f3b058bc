import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the parent of cli/, from source (cli/main.ts) or compiled (dist/cli/main.js). */
export function projectDir(): string {
  const parent = dirname(dirname(fileURLToPath(import.meta.url)));
  return basename(parent) === 'dist' ? dirname(parent) : parent;
}

export const progress = (message: string): void => {
  console.error(`[adme] ${message}`);
};

/** Resolves on the first SIGINT/SIGTERM: long-running commands await it, then stop what they started. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
