import { spawn } from 'node:child_process';
import { SERVER_NAMES, down, kill, loadStackConfig, logPath, parseTarget, range, status, tailFile, up, SERVERS, nodeName, type NodeRef, type ServerStatus, type StackConfig, type Target } from '../stack/index.js';
import { UsageError, positiveInt, type CliContext, type Command } from './args.js';

const TARGET = { name: 'server', optional: true, choices: [...SERVER_NAMES], node: true } as const;
const NODE = { name: 'server', choices: [...SERVER_NAMES], node: true } as const;
const NODES_OPTION = { nodes: { type: 'string' } } as const;
const NODES_HELP = ['--nodes <n>', 'Kafka brokers and Cassandra nodes (ADME_NODES; default 1, or what the running stack was started with)'] as const;

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

function config(ctx: CliContext): StackConfig {
  const nodes = ctx.values.nodes;
  if (typeof nodes === 'string') return loadStackConfig(ctx.projectDir, { ...process.env, ADME_NODES: nodes });
  return loadStackConfig(ctx.projectDir);
}

/** The named server or node (validated), or every server. */
function which(ctx: CliContext, c: StackConfig): Target[] {
  const spec = ctx.positionals[0];
  if (spec === undefined) return [...SERVER_NAMES];
  parseTarget(c, spec);
  return [spec as Target];
}

/** Exactly one node: `kafka/2` (or `ferretdb`, which is always one server). */
function oneNode(ctx: CliContext, c: StackConfig): NodeRef {
  const spec = ctx.positionals[0] ?? '';
  const { server, node } = parseTarget(c, spec);
  if (node === undefined && SERVERS[server].nodes(c) > 1) throw new UsageError(`name one node: ${server}/1 to ${server}/${SERVERS[server].nodes(c)}`, '');
  return { server, node: node ?? 1 };
}

/** Every node of the named server (or one node), for `logs`. */
function nodesOf(ctx: CliContext, c: StackConfig): NodeRef[] {
  return which(ctx, c).flatMap((t) => {
    const { server, node } = parseTarget(c, t);
    return node === undefined ? range(SERVERS[server].nodes(c)).map((n) => ({ server, node: n })) : [{ server, node }];
  });
}

/** Brings the stack up, timing it; shared by `stack up` and the commands that need the servers. */
export async function stackUp(ctx: CliContext, names?: readonly Target[]): Promise<StackConfig> {
  const c = config(ctx);
  names ??= [...SERVER_NAMES];
  const t0 = Date.now();
  await up(c, ctx.progress, names);
  ctx.progress(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return c;
}

/**
 * For the commands that end once the servers are up: a driver socket left over by a probe that raced a
 * booting node must not keep the CLI alive (seen once with a cluster booting). Unreferenced, so it only
 * fires when something else still holds the event loop.
 */
function exitSoon(): void {
  setTimeout(() => process.exit(), 3000).unref();
}

export async function printStatus(c: StackConfig, json: boolean): Promise<ServerStatus[]> {
  const rows = await status(c);
  console.log(json ? JSON.stringify(rows, null, 2) : formatStatus(rows));
  return rows;
}

export const STACK_COMMANDS: readonly Command[] = [
  {
    path: ['stack', 'up'],
    summary: 'Provision (first run: minutes) and start Kafka, Cassandra and FerretDB on loopback (--nodes 3: a cluster); waits until each answers.',
    args: [TARGET],
    options: NODES_OPTION,
    optionHelp: [NODES_HELP],
    run: async (ctx) => {
      await stackUp(ctx, which(ctx, config(ctx)));
      exitSoon();
      return 0;
    },
  },
  {
    path: ['stack', 'down'],
    summary: 'Stop the local servers or one node (SIGTERM, then SIGKILL after ADME_STOP_TIMEOUT seconds). Data is kept.',
    args: [TARGET],
    options: NODES_OPTION,
    optionHelp: [NODES_HELP],
    run: async (ctx) => {
      const c = config(ctx);
      await down(c, ctx.progress, which(ctx, c));
      return 0;
    },
  },
  {
    path: ['stack', 'kill'],
    summary: 'kill -9 one node (a failure drill): no shutdown, no flush. `adme stack start` brings it back.',
    args: [NODE],
    options: NODES_OPTION,
    optionHelp: [NODES_HELP],
    run: async (ctx) => {
      const c = config(ctx);
      const r = oneNode(ctx, c);
      const pid = await kill(c, r);
      ctx.progress(pid === undefined ? `${nodeName(c, r)}: not running` : `${nodeName(c, r)}: killed (SIGKILL, pid ${pid})`);
      return 0;
    },
  },
  {
    path: ['stack', 'start'],
    summary: 'Start one node (after a kill or a down) and wait until it has rejoined its cluster.',
    args: [NODE],
    options: NODES_OPTION,
    optionHelp: [NODES_HELP],
    run: async (ctx) => {
      const c = config(ctx);
      const r = oneNode(ctx, c);
      await stackUp(ctx, [nodeName(c, r) as Target]);
      exitSoon();
      return 0;
    },
  },
  {
    path: ['stack', 'status'],
    summary: "Show each server's (each node's) state, pid, port and data size.",
    options: { json: { type: 'boolean' }, ...NODES_OPTION },
    optionHelp: [['--json', 'print machine-readable JSON'], NODES_HELP],
    run: async (ctx) => {
      const rows = await printStatus(config(ctx), ctx.values.json === true);
      return rows.some((r) => r.state === 'unreachable') ? 1 : 0;
    },
  },
  {
    path: ['stack', 'logs'],
    summary: "Print the end of a server's or a node's log (all when none is named).",
    args: [TARGET],
    options: { lines: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' }, ...NODES_OPTION },
    optionHelp: [['-n, --lines <n>', 'lines to show (default 40)'], ['-f, --follow', 'keep printing new lines until Ctrl-C (one node)'], NODES_HELP],
    run: async (ctx) => {
      const c = config(ctx);
      const lines = positiveInt('lines', ctx.values.lines, 40);
      const names = nodesOf(ctx, c);
      if (ctx.values.follow === true) {
        if (names.length !== 1) throw new UsageError('--follow needs one node, e.g. kafka/2', '');
        const file = logPath(c, names[0]!);
        if (!file) throw new UsageError(`${nodeName(c, names[0]!)} has no log yet (start it with adme stack up)`, '');
        const child = spawn('tail', ['-n', String(lines), '-F', file], { stdio: 'inherit' });
        return new Promise((res) => child.on('exit', (code) => res(code ?? 0)));
      }
      for (const r of names) {
        const file = logPath(c, r);
        if (names.length > 1) console.log(`==> ${nodeName(c, r)}: ${file ?? '(no log yet)'} <==`);
        if (file) console.log(tailFile(file, lines));
      }
      return 0;
    },
  },
];
