import { spawn } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NAMES, type ServerName, down, loadStackConfig, logPath, status, tailFile, up, type ServerStatus, type StackConfig } from '../stack/index.js';
import { UsageError, parseCommandLine, positiveInt } from './args.js';
import { COMMANDS } from './commands.js';

/** The project root: the parent of cli/, from source (cli/main.ts) or compiled (dist/cli/main.js). */
function projectDir(): string {
  const parent = dirname(dirname(fileURLToPath(import.meta.url)));
  return basename(parent) === 'dist' ? dirname(parent) : parent;
}

const progress = (msg: string) => console.error(`[adme] ${msg}`);

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatStatus(rows: readonly ServerStatus[]): string {
  const table = [['SERVER', 'STATE', 'PID', 'PORT', 'DATA', 'ADDRESS'],
    ...rows.map((r) => [r.name, r.state, r.pid === undefined ? '-' : String(r.pid), String(r.port), formatBytes(r.dataBytes), r.address])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function printStatus(c: StackConfig, json: boolean): Promise<ServerStatus[]> {
  const rows = await status(c);
  console.log(json ? JSON.stringify(rows, null, 2) : formatStatus(rows));
  return rows;
}

function which(positionals: readonly string[]): ServerName[] {
  return positionals[0] ? [positionals[0] as ServerName] : [...SERVER_NAMES];
}

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(argv, COMMANDS);
  if (parsed.kind === 'help') {
    console.log(parsed.text);
    return 0;
  }
  const c = loadStackConfig(projectDir());
  const cmd = parsed.command.path.join(' ');
  switch (cmd) {
    case 'start': {
      const t0 = Date.now();
      await up(c, progress);
      progress(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      await printStatus(c, false);
      return 0;
    }
    case 'stack up': {
      const t0 = Date.now();
      await up(c, progress, which(parsed.positionals));
      progress(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'stack down':
      await down(c, progress, which(parsed.positionals));
      return 0;
    case 'stack status': {
      const rows = await printStatus(c, parsed.values.json === true);
      return rows.some((r) => r.state === 'unreachable') ? 1 : 0;
    }
    case 'stack logs': {
      const lines = positiveInt('lines', parsed.values.lines, 40);
      const names = which(parsed.positionals);
      if (parsed.values.follow === true) {
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
    }
    default:
      throw new UsageError(`command "${cmd}" is not implemented`, '');
  }
}

/** Runs the CLI and exits with its status; errors print their message (and usage for usage errors). */
export async function run(argv: readonly string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    const e = err as Error & { code?: string; usage?: string };
    console.error(`adme: ${e.message}`);
    if (e instanceof UsageError && e.usage) console.error(`\n${e.usage}`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}

export const projectRoot = projectDir;
