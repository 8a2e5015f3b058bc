/**
 * Headless Chromium for the browser tests: Debian's `chromium` package driven by playwright-core
 * (never `npx playwright install`, which downloads a browser of its own). WebGL runs on SwiftShader.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

const CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'];

/** Flags that make WebGL2 work without a GPU (float render targets included) and keep Chromium quiet. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
];

const HOW = 'install it with "sudo apt-get install -y chromium" (Debian\'s package; the tests never download a browser)';

/** The Chromium executable, installed with apt when missing and this process is root. */
export function chromiumPath(log: (m: string) => void = (m) => console.error(m)): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error(`Chromium is not installed (looked for ${CANDIDATES.join(', ')}); ${HOW}`);
  log('[browser] Chromium is missing: apt-get install -y chromium (a few minutes the first time)…');
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 15 * 60_000 });
  } catch (err) {
    throw new Error(`installing Chromium with apt-get failed (${(err as Error).message}); ${HOW}`);
  }
  const after = CANDIDATES.find((p) => existsSync(p));
  if (!after) throw new Error(`apt-get installed chromium but none of ${CANDIDATES.join(', ')} exists; ${HOW}`);
  log(`[browser] installed ${after}`);
  return after;
}

export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh profile directory (removed again by close()) and a fixed 1280×800 viewport. */
export async function launchBrowser(): Promise<TestBrowser> {
  const executablePath = chromiumPath();
  const profile = mkdtempSync(join(tmpdir(), 'adme-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000, viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
