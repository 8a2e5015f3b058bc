/** Runs `adme runtime` as a real child process (compiled CLI), for fault tests that kill and pause it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { ADME_BIN, waitFor } from './env.js';

export interface RuntimeProc {
  readonly proc: ChildProcess;
  readonly name: string;
  port: number;
  readonly log: string[];
  readonly exited: Promise<number | null>;
  healthz(): Promise<{ partitions: number[]; positions: Record<string, number | null> }>;
  metrics(): Promise<string>;
  signal(sig: NodeJS.Signals): void;
  stop(): Promise<number | null>;
}

export async function startRuntimeProc(name: string, env: Record<string, string>): Promise<RuntimeProc> {
  const proc = spawn(process.execPath, [ADME_BIN, 'runtime', '--no-stack', '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const onData = (b: Buffer) => {
    for (const line of b.toString().split('\n')) if (line) log.push(line);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))));
  const r: RuntimeProc = {
    proc, name, port: 0, log, exited,
    healthz: async () => (await (await fetch(`http://127.0.0.1:${r.port}/healthz`, { signal: AbortSignal.timeout(10_000) })).json()) as { partitions: number[]; positions: Record<string, number | null> },
    metrics: async () => (await fetch(`http://127.0.0.1:${r.port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text(),
    signal: (sig) => {
      proc.kill(sig);
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
  r.port = await waitFor(`${name} to listen`, () => {
    if (proc.exitCode !== null) throw new Error(`${name} exited: ${log.slice(-10).join('\n')}`);
    const m = log.map((l) => /listening on http:\/\/[\d.]+:(\d+)/.exec(l)).find(Boolean);
    return m ? Number(m[1]) : undefined;
  }, 60_000);
  return r;
}

/** Sum of a Prometheus counter over all its label sets. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
