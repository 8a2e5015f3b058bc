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
