import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line that cannot be run: unknown command, bad flag, missing argument. */
export class UsageError extends Error {
  readonly code = 'CLI_USAGE';
  constructor(message: string, readonly usage: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  /** Words that name the command, e.g. ['stack', 'up']. */
  readonly path: readonly string[];
  readonly summary: string;
  /**
   * Positional arguments, shown in usage; `choices` are validated. With `node`, a choice may carry a
   * `/<n>` suffix (`kafka/2`: node 2 of a cluster).
   */
  readonly args?: readonly { readonly name: string; readonly optional?: boolean; readonly choices?: readonly string[]; readonly node?: boolean }[];
  readonly options?: Options;
  /** One line per option: `--flag`, description (with its default and env var). */
  readonly optionHelp?: readonly (readonly [string, string])[];
}

/** What a command's handler gets. */
export interface CliContext {
  readonly projectDir: string;
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: readonly string[];
  /** Progress line on stderr, so stdout stays for results (e.g. a key's secret). */
  readonly progress: (message: string) => void;
}

/** A runnable command: its spec plus a handler resolving to the exit code. */
export interface Command extends CommandSpec {
  run(ctx: CliContext): Promise<number>;
}

export type Parsed<C extends CommandSpec = CommandSpec> =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'run'; readonly command: C; readonly values: Record<string, string | boolean | undefined>; readonly positionals: string[] };

function usageOf(spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a) => {
    const name = a.choices ? `${a.choices.join('|')}${a.node ? '[/n]' : ''}` : a.name;
    return a.optional ? `[${name}]` : `<${name}>`;
  });
  const lines = [`Usage: adme ${[...spec.path, ...args].join(' ')}${spec.options ? ' [options]' : ''}`, '', spec.summary];
  if (spec.optionHelp && spec.optionHelp.length > 0) {
    lines.push('', 'Options:');
    const width = Math.max(...spec.optionHelp.map(([f]) => f.length));
    for (const [flag, text] of spec.optionHelp) lines.push(`  ${flag.padEnd(width)}  ${text}`);
  }
  lines.push('  --help'.padEnd(2) + '  show this help');
  return lines.join('\n');
}

/** Top-level help: every command with its summary, grouped by first word. */
export function overview(commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  return [
    'adme — real-time geo analytics for advertisers',
    '',
    'Usage: adme <command> [options]       (adme <command> --help for details)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

/**
 * Parses argv (without `node` and the script) against the command table. Pure: no I/O, so the whole
 * command-line surface is unit tested.
 */
export function parseCommandLine<C extends CommandSpec>(argv: readonly string[], commands: readonly C[]): Parsed<C> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    return { kind: 'help', text: overview(commands) };
  }
  // Longest command path that prefixes argv wins ("stack up" before "stack").
  const matches = commands
    .filter((c) => c.path.every((w, i) => argv[i] === w))
    .sort((a, b) => b.path.length - a.path.length);
  const spec = matches[0];
  if (!spec) {
    const group = commands.filter((c) => c.path[0] === argv[0]);
    if (group.length > 0) {
      const sub = argv[1];
      const text = overview(group);
      if (sub === undefined || sub === '--help' || sub === '-h') return { kind: 'help', text };
      throw new UsageError(`unknown command "adme ${argv[0]} ${sub}"`, text);
    }
    throw new UsageError(`unknown command "${argv[0]}"`, overview(commands));
  }
  const rest = argv.slice(spec.path.length);
  const usage = usageOf(spec);
  if (rest.includes('--help') || rest.includes('-h')) return { kind: 'help', text: usage };
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options: spec.options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''), usage);
  }
  const specArgs = spec.args ?? [];
  const positionals = parsed.positionals;
  if (positionals.length > specArgs.length) {
    throw new UsageError(`unexpected argument "${positionals[specArgs.length]}"`, usage);
  }
  specArgs.forEach((a, i) => {
    const v = positionals[i];
    if (v === undefined) {
      if (!a.optional) throw new UsageError(`missing argument <${a.name}>`, usage);
      return;
    }
    const choice = a.node ? v.replace(/\/[1-9][0-9]*$/, '') : v;
    if (a.choices && !a.choices.includes(choice)) {
      throw new UsageError(`${a.name} must be one of ${a.choices.join(', ')}; got "${v}"`, usage);
    }
  });
  return { kind: 'run', command: spec, values: parsed.values as Record<string, string | boolean | undefined>, positionals };
}

/** Parses a positive integer flag value, naming the flag when it is not one. */
export function positiveInt(flag: string, raw: string | boolean | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n <= 0) throw new UsageError(`--${flag} must be a positive integer, got "${String(raw)}"`, '');
  return n;
}

/** Parses a non-negative integer flag value (0 allowed), naming the flag when it is not one. */
export function nonNegativeInt(flag: string, raw: string | boolean | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`--${flag} must be a non-negative integer, got "${String(raw)}"`, '');
  return n;
}

/** Parses a flag naming an existing file: its absolute path, or undefined when the flag is absent or empty. */
export function existingFile(flag: string, raw: string | boolean | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string') throw new UsageError(`--${flag} needs a file path`, '');
  const path = resolve(raw);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`--${flag} ${raw}: no such file`, '');
  return path;
}

/** Parses a time flag: epoch milliseconds or an ISO 8601 date. */
export function timeFlag(flag: string, raw: string | boolean | undefined): number {
  if (typeof raw !== 'string' || raw === '') throw new UsageError(`--${flag} is required: epoch milliseconds or an ISO 8601 date`, '');
  const n = /^-?\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be epoch milliseconds or an ISO 8601 date, got "${raw}"`, '');
  return n;
}
