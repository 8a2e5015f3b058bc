#!/usr/bin/env node
// The `adme` command. Runs the compiled CLI from dist/ (built by `npm start` / `npm test`, or `npm run build`).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(entry)) {
  console.error('adme: not built yet — run `npm run build` (npm start and npm test build it for you)');
  process.exit(1);
}
const { run } = await import(entry);
await run(process.argv.slice(2));
// A failed command may leave a client's sockets or timers open (a Kafka producer whose disconnect never
// came): it has said what went wrong, so it must not hang. Long-running commands that succeed are untouched.
if (process.exitCode !== undefined && process.exitCode !== 0) {
  const grace = Number(process.env.ADME_EXIT_GRACE_MS ?? 5000);
  setTimeout(() => {
    console.error(`adme: still open ${grace / 1000} s after failing; exiting`);
    process.exit(process.exitCode);
  }, grace).unref();
}
