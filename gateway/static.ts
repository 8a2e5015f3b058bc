/**
 * The built viewer (viz/dist), served from memory at `/` on the gateway's port. Loaded once at start;
 * a missing build answers `/` with a page saying how to build it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
  '.woff2': 'font/woff2', '.map': 'application/json', '.wasm': 'application/wasm', '.txt': 'text/plain; charset=utf-8',
};

export interface StaticFile {
  readonly type: string;
  readonly body: Buffer;
  /** Hashed asset names never change: cache them for good. */
  readonly immutable: boolean;
}

export function loadStatic(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(dir)) return files;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const url = `/${relative(dir, p).split(sep).join('/')}`;
        files.set(url, { type: TYPES[extname(p)] ?? 'application/octet-stream', body: readFileSync(p), immutable: url.startsWith('/assets/') });
      }
    }
  };
  walk(dir);
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  return files;
}

export const NOT_BUILT = `<!doctype html><title>AdME</title><p>The viewer is not built (viz/dist is missing).
Run <code>npm start</code>, or <code>npx vite build --config viz/vite.config.mjs</code>, then restart the gateway.</p>`;
