import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SERVER_NAMES, down, loadStackConfig, status, type ServerName } from '../stack/index.js';
import { positiveInt, type CliContext, type Command } from './args.js';
import { untilSignal } from './context.js';
import { printStatus, stackUp } from './stack-commands.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `adme <args>` as a child, its output prefixed with `name`. */
function child(ctx: CliContext, name: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const p = spawn(process.execPath, [join(ctx.projectDir, 'bin', 'adme.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const relay = (b: Buffer) => {
    for (const line of b.toString().split('\n')) if (line.trim()) console.error(`[${name}] ${line}`);
  };
  p.stdout?.on('data', relay);
  p.stderr?.on('data', relay);
  return p;
}

async function capture(ctx: CliContext, args: string[]): Promise<string> {
  const p = spawn(process.execPath, [join(ctx.projectDir, 'bin', 'adme.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((r) => p.on('exit', r));
  if (code !== 0) throw new Error(`adme ${args.join(' ')} exited with ${String(code)}`);
  return out.trim().split('\n').pop() ?? '';
}

async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(t);
}

/**
 * `adme start` (what `npm start` runs): the whole pipeline on this machine — the stack, one runtime,
 * the gateway, and the simulator at a moderate rate — until Ctrl-C, which stops everything it started.
 */
export const START_COMMAND: Command = {
  path: ['start'],
  summary: 'Run the whole pipeline locally: stack, runtime, gateway (with the live map) and simulated traffic, until Ctrl-C.',
  options: { rate: { type: 'string' }, port: { type: 'string' }, 'keep-stack': { type: 'boolean' } },
  optionHelp: [
    ['--rate <n>', 'simulated events/s (ADME_START_RATE, default 2000)'],
    ['--port <n>', 'gateway port (ADME_PORT, default 8080)'],
    ['--keep-stack', 'leave the servers running after Ctrl-C even if this command started them'],
  ],
  run: async (ctx) => {
    const rate = positiveInt('rate', ctx.values.rate ?? process.env.ADME_START_RATE, 2000);
    const port = positiveInt('port', ctx.values.port ?? process.env.ADME_PORT, 8080);
    const before = await status(loadStackConfig(ctx.projectDir));
    const startedByUs = before.filter((s) => s.state === 'stopped').map((s) => s.server);
    const stack = await stackUp(ctx);
    await printStatus(stack, false);

    const key = await capture(ctx, ['keys', 'create', '--scope', 'ingest', '--label', 'adme start simulator']);
    const viewerKey = await capture(ctx, ['keys', 'create', '--scope', 'view', '--label', 'adme start viewer']);
    const children: ChildProcess[] = [];
    const env = { ...process.env, ADME_PORT: String(port) };
    children.push(child(ctx, 'runtime', ['runtime', '--no-stack'], env));
    children.push(child(ctx, 'gateway', ['gateway'], env));
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/readyz`).then((r) => r.ok).catch(() => false);
      if (ok) break;
      if (i > 300) throw new Error(`gateway not ready at ${base}/readyz after 60 s`);
      await sleep(200);
    }
    children.push(child(ctx, 'simulate', ['simulate', '--url', base, '--key', key, '--rate', String(rate), '--duration', '31536000'], env));
    console.log([
      '',
      `AdME is running. Open the live map: ${base}/?key=${viewerKey}`,
      `Viewer key (view scope): ${viewerKey}`,
      `Gateway ${base} (POST /v1/events, WS /v1/ingest, WS /v1/stream, /v1/summary…, /metrics); runtime http://127.0.0.1:${process.env.ADME_RUNTIME_PORT ?? '9464'}/metrics.`,
      `Simulated traffic: ${rate} events/s with ingest key ${key}`,
      'Ctrl-C stops everything this command started.',
    ].join('\n'));

    const exited = new Promise<string>((resolve) => children.forEach((c, i) => c.once('exit', (code) => resolve(`${['runtime', 'gateway', 'simulate'][i]} exited (${String(code)})`))));
    const why = await Promise.race([untilSignal().then((s) => `signal ${s}`), exited]);
    ctx.progress(`stopping (${why})`);
    for (const c of [...children].reverse()) await stopChild(c);
    const toStop = SERVER_NAMES.filter((n: ServerName) => startedByUs.includes(n));
    if (ctx.values['keep-stack'] !== true && toStop.length > 0) await down(stack, ctx.progress, toStop);
    return why.startsWith('signal') ? 0 : 1;
  },
};
