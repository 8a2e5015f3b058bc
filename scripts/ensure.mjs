// Set-up run by `npm start`, `npm test` and `npm run bench` before anything else: installs npm
// dependencies when missing or stale, and compiles the TypeScript when a source is newer than dist/.
// Servers are provisioned by `adme stack up` itself (per-user cache), not here.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (m) => console.error(`[adme setup] ${m}`);

function mtime(p) {
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

function newest(dir) {
  let max = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) max = Math.max(max, newest(p));
    else if (e.name.endsWith('.ts')) max = Math.max(max, statSync(p).mtimeMs);
  }
  return max;
}

const lock = join(root, 'package-lock.json');
const marker = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(marker) || mtime(lock) > mtime(marker)) {
  say('installing npm dependencies (npm ci)…');
  execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}

const sources = ['cli', 'stack', 'runtime', 'actors', 'gateway', 'bench'].map((d) => newest(join(root, d)));
const built = mtime(join(root, 'dist', 'cli', 'main.js'));
const config = Math.max(mtime(join(root, 'tsconfig.json')), mtime(join(root, 'tsconfig.build.json')));
if (Math.max(config, ...sources) > built) {
  say('compiling TypeScript (tsc)…');
  execSync('npx tsc -p tsconfig.build.json', { cwd: root, stdio: 'inherit' });
}

// The viewer (viz/), served by the gateway from viz/dist/: rebuilt when any of its sources is newer.
function newestFile(dir, skip) {
  let max = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (p === skip) continue;
    max = Math.max(max, e.isDirectory() ? newestFile(p, skip) : statSync(p).mtimeMs);
  }
  return max;
}
const vizDist = join(root, 'viz', 'dist');
const vizSources = Math.max(newestFile(join(root, 'viz'), vizDist), newest(join(root, 'actors', 'model')), mtime(lock));
if (!existsSync(join(vizDist, 'index.html')) || vizSources > mtime(join(vizDist, 'index.html'))) {
  say('building the viewer (vite)…');
  execSync('npx vite build --config viz/vite.config.mjs --logLevel warn', { cwd: root, stdio: 'inherit' });
}
