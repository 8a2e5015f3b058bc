import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, geohashEncode, segmentKey, type FinalBlock } from '../../../actors/model/index.js';
import { filterRows, hotspotsAnswer, rollupsAnswer, segmentsAnswer, summaryAnswer, topAnswer } from '../../../gateway/query/answers.js';
import { bbox, parseQuery, QueryParamError, range, segmentFilter, types } from '../../../gateway/query/params.js';
import { blockPrefixes, overlappingWindows, prefixesFor, type StoredRow } from '../../../gateway/query/rollups.js';

const N = EVENT_TYPES.length;
/** A stored row: [impressions, clicks, installs, purchases] and a value. */
const row = (window: number, cell: string, c: number[], value = 0, partition = 0): StoredRow => {
  const sum = new Float64Array(N + 1);
  c.forEach((n, i) => {
    sum[i] = n;
  });
  sum[N] = value;
  return { window, partition, cell, sum };
};

describe('query parameters', () => {
  it('window= is the last span before to, and names what is wrong with it', () => {
    const to = 10 * 86_400_000;
    expect(range(parseQuery('window=1h'), to, 1, 86_400_000)).toEqual({ from: to - 3_600_000, to });
    expect(range(parseQuery(`window=15m&to=${to}`), 0, 1, 86_400_000)).toEqual({ from: to - 900_000, to });
    expect(range(parseQuery('window=90'), to, 1, 86_400_000)).toEqual({ from: to - 90_000, to });
    expect(range(parseQuery('window=1d'), to, 1, 86_400_000)).toEqual({ from: to - 86_400_000, to });
    expect(() => range(parseQuery('window=2d'), to, 1, 86_400_000)).toThrow('from: the range is 172800 s; at most 86400 s per request');
    expect(() => range(parseQuery('window=1w'), to, 1, 86_400_000)).toThrow(new QueryParamError('window', 'expected a span such as 90s, 15m, 1h or 1d (seconds without a unit), got "1w"'));
    expect(() => range(parseQuery('window=0s'), to, 1, 86_400_000)).toThrow('window: must be longer than 0, got "0s"');
    expect(() => range(parseQuery('window=1h&from=0'), to, 1, 86_400_000)).toThrow('window: give from or window, not both');
  });

  it('parses times, ranges, bbox and types, and names what is wrong', () => {
    const q = parseQuery('from=2026-01-01T00:00:00Z&to=1767225660000&bbox=1,2,3,4&types=click,purchase');
    expect(range(q, 0, 1, 3_600_000)).toEqual({ from: 1767225600000, to: 1767225660000 });
    expect(bbox(q)).toEqual([1, 2, 3, 4]);
    expect(types(q)).toEqual(['click', 'purchase']);
    expect(range(parseQuery(''), 100_000, 60_000, 3_600_000)).toEqual({ from: 40_000, to: 100_000 });
    expect(() => range(parseQuery('from=yesterday'), 0, 1, 1)).toThrow(new QueryParamError('from', 'expected epoch milliseconds or an ISO 8601 date, got "yesterday"'));
    expect(() => range(parseQuery('from=10&to=5'), 0, 1, 100)).toThrow('from: must be before to (from=10, to=5)');
    expect(() => range(parseQuery('from=0&to=7200000'), 0, 1, 3_600_000)).toThrow('from: the range is 7200 s; at most 3600 s per request');
    expect(() => bbox(parseQuery('bbox=0,50,10,40'))).toThrow('bbox: latitudes must satisfy -90 <= south <= north <= 90, got "0,50,10,40"');
    expect(() => types(parseQuery('types=click,view'))).toThrow('types: unknown event type "view"');
  });

  it('covers a bbox with 3-character prefixes, across the antimeridian too', () => {
    const paris = prefixesFor([2.2, 48.8, 2.5, 48.9])!;
    expect(paris).toEqual([geohashEncode(48.85, 2.35, 3)]);
    const fiji = prefixesFor([179, -18, -179, -17])!;
    expect(fiji).toContain(geohashEncode(-17.5, 179.5, 3));
    expect(fiji).toContain(geohashEncode(-17.5, -179.5, 3));
    expect(prefixesFor([-180, -90, 180, 90])).toBeUndefined(); // too many: no prefix filter
  });

  it('reads the blocks of those prefixes and of their shorter ones, and finds windows split two ways', () => {
    expect(blockPrefixes(['u09', 'u0d']).sort()).toEqual(['', 'u', 'u0', 'u09', 'u0d']);
    const f = (window: number, partition: number, prefix: string) => ({ window, partition, prefix }) as FinalBlock;
    // One split each: '' alone; 'u09', 'u0x', 'u1', 'd' (finalGroups never writes a prefix and one under it).
    expect(overlappingWindows([f(0, 1, ''), f(0, 2, 'u09'), f(0, 2, 'u0x'), f(0, 2, 'u1'), f(0, 2, 'd'), f(10, 2, 'u0')])).toEqual(new Set());
    // Window 0 of partition 1 written as one block and as 3-character blocks (before and after an upgrade).
    expect(overlappingWindows([f(0, 1, ''), f(0, 1, 'u09'), f(0, 2, 'u'), f(0, 2, 'dr5'), f(10, 2, 'u0'), f(10, 2, 'u09')])).toEqual(new Set(['0:1', '10:2']));
  });
});

describe('query answers', () => {
  const rows = [
    row(0, 'u09tvw', [10, 2, 1, 0], 5, 0), row(0, 'u09tvw', [5, 1, 0, 1], 2.5, 1), row(0, 'u09tvx', [1, 0, 0, 0]),
    row(10_000, 'u09tvw', [4, 0, 0, 0]), row(10_000, 'xn76ur', [0, 3, 0, 0]),
  ];

  it('rollups: sums partitions and sub-cells per bucket, only the asked types in total', () => {
    const a = rollupsAnswer(rows, { from: 0, to: 20_000, precision: 4, stepMs: 10_000, types: ['click'], privacyK: 0 });
    expect(a.rows.map((r) => [r.window, r.cell, r.total, r.counts.impression, r.value])).toEqual([
      [0, 'u09t', 3, 16, 7.5], [10_000, 'xn76', 3, 0, 0],
    ]);
    expect(rollupsAnswer(rows, { from: 0, to: 20_000, precision: 6, stepMs: 20_000, types: [...EVENT_TYPES], privacyK: 0 }).rows.map((r) => [r.cell, r.total]))
      .toEqual([['u09tvw', 24], ['u09tvx', 1], ['xn76ur', 3]]);
  });

  it('top: busiest first, limited', () => {
    expect(topAnswer(rows, { from: 0, to: 20_000, precision: 6, types: [...EVENT_TYPES], limit: 2, by: 'events', privacyK: 0 }).rows.map((r) => [r.cell, r.total])).toEqual([['u09tvw', 24], ['xn76ur', 3]]);
  });

  it('summary: totals, rates and a series with empty windows as zeros', () => {
    const s = summaryAnswer(rows, { from: 0, to: 30_000, windowMs: 10_000, privacyK: 0 });
    expect(s).toMatchObject({ events: 28, eventsPerSecond: 28 / 30, value: 7.5, clickThroughRate: 6 / 20, conversionRate: 2 / 6 });
    expect(s.counts).toEqual({ impression: 20, click: 6, install: 1, purchase: 1, session_start: 0, custom: 0 });
    expect(s.series).toEqual([[0, 21], [10_000, 7], [20_000, 0]]);
    expect(summaryAnswer([], { from: 0, to: 10_000, windowMs: 10_000, privacyK: 0 })).toMatchObject({ events: 0, clickThroughRate: null, conversionRate: null });
  });

  it('hotspots: cells far above their own baseline, and busy new cells', () => {
    const hist = [
      ...Array.from({ length: 90 }, (_, i) => row(i * 10_000, 'u09tvw', [10, 0, 0, 0])), // steady 1/s
      ...Array.from({ length: 90 }, (_, i) => row(i * 10_000, 'gcpvj0', [10, 0, 0, 0])),
      ...Array.from({ length: 6 }, (_, i) => row(900_000 + i * 10_000, 'u09tvw', [10, 0, 0, 0])), // still 1/s
      ...Array.from({ length: 6 }, (_, i) => row(900_000 + i * 10_000, 'gcpvj0', [50, 0, 0, 0])), // 5/s
      row(950_000, 'xn76ur', [30, 0, 0, 0]), // new: 0.5/s vs none
    ];
    const h = hotspotsAnswer(hist, { at: 960_000, windowS: 60, baselineS: 900, precision: 6, minEvents: 20, factor: 3, limit: 10, privacyK: 0 });
    expect(h.rows.map((r) => [r.cell, r.current, r.rate, r.baselineRate, r.ratio])).toEqual([
      ['xn76ur', 30, 0.5, 0, 450], ['gcpvj0', 300, 5, 1, 5],
    ]);
  });
});

describe('app and campaign filters', () => {
  const seg = (n: number, value = 0) => Float64Array.from([n, 0, 0, 0, 0, 0, value]);
  const rows: StoredRow[] = [
    { ...row(0, 'u09tvw', [10]), segs: new Map([[segmentKey('app-shop', 'cmp-01'), seg(4, 1.5)], [segmentKey('app-maps', 'cmp-01'), seg(3)], [segmentKey('app-shop', undefined), seg(1)]]) },
    { ...row(10_000, 'u09tvw', [2]), segs: null },
    { ...row(10_000, 'xn76ur', [6], 0, 1), segs: new Map([[segmentKey(undefined, 'cmp-02'), seg(6)]]) },
  ];

  it('reads repeated app= and campaign= parameters and names a bad one', () => {
    expect(segmentFilter('app=app-shop&app=a%2Cb&campaign=cmp-01')).toEqual({ apps: ['app-shop', 'a,b'], campaigns: ['cmp-01'] });
    expect(segmentFilter('types=click')).toEqual({ apps: [], campaigns: [] });
    expect(() => segmentFilter('app=')).toThrow(new QueryParamError('app', 'every id must be a string of 1-64 characters, got ""'));
  });

  it('sums only the matching segments of each row, leaving out rows with none', () => {
    const f = (apps: string[], campaigns: string[]) => [...filterRows(rows, { apps, campaigns })].map((r) => [r.window, r.cell, r.sum[0], r.sum[N]]);
    expect(f(['app-shop'], [])).toEqual([[0, 'u09tvw', 5, 1.5]]);
    expect(f([], ['cmp-01', 'cmp-02'])).toEqual([[0, 'u09tvw', 7, 1.5], [10_000, 'xn76ur', 6, 0]]);
    expect(f(['app-maps'], ['cmp-02'])).toEqual([]);
    expect(filterRows(rows, { apps: [], campaigns: [] })).toBe(rows);
    expect(summaryAnswer(filterRows(rows, { apps: ['app-shop'], campaigns: [] }), { from: 0, to: 20_000, windowMs: 10_000, privacyK: 0 }).counts.impression).toBe(5);
  });

  it('lists apps and campaigns busiest first with their events', () => {
    expect(segmentsAnswer(rows, { from: 0, to: 20_000, limit: 10, privacyK: 0 })).toEqual({
      from: 0, to: 20_000,
      apps: [{ id: 'app-shop', events: 5, users: 0 }, { id: 'app-maps', events: 3, users: 0 }],
      campaigns: [{ id: 'cmp-01', events: 7, users: 0 }, { id: 'cmp-02', events: 6, users: 0 }],
      privacyK: 0, withheld: 0,
    });
    expect(segmentsAnswer(rows, { from: 0, to: 20_000, limit: 1, privacyK: 0 }).campaigns).toEqual([{ id: 'cmp-01', events: 7, users: 0 }]);
  });
});
