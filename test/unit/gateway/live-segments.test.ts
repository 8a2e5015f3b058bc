import { describe, expect, it } from 'vitest';
import { decode, encode, EVENT_TYPES, OTHER_SEGMENT, OTHER_SEGMENT_KEY, packSegment, type CellsFrame, type DeltaRecord, type ErrorFrame } from '../../../actors/model/index.js';
import { StreamHub } from '../../../gateway/live/hub.js';
import { LiveStore } from '../../../gateway/live/store.js';
import { segmentsAnswer } from '../../../gateway/query/answers.js';

const W = 10_000;
const N = EVENT_TYPES.length;

/** A segment of one row: [app, campaign, impressions, value]. */
type Seg = [string, string, number, number];

/**
 * A delta with one row per [window, cell, impressions, segments]; the row's total impressions include
 * events of no segment, so they may exceed the segments' sum.
 */
function delta(partition: number, seq: number, rows: [number, string, number, Seg[]][]): DeltaRecord {
  const counts = new Uint32Array(rows.length * N);
  const apps: string[] = [];
  const campaigns: string[] = [];
  const perRow: number[] = [];
  const packed: number[] = [];
  rows.forEach(([, , imp, segs], i) => {
    counts[i * N] = imp;
    perRow.push(segs.length);
    for (const [app, campaign, n, value] of segs) {
      packSegment(packed, apps.length, [n, 0, 0, 0, 0, 0, value], 0);
      apps.push(app);
      campaigns.push(campaign);
    }
  });
  return {
    v: 1, partition, epoch: 1, seq, at: 1000 + seq, oldestAt: 1, precision: 6, windowMs: W,
    windows: Float64Array.from(rows.map((r) => r[0])), cells: rows.map((r) => r[1]), counts,
    values: new Float64Array(rows.length), users: new Uint32Array(rows.length),
    segments: [apps, campaigns, perRow, packed],
  };
}

const impressions = (s: LiveStore, windowS: number, precision: number, apps: string[] = [], campaigns: string[] = []) => {
  const v = s.acquire(windowS, precision, { apps, campaigns });
  const out = Object.fromEntries([...v.cells].map(([k, c]) => [k, c.sum[0]]));
  s.release(v);
  return out;
};

describe('LiveStore with app and campaign filters', () => {
  it('counts only the matching segments, summed over partitions; unfiltered views keep the totals', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 60_000 });
    const shop = s.acquire(10, 6, { apps: ['app-shop'], campaigns: [] }); // held while deltas arrive: kept incrementally
    s.apply(delta(0, 1, [[0, 'u09tvw', 10, [['app-shop', 'cmp-01', 4, 0], ['app-maps', 'cmp-01', 3, 0]]], [0, 'xn76ur', 5, [['app-maps', '', 5, 0]]]]));
    s.apply(delta(1, 1, [[0, 'u09tvw', 2, [['app-shop', 'cmp-02', 2, 0]]]]));
    s.apply(delta(0, 2, [[0, 'u09tvw', 12, [['app-shop', 'cmp-01', 6, 0], ['app-maps', 'cmp-01', 3, 0]]]])); // absolute: 4 → 6
    expect(Object.fromEntries([...shop.cells].map(([k, c]) => [k, c.sum[0]]))).toEqual({ u09tvw: 8 });
    expect(impressions(s, 10, 6, ['app-shop'])).toEqual({ u09tvw: 8 }); // built fresh: the same
    expect(impressions(s, 10, 6, [], ['cmp-01'])).toEqual({ u09tvw: 9 });
    expect(impressions(s, 10, 6, ['app-maps'], ['cmp-01'])).toEqual({ u09tvw: 3 });
    expect(impressions(s, 10, 6, ['app-maps', 'app-shop'])).toEqual({ u09tvw: 11, xn76ur: 5 });
    expect(impressions(s, 10, 6, ['app-news'])).toEqual({});
    expect(impressions(s, 10, 6)).toEqual({ u09tvw: 14, xn76ur: 5 });
    // Windows leave filtered views as they leave the window.
    s.apply(delta(1, 2, [[10_000, 'gcpvj0', 1, [['app-news', 'cmp-09', 1, 0]]]]));
    expect(Object.fromEntries([...shop.cells].map(([k, c]) => [k, c.sum[0]]))).toEqual({});
    expect(impressions(s, 60, 6, ['app-shop'])).toEqual({ u09tvw: 8 });
  });

  it('a delta carries only the segments that changed: the others keep their values', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 60_000 });
    const maps = s.acquire(10, 6, { apps: ['app-maps'], campaigns: [] });
    s.apply(delta(0, 1, [[0, 'u09tvw', 7, [['app-shop', '', 4, 0], ['app-maps', '', 3, 0]]]]));
    s.apply(delta(0, 2, [[0, 'u09tvw', 9, [['app-shop', '', 6, 0]]]])); // app-maps unchanged, not sent
    expect(impressions(s, 10, 6, ['app-shop'])).toEqual({ u09tvw: 6 });
    expect(Object.fromEntries([...maps.cells].map(([k, c]) => [k, c.sum[0]]))).toEqual({ u09tvw: 3 });
    expect(impressions(s, 10, 6)).toEqual({ u09tvw: 9 });
  });

  it('keeps a segment\'s values right as slots become non-zero (its packed form grows) and as they grow in place', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 60_000 });
    const shop = s.acquire(10, 6, { apps: ['app-shop'], campaigns: [] });
    const sums = (v = shop) => Object.fromEntries([...v.cells].map(([k, c]) => [k, [c.sum[0], c.sum[N]]]));
    s.apply(delta(0, 1, [[0, 'u09tvw', 6, [['app-shop', '', 4, 0], ['app-maps', '', 2, 0]]]]));
    s.apply(delta(0, 2, [[0, 'u09tvw', 7, [['app-shop', '', 5, 2.5]]]])); // the value slot appears: repacked
    expect(sums()).toEqual({ u09tvw: [5, 2.5] });
    s.apply(delta(0, 3, [[0, 'u09tvw', 9, [['app-shop', '', 6, 3.75], ['app-maps', '', 3, 0]]]])); // same slots: in place
    expect(sums()).toEqual({ u09tvw: [6, 3.75] });
    s.apply(delta(0, 4, [[0, 'u09tvw', 10, [['app-news', '', 1, 0]]]])); // a new segment: the others kept
    expect(sums()).toEqual({ u09tvw: [6, 3.75] });
    expect(impressions(s, 10, 6, ['app-maps'])).toEqual({ u09tvw: 3 });
    expect(impressions(s, 10, 6, ['app-news', 'app-shop'])).toEqual({ u09tvw: 7 });
    const fresh = s.acquire(10, 6, { apps: ['app-shop'], campaigns: [] });
    expect(sums(fresh)).toEqual({ u09tvw: [6, 3.75] });
    s.release(fresh);
    s.release(shop);
  });

  it('repairs segments from stored rows by taking the larger values', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 60_000 });
    s.apply(delta(0, 1, [[0, 'u09tvw', 5, [['app-shop', '', 5, 0]]]]));
    const seg = (n: number) => Float64Array.from([n, 0, 0, 0, 0, 0, 0]);
    s.repair(0, 0, 'u09tvw', seg(7), new Map([['8:app-shop', seg(3)], ['8:app-maps', seg(2)]]));
    expect(impressions(s, 10, 6)).toEqual({ u09tvw: 7 });
    expect(impressions(s, 10, 6, ['app-shop'])).toEqual({ u09tvw: 5 });
    expect(impressions(s, 10, 6, ['app-maps'])).toEqual({ u09tvw: 2 });
  });
});

describe('StreamHub with filters', () => {
  it('sends each viewer its own filter, re-snapshots on a filter change, and rejects a bad filter', () => {
    const hub = new StreamHub({ windowMs: W, horizonMs: 900_000, heartbeatMs: 1000, maxBuffered: 1 << 20 }, undefined, () => 0);
    const frames: (CellsFrame | ErrorFrame)[] = [];
    const v = hub.open({ send: (f) => (frames.push(decode(f)), true), buffered: () => 0 });
    const say = (m: unknown) => hub.message(v, encode(m));
    hub.applyDeltas([delta(0, 1, [[100_000, 'u09tvw', 9, [['app-shop', 'cmp-01', 4, 0], ['app-maps', 'cmp-02', 3, 0]]]])]);
    say({ type: 'subscribe', bbox: [-180, -90, 180, 90], precision: 6, windowS: 10, apps: ['app-shop'], credit: 8 });
    say({ type: 'subscribe', bbox: [-180, -90, 180, 90], precision: 6, windowS: 10, campaigns: ['cmp-02'], credit: 8 });
    hub.tick(100); // one frame per tick: the new subscription's snapshot goes out on the next
    say({ type: 'subscribe', bbox: [-180, -90, 180, 90], precision: 6, windowS: 10, apps: [7] });
    const cells = frames.map((f) => (f.type === 'error' ? f.message : [f.type, Object.fromEntries(f.cells.map((c, i) => [c, f.total[i]]))]));
    expect(cells).toEqual([['snapshot', { u09tvw: 4 }], ['snapshot', { u09tvw: 3 }], 'subscribe.apps every id must be a string of 1-64 characters, got 7']);
  });
});

describe('LiveStore: bounded segments per cell (ADME_MAX_SEGMENTS_PER_CELL)', () => {
  it('keeps the first pairs of a (window, cell) under their own key and counts the rest, exactly, as "other"', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 60_000, maxSegmentsPerCell: 2 });
    const other = s.acquire(10, 6, { apps: [OTHER_SEGMENT], campaigns: [] }); // kept incrementally
    s.apply(delta(0, 1, [[0, 'u09tvw', 20, [['app-a', 'c1', 4, 1], ['app-b', 'c1', 3, 0]]], [0, 'xn76ur', 9, [['app-c', 'c9', 9, 0]]]]));
    // Partition 1 brings a third and a fourth pair to u09tvw: folded; app-a is held already.
    s.apply(delta(1, 1, [[0, 'u09tvw', 11, [['app-c', 'c2', 5, 2], ['app-a', 'c1', 1, 0], ['app-d', '', 2, 0]]]]));
    s.apply(delta(1, 2, [[0, 'u09tvw', 13, [['app-c', 'c2', 7, 2]]]])); // absolute: 5 → 7
    expect(s.stats.folded).toBe(2);
    const cells = [...s.rows(0, W)];
    const sums = (cell: string) => {
      const base = cells.find((r) => r.cell === cell)!.base;
      return Object.fromEntries([...s.segmentSums(base)!].map(([k, v]) => [k, [v[0], v[N]]]));
    };
    expect(sums('u09tvw')).toEqual({ '5:app-ac1': [5, 1], '5:app-bc1': [3, 0], [OTHER_SEGMENT_KEY]: [9, 2] });
    expect(sums('xn76ur')).toEqual({ '5:app-cc9': [9, 0] }); // another cell: its own first pairs
    expect(Object.fromEntries([...other.cells].map(([k, c]) => [k, c.sum[0]]))).toEqual({ u09tvw: 9 });
    expect(impressions(s, 10, 6, [OTHER_SEGMENT])).toEqual({ u09tvw: 9 }); // built fresh: the same
    expect(impressions(s, 10, 6, ['app-c'])).toEqual({ xn76ur: 9 }); // app-c in u09tvw counts as other there
    expect(impressions(s, 10, 6)).toEqual({ u09tvw: 33, xn76ur: 9 }); // totals untouched
    const answer = segmentsAnswer(cells.map((r) => ({ window: r.window, partition: -1, cell: r.cell, sum: r.base.sum, segs: s.segmentSums(r.base) })), { from: 0, to: W, limit: 10, privacyK: 0 });
    expect(answer.apps.map(({ id, events }) => ({ id, events }))).toEqual([{ id: OTHER_SEGMENT, events: 9 }, { id: 'app-c', events: 9 }, { id: 'app-a', events: 5 }, { id: 'app-b', events: 3 }]);
    expect(answer.campaigns.map(({ id, events }) => ({ id, events }))).toEqual([{ id: OTHER_SEGMENT, events: 9 }, { id: 'c9', events: 9 }, { id: 'c1', events: 8 }]);
  });

  it('freezes windows every partition has left freezeMs behind: the same sums and segments, no per-partition values, later deltas for them ignored', () => {
    // A cap of 1 segment per cell: app-maps counts as "other", frozen or not.
    const make = (freezeMs?: number) => new LiveStore({ windowMs: W, horizonMs: 300_000, maxSegmentsPerCell: 1, ...(freezeMs === undefined ? {} : { freezeMs }) });
    const frozen = make(30_000);
    const plain = make();
    const feed = (d: DeltaRecord) => [frozen.apply(d), plain.apply(d)];
    let seq = 0;
    for (let w = 0; w < 10; w++) {
      for (const p of [0, 1]) {
        feed(delta(p, ++seq, [[w * W, 'u09tvw', 10 + w + p, [['app-shop', 'cmp-1', 4 + p, 1.5], ['app-maps', 'cmp-2', 3, 0]]]]));
      }
    }
    // Every partition's newest window is 90 000: windows below 90 000 - 30 000 + W = 70 000 are frozen.
    expect(frozen.firstOpen).toBe(70_000);
    const rows = (s: LiveStore, w: number) => [...s.rows(w, w + 1)].map((r) => ({ sum: [...r.base.sum], segs: s.segmentSums(r.base) }));
    for (let w = 0; w < 10; w++) expect(rows(frozen, w * W)).toEqual(rows(plain, w * W));
    expect([...frozen.rows(0, W)][0]!.base.parts).toEqual([]);
    expect([...frozen.rows(80_000, 80_000 + W)][0]!.base.parts.length).toBeGreaterThan(0);
    for (const s of [frozen, plain]) {
      expect(impressions(s, 300, 6, ['app-shop'])).toEqual({ u09tvw: 4 * 10 + 5 * 10 });
      expect(impressions(s, 300, 6, [OTHER_SEGMENT])).toEqual({ u09tvw: 3 * 20 });
    }
    expect([...frozen.segmentSums([...frozen.rows(0, W)][0]!.base)!.keys()].sort()).toEqual([OTHER_SEGMENT_KEY, '8:app-shopcmp-1'].sort());
    // A delta for a frozen window changes nothing there; the plain store takes it.
    feed(delta(0, ++seq, [[W, 'u09tvw', 99, [['app-shop', 'cmp-1', 50, 0]]]]));
    expect(rows(frozen, W)[0]!.sum[0]).toBe(10 + 1 + 11 + 1);
    expect(rows(plain, W)[0]!.sum[0]).toBe(99 + 12);
  });

  it('a partition that lags holds freezing back, so its deltas still count', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 600_000, freezeMs: 30_000 });
    s.apply(delta(0, 1, [[0, 'u09tvw', 1, []]]));
    s.apply(delta(1, 1, [[0, 'u09tvw', 1, []]]));
    s.apply(delta(0, 2, [[500_000, 'u09tvw', 1, []]])); // partition 0 races ahead (a replay reads it first)
    expect(s.firstOpen).toBe(0 - 30_000 + W); // partition 1 is still at window 0: window 0 stays open
    s.apply(delta(1, 2, [[0, 'u09tvw', 7, []]]));
    expect([...s.rows(0, W)][0]!.base.sum[0]).toBe(1 + 7);
    s.apply(delta(1, 3, [[500_000, 'u09tvw', 1, []]]));
    expect(s.firstOpen).toBe(500_000 - 30_000 + W);
    expect([...s.rows(0, W)][0]!.base.parts).toEqual([]);
  });
});
