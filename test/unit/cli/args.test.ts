import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError, existingFile, parseCommandLine, positiveInt } from '../../../cli/args.js';
import { COMMANDS } from '../../../cli/commands.js';

const parse = (line: string) => parseCommandLine(line === '' ? [] : line.split(' '), COMMANDS);

function usageError(line: string): UsageError {
  try {
    parse(line);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`"${line}" parsed without error`);
}

describe('adme command line', () => {
  it('no arguments and --help print the command overview', () => {
    for (const line of ['', '--help', 'help']) {
      const p = parse(line);
      expect(p.kind).toBe('help');
      if (p.kind === 'help') expect(p.text).toContain('stack up');
    }
  });

  it('picks the longest matching command and keeps its positionals', () => {
    const p = parse('stack up kafka');
    expect(p.kind).toBe('run');
    if (p.kind !== 'run') return;
    expect(p.command.path).toEqual(['stack', 'up']);
    expect(p.positionals).toEqual(['kafka']);
  });

  it('parses options with values and short forms', () => {
    const p = parse('stack logs cassandra -n 5 --follow');
    if (p.kind !== 'run') throw new Error('expected run');
    expect(p.values).toEqual({ lines: '5', follow: true });
    expect(p.positionals).toEqual(['cassandra']);
  });

  it('--help on a command prints its usage with its options', () => {
    const p = parse('stack logs --help');
    expect(p.kind).toBe('help');
    if (p.kind === 'help') {
      expect(p.text).toContain('Usage: adme stack logs [kafka|cassandra|ferretdb[/n]] [options]');
      expect(p.text).toContain('--lines <n>');
    }
  });

  it('a command group without a sub-command lists the group', () => {
    const p = parse('stack');
    expect(p.kind).toBe('help');
    if (p.kind === 'help') expect(p.text).toContain('stack status');
  });

  it.each([
    ['deploy', 'unknown command "deploy"'],
    ['stack explode', 'unknown command "adme stack explode"'],
    ['stack up redis', 'server must be one of kafka, cassandra, ferretdb; got "redis"'],
    ['stack up kafka cassandra', 'unexpected argument "cassandra"'],
    ['stack status --verbose', "Unknown option '--verbose'"],
  ])('"%s" is a usage error: %s', (line, message) => {
    expect(usageError(line).message).toBe(message);
    expect(usageError(line).code).toBe('CLI_USAGE');
  });

  it('existingFile gives an absolute path, or names the flag and the path that is not a file', () => {
    expect(existingFile('peer', undefined)).toBeUndefined();
    expect(existingFile('peer', '')).toBeUndefined();
    expect(existingFile('peer', 'package.json')).toBe(resolve('package.json'));
    expect(() => existingFile('peer', 'no/such/run.sh')).toThrow('--peer no/such/run.sh: no such file');
    expect(() => existingFile('peer', 'test')).toThrow('--peer test: no such file');
    expect(() => existingFile('peer', true)).toThrow('--peer needs a file path');
  });

  it('positiveInt names the flag it rejects', () => {
    expect(positiveInt('lines', undefined, 40)).toBe(40);
    expect(positiveInt('lines', '7', 40)).toBe(7);
    expect(() => positiveInt('lines', '0', 40)).toThrow('--lines must be a positive integer, got "0"');
    expect(() => positiveInt('lines', 'x', 40)).toThrow('--lines must be a positive integer, got "x"');
  });
});
