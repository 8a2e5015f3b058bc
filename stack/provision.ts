import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Progress } from './server.js';

/** Provisioning of a server failed (Maven resolution, Go build, ...). */
export class ProvisionError extends Error {
  readonly code = 'STACK_PROVISION_FAILED';
  constructor(readonly server: string, readonly step: string, detail: string) {
    super(`${server}: ${step} failed\n${detail}`);
    this.name = 'ProvisionError';
  }
}

/** Runs a command, printing a heartbeat every 15 s so a slow first run never looks hung. */
export function runWithHeartbeat(
  command: string,
  args: readonly string[],
  opts: { cwd: string; env?: Record<string, string>; progress: Progress; what: string },
): Promise<string> {
  const started = Date.now();
  const timer = setInterval(() => {
    opts.progress(`${opts.what}: still working (${Math.round((Date.now() - started) / 1000)} s)`);
  }, 15_000);
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      clearInterval(timer);
      if (err) {
        const out = `${stdout}\n${stderr}`.trim().split('\n').slice(-25).join('\n');
        reject(new Error(`${command} ${args.join(' ')} exited with ${String(err.code ?? err.message)}\n${out}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/**
 * Fills `target` once: `fill(tmp)` writes into a temporary sibling folder that is renamed into place
 * only when complete, so an interrupted first run never leaves a half-provisioned cache behind.
 */
export async function provisionOnce(target: string, fill: (tmp: string) => Promise<void>): Promise<boolean> {
  const stamp = join(target, '.complete');
  if (existsSync(stamp)) return false;
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await fill(tmp);
    writeFileSync(join(tmp, '.complete'), new Date().toISOString() + '\n');
    rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return true;
}

/** Resolves a pom's runtime dependencies from Maven Central into `<dir>/lib`. */
export async function mavenCopyDependencies(pom: string, props: Record<string, string>, dir: string, progress: Progress, what: string): Promise<void> {
  const args = ['-B', '-q', '-f', pom, ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
    'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${join(dir, 'lib')}`];
  await runWithHeartbeat('mvn', args, { cwd: dirname(pom), progress, what });
}
