import { describe, expect, it } from 'vitest';
import { UsageError, parseCommandLine, timeFlag } from '../../../cli/args.js';
import { COMMANDS } from '../../../cli/commands.js';
import { progressLine } from '../../../cli/replay-command.js';

describe('adme replay: flags and progress', () => {
  it('times are epoch ms or ISO 8601; anything else names the flag', () => {
    expect(timeFlag('from', '1700000000000')).toBe(1_700_000_000_000);
    expect(timeFlag('to', '2026-12-01T10:00:00Z')).toBe(Date.UTC(2026, 11, 1, 10));
    expect(() => timeFlag('from', 'yesterday')).toThrow(new UsageError('--from must be epoch milliseconds or an ISO 8601 date, got "yesterday"', ''));
    expect(() => timeFlag('to', undefined)).toThrow('--to is required');
  });

  it('parses its flags', () => {
    const p = parseCommandLine(['replay', '--from', '2026-12-01T10:00Z', '--to', '2026-12-01T11:00Z', '--db', 'fix', '--replace'], COMMANDS);
    expect(p.kind === 'run' && [p.command.path.join(' '), p.values.from, p.values.to, p.values.db, p.values.replace]).toEqual(['replay', '2026-12-01T10:00Z', '2026-12-01T11:00Z', 'fix', true]);
  });

  it('the progress line has a bar, a percentage and an ETA from the pace so far', () => {
    expect(progressLine(0, 8, 0, 'x')).toBe('[....................] 0% 0/8, x');
    expect(progressLine(2, 8, 3000, '10 events')).toBe('[#####...............] 25% 2/8, 10 events, ETA 9 s');
    expect(progressLine(8, 8, 9000, 'done')).toBe('[####################] 100% 8/8, done');
    expect(progressLine(0, 0, 0, 'nothing')).toBe('[####################] 100% 0/0, nothing');
  });
});
