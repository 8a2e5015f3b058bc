import { spawn } from 'node:child_process';
import { SERVER_NAMES, down, loadStackConfig, logPath, status, tailFile, up, type ServerName, type ServerStatus, type StackConfig } from '../stack/index.js';
import { UsageError, positiveInt, type CliContext, type Command } from './args.js';

const servers = [...SERVER_NAMES];

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatStatus(rows: readonly ServerStatus[]): string {
  const table = [['SERVER', 'STATE', 'PID', 'PORT', 'DATA', 'ADDRESS'],
    ...rows.map((r) => [r.name, r.state, r.pid === undefined ? '-' : String(r.pid), String(r.port), formatBytes(r.dataBytes), r.address])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

const which = (ctx: CliContext): ServerName[] => (ctx.positionals[0] ? [ctx.positionals[0] as ServerName] : [...SERVER_NAMES]);
const config = (ctx: CliContext): StackConfig => loadStackConfig(ctx.projectDir);

/** Brings the stack up, timing it; shared by `stack up` and the commands that need the servers. */
export async function stackUp(ctx: CliContext, names: readonly ServerName[] = SERVER_NAMES): Promise<StackConfig> {
  const c = config(ctx);
  const t0 = Date.now();
  await up(c, ctx.progress, names);
  ctx.progress(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return c;
}

export async function printStatus(c: StackConfig, json: boolean): Promise<ServerStatus[]> {
  const rows = await status(c);
  console.log(json ? JSON.stringify(rows, null, 2) : formatStatus(rows));
  return rows;
}

export const STACK_COMMANDS: readonly Command[] = [
  {
    path: ['stack', 'up'],
    summary: 'Provision (first run: minutes) and start Kafka, Cassandra and FerretDB on 127.0.0.1; waits until each answers.',
    args: [{ name: 'server', optional: true, choices: servers }],
    run: async (ctx) => {
      await stackUp(ctx, which(ctx));
      return 0;
    },
  },
  {
    path: ['stack', 'down'],
    summary: 'Stop the local servers (SIGTERM, then SIGKILL after ADME_STOP_TIMEOUT seconds). Data is kept.',
    args: [{ name: 'server', optional: true, choices: servers }],
    run: async (ctx) => {
      await down(config(ctx), ctx.progress, which(ctx));
      return 0;
    },
  },
  {
    path: ['stack', 'status'],
    summary: "Show each server's state, pid, port and data size.",
    options: { json: { type: 'boolean' } },
    optionHelp: [['--json', 'print machine-readable JSON']],
    run: async (ctx) => {
      const rows = await printStatus(config(ctx), ctx.values.json === true);
      return rows.some((r) => r.state === 'unreachable') ? 1 : 0;
    },
  },
  {
    path: ['stack', 'logs'],
    summary: "Print the end of a server's log (all servers when none is named).",
    args: [{ name: 'server', optional: true, choices: servers }],
    options: { lines: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' } },
    optionHelp: [['-n, --lines <n>', 'lines to show (default 40)'], ['-f, --follow', 'keep printing new lines until Ctrl-C (one server)']],
    run: async (ctx) => {
      const c = config(ctx);
      const lines = positiveInt('lines', ctx.values.lines, 40);
      const names = which(ctx);
      if (ctx.values.follow === true) {
        if (names.length !== 1) throw new UsageError('--follow needs one server name', '');
        const file = logPath(c, names[0]!);
        if (!file) throw new UsageError(`${names[0]} has no log yet (start it with adme stack up)`, '');
        const child = spawn('tail', ['-n', String(lines), '-F', file], { stdio: 'inherit' });
        return new Promise((res) => child.on('exit', (code) => res(code ?? 0)));
      }
      for (const name of names) {
        const file = logPath(c, name);
        if (names.length > 1) console.log(`==> ${name}: ${file ?? '(no log yet)'} <==`);
        if (file) console.log(tailFile(file, lines));
      }
      return 0;
    },
  },
];
