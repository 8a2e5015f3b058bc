import { describe, expect, it } from 'vitest';
import type { RollupsAnswer } from '../../../actors/model/query.js';
import { bucketTotals, bucketsOf, replayOf } from '../../../viz/src/timetravel.js';

const counts = (impression: number, click = 0) => ({ impression, click, install: 0, purchase: 0, session_start: 0, custom: 0 });

describe('time travel', () => {
  const answer: RollupsAnswer = {
    from: 0, to: 180_000, precision: 3, stepMs: 60_000, types: [],
    rows: [
      { window: 0, cell: 'u09', lat: 48, lon: 2, total: 120, counts: counts(100, 20), value: 0, users: 40 },
      { window: 60_000, cell: 'u09', lat: 48, lon: 2, total: 6, counts: counts(6), value: 1.5, users: 3 },
      { window: 0, cell: 'xn7', lat: 35, lon: 139, total: 30, counts: counts(30), value: 0, users: 12 },
    ],
    privacyK: 0, withheld: 0,
  };

  it('groups rows by bucket with rates over the step', () => {
    const r = replayOf(answer);
    expect([...r.keys()]).toEqual([0, 60_000]);
    expect(r.get(0)!.map((c) => [c.cell, c.rate])).toEqual([['u09', 2], ['xn7', 0.5]]);
    expect([...r.get(0)![0]!.counts]).toEqual([100, 20, 0, 0, 0, 0]);
    expect(r.get(60_000)![0]!.value).toBe(1.5);
  });

  it('carries each row\'s users; a row without them (a server older than reach) has users unknown, not 0', () => {
    const r = replayOf(answer);
    expect(r.get(0)!.map((c) => c.users)).toEqual([40, 12]);
    expect(r.get(60_000)![0]!.users).toBe(3);
    const old = Object.fromEntries(Object.entries(answer.rows[0]!).filter(([k]) => k !== 'users'));
    const legacy = { ...answer, rows: [old] } as unknown as RollupsAnswer;
    expect(replayOf(legacy).get(0)![0]!.users).toBeUndefined();
  });

  it('buckets cover the range from the floored start; the 10 s series sums into them', () => {
    const b = bucketsOf(30_000, 180_000, 60_000);
    expect(b).toEqual([0, 60_000, 120_000]);
    const series: [number, number][] = [[-10_000, 99], [0, 1], [50_000, 2], [60_000, 4], [170_000, 8], [180_000, 99]];
    expect(bucketTotals(series, b, 60_000)).toEqual([3, 4, 8]);
    expect(bucketTotals(series, [], 60_000)).toEqual([]);
  });
});
