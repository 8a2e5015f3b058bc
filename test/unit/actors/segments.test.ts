import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { captureCheckpoint, findCell, emptyState, restoreCheckpoint, rollupWrites, takeDelta } from '../../../actors/logic.js';
import {
  DEFAULT_MAX_SEGMENTS_PER_CELL, EVENT_TYPES, OTHER_SEGMENT, blockRows, blockSegments, checkIds, encode, filterKey, foldSegment, packSegment, segmentKey, segmentMatcher, segmentOf, SegmentFilterError, skipSegment, unpackSegment, unpackSegments, plainBlock,
  type AdEvent, type EventBatchRecord, type SegmentColumns,
} from '../../../actors/model/index.js';
import { foldRecords, type AggregationConfig } from '../../../actors/fold.js';
import { segmentTable } from '../../../actors/segments.js';

const N = EVENT_TYPES.length;
const C: AggregationConfig = { precision: 6, windowMs: 10_000, allowedLatenessMs: 30_000 };
const PARIS = { lat: 48.8566, lon: 2.3522 };
const ev = (extra: Partial<AdEvent>): AdEvent => ({ userId: 'u1', type: 'impression', ts: 1_000, ...PARIS, ...extra });

function inputOf(batch: AdEvent[], offset: number) {
  const bytes = encode({ v: 1, at: 1, events: batch } satisfies EventBatchRecord);
  return { bytes, ends: Uint32Array.of(bytes.length), offsets: Float64Array.of(offset) };
}

function feed(events: AdEvent[][]) {
  const s = emptyState();
  for (const batch of events) foldRecords(s, inputOf(batch, s.nextOffset), C);
  return s;
}

/** Segment columns as { "app|campaign|row": [counts..., value] } for exact comparison. */
function table(sc: SegmentColumns, cells: readonly string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (let k = 0; k < sc.segRows.length; k++) {
    const id = sc.segIds[k]!;
    out[`${sc.segApps[id]}|${sc.segCampaigns[id]}|${cells[sc.segRows[k]!]}`] = [...sc.segCounts.subarray(k * N, (k + 1) * N), sc.segValues[k]!];
  }
  return out;
}

describe('segment keys and filters', () => {
  it('round-trips (app, campaign) whatever characters the ids hold', () => {
    for (const [app, campaign] of [['app-shop', 'cmp-01'], ['', 'cmp-01'], ['app:1', ''], ['12:ab', ':3:'], ['', '']]) {
      expect(segmentOf(segmentKey(app || undefined, campaign || undefined))).toEqual({ app, campaign });
    }
    expect(segmentKey('a1', 'b')).not.toBe(segmentKey('a', '1b'));
  });

  it('matches by app, by campaign, or both; an empty list means any', () => {
    const m = segmentMatcher({ apps: ['app-shop'], campaigns: [] });
    expect([m(segmentKey('app-shop', 'cmp-01')), m(segmentKey('app-shop', undefined)), m(segmentKey('app-maps', 'cmp-01')), m(segmentKey(undefined, 'cmp-01'))]).toEqual([true, true, false, false]);
    const both = segmentMatcher({ apps: ['app-shop', 'app-maps'], campaigns: ['cmp-02'] });
    expect([both(segmentKey('app-maps', 'cmp-02')), both(segmentKey('app-maps', 'cmp-01')), both(segmentKey('app-news', 'cmp-02'))]).toEqual([true, false, false]);
    expect(filterKey({ apps: ['b', 'a'], campaigns: [] })).toBe(filterKey({ apps: ['a', 'b'], campaigns: [] }));
    expect(filterKey({ apps: [], campaigns: [] })).toBe('');
  });

  it('packs a segment as its number, a mask of its non-zero slots and those values only', () => {
    const out: number[] = [];
    packSegment(out, 3, [0, 1, 0, 0, 0, 0, 0], 0);
    packSegment(out, 0, [9, 0, 0, 2, 0, 0, 4.99, 7], 0);
    packSegment(out, 5, [0, 0, 0, 0, 0, 0, 0], 0);
    expect(out).toEqual([3, 0b10, 1, 0, 0b1001001, 9, 2, 4.99, 5, 0]);
    const vals = new Array<number>(7);
    const got: [number, number[]][] = [];
    for (let at = 0; at < out.length;) {
      const r = unpackSegment(out, at, vals, 0);
      got.push([r.id, [...vals]]);
      at = r.next;
    }
    expect(got).toEqual([[3, [0, 1, 0, 0, 0, 0, 0]], [0, [9, 0, 0, 2, 0, 0, 4.99]], [5, [0, 0, 0, 0, 0, 0, 0]]]);
    // Skipping lands where reading does, without reading the values.
    expect([skipSegment(out, 0), skipSegment(out, 3), skipSegment(out, 8)]).toEqual([3, 8, 10]);
  });

  it('checks filter lists and names what is wrong', () => {
    expect(checkIds(['a', 'a', 'b'], 'apps')).toEqual(['a', 'b']);
    expect(checkIds(undefined, 'apps')).toEqual([]);
    expect(() => checkIds('a', 'apps')).toThrow(new SegmentFilterError('apps', 'must be an array of strings'));
    expect(() => checkIds([''], 'apps')).toThrow('apps every id must be a string of 1-64 characters, got ""');
    expect(() => checkIds(Array.from({ length: 33 }, (_, i) => `a${i}`), 'campaigns')).toThrow('campaigns may list at most 32 ids, got 33');
  });
});

describe('the aggregation per segment', () => {
  const events = [
    [ev({ appId: 'app-shop', campaignId: 'cmp-01' }), ev({ appId: 'app-shop', campaignId: 'cmp-01', type: 'click' }), ev({ appId: 'app-shop', type: 'purchase', value: 9.5 })],
    [ev({ appId: 'app-maps', campaignId: 'cmp-02', id: 'e1' }), ev({ appId: 'app-maps', campaignId: 'cmp-02', id: 'e1' }), ev({}), ev({ campaignId: 'cmp-02', userId: 'u2' })],
  ];

  it('counts each segment next to the cell totals; duplicates and unsegmented events stay out of segments', () => {
    const s = feed(events);
    const cw = findCell(s, 0, 'u09tvw')!;
    expect(cw.counts).toEqual([4, 1, 0, 1, 0, 0]); // the duplicate of e1 is not counted
    expect(segmentTable(s.segDict, cw.segs)).toEqual({
      'app-shop|cmp-01': [1, 1, 0, 0, 0, 0, 0],
      'app-shop|': [0, 0, 0, 1, 0, 0, 9.5],
      'app-maps|cmp-02': [1, 0, 0, 0, 0, 0, 0],
      '|cmp-02': [1, 0, 0, 0, 0, 0, 0],
    });
    expect(s.totals.duplicates).toBe(1);
  });

  it('carries segments in deltas, rollup blocks and checkpoints, exactly', () => {
    const s = feed(events);
    const want = {
      'app-shop|cmp-01|u09tvw': [1, 1, 0, 0, 0, 0, 0], 'app-shop||u09tvw': [0, 0, 0, 1, 0, 0, 9.5],
      'app-maps|cmp-02|u09tvw': [1, 0, 0, 0, 0, 0, 0], '|cmp-02|u09tvw': [1, 0, 0, 0, 0, 0, 0],
    };
    const d = takeDelta(s, C, 3, 1, 1, 2_000)!;
    expect(table(unpackSegments(d.segments!), d.cells)).toEqual(want);
    const { open } = rollupWrites(s, C, 3, 1);
    const sc = unpackSegments(blockSegments(open[0]!, inflateRawSync)!);
    expect(table(sc, blockRows(plainBlock(open[0]!, inflateRawSync)).map((r) => r.cell))).toEqual(want);
    const parts = new Map([...captureCheckpoint(s).parts].map(([k, v]) => [k, v!]));
    const restored = restoreCheckpoint(s.nextOffset, parts);
    expect(segmentTable(restored.segDict, findCell(restored, 0, 'u09tvw')!.segs)).toEqual(segmentTable(s.segDict, findCell(s, 0, 'u09tvw')!.segs));
    expect(Object.keys(segmentTable(restored.segDict, findCell(restored, 0, 'u09tvw')!.segs)!)).toHaveLength(4);
    // The next delta of the cell carries only the segment that changed since.
    foldRecords(s, inputOf([ev({ appId: 'app-maps', campaignId: 'cmp-02', type: 'click' })], s.nextOffset), C);
    const d2 = takeDelta(s, C, 3, 1, 2, 3_000)!;
    expect(table(unpackSegments(d2.segments!), d2.cells)).toEqual({ 'app-maps|cmp-02|u09tvw': [1, 1, 0, 0, 0, 0, 0] });
    expect(d2.counts.subarray(0, N)).toEqual(Uint32Array.of(4, 2, 0, 1, 0, 0)); // the cell's totals, whole
  });

  it('drops dictionary pairs no held cell names once it doubles, and names the rest as before in deltas and rollups', () => {
    const s = emptyState();
    s.segCompactAt = 6;
    // Window 0: four pairs, taken out in a delta and then evicted (as closed windows are); window 10 s: two.
    foldRecords(s, inputOf(['c1', 'c2', 'c3', 'c4'].map((c) => ev({ appId: 'old', campaignId: c })), s.nextOffset), C);
    takeDelta(s, C, 3, 1, 1, 2_000);
    foldRecords(s, inputOf([ev({ appId: 'app-shop', campaignId: 'cmp-01', ts: 11_000 }), ev({ appId: 'app-maps', ts: 12_000, type: 'click' })], s.nextOffset), C);
    s.windows.delete(0);
    s.rollupDirty = s.rollupDirty.filter((cw) => cw.window !== 0);
    s.checkpointDirty = s.checkpointDirty.filter((cw) => cw.window !== 0);
    foldRecords(s, inputOf(['n1', 'n2'].map((c) => ev({ appId: 'new', campaignId: c, ts: 13_000 })), s.nextOffset), C); // 6 pairs: compacts first
    expect([s.segDict.size, s.segCompactAt]).toEqual([4, 65_536]);
    expect(segmentTable(s.segDict, findCell(s, 10_000, 'u09tvw')!.segs)).toEqual({
      'app-shop|cmp-01': [1, 0, 0, 0, 0, 0, 0], 'app-maps|': [0, 1, 0, 0, 0, 0, 0], 'new|n1': [1, 0, 0, 0, 0, 0, 0], 'new|n2': [1, 0, 0, 0, 0, 0, 0],
    });
    const d = takeDelta(s, C, 3, 1, 2, 3_000)!;
    expect(table(unpackSegments(d.segments!), d.cells)).toEqual({
      'app-shop|cmp-01|u09tvw': [1, 0, 0, 0, 0, 0, 0], 'app-maps||u09tvw': [0, 1, 0, 0, 0, 0, 0], 'new|n1|u09tvw': [1, 0, 0, 0, 0, 0, 0], 'new|n2|u09tvw': [1, 0, 0, 0, 0, 0, 0],
    });
    expect(d.reach!.segs.ends).toHaveLength(4); // each segment's fresh users went with it
    const { open } = rollupWrites(s, C, 3, 1);
    expect(Object.keys(table(unpackSegments(blockSegments(open[0]!, inflateRawSync)!), blockRows(plainBlock(open[0]!, inflateRawSync)).map((r) => r.cell))).sort()).toEqual(['app-maps||u09tvw', 'app-shop|cmp-01|u09tvw', 'new|n1|u09tvw', 'new|n2|u09tvw']);
  });

  it('keeps at most maxSegmentsPerCell segments per cell and window; the rest count in "other", the same rule as the gateway', () => {
    const capped: AggregationConfig = { ...C, maxSegmentsPerCell: 3 };
    const s = emptyState();
    const batch = [
      ev({ appId: 'a1' }), ev({ appId: 'a2' }), ev({ appId: 'a3' }), // the three kept, first come
      ev({ appId: 'a4' }), ev({ appId: 'a5', type: 'purchase', value: 2 }), ev({ appId: 'a4', type: 'click' }), // folded into other
      ev({ appId: 'a2', type: 'click' }), // a kept segment still counts under its own key
      ev({ appId: 'a9', ts: 11_000 }), // another window: a list of its own
    ];
    const f = foldRecords(s, inputOf(batch, 0), capped);
    expect(f.otherSegment).toBe(3);
    expect(segmentTable(s.segDict, findCell(s, 0, 'u09tvw')!.segs)).toEqual({
      'a1|': [1, 0, 0, 0, 0, 0, 0], 'a2|': [1, 1, 0, 0, 0, 0, 0], 'a3|': [1, 0, 0, 0, 0, 0, 0],
      [`${OTHER_SEGMENT}|${OTHER_SEGMENT}`]: [1, 1, 0, 1, 0, 0, 2],
    });
    expect(findCell(s, 0, 'u09tvw')!.counts).toEqual([4, 2, 0, 1, 0, 0]); // the cell's totals count every event
    expect(segmentTable(s.segDict, findCell(s, 10_000, 'u09tvw')!.segs)).toEqual({ 'a9|': [1, 0, 0, 0, 0, 0, 0] });
    // The folded pairs never entered the shard's dictionary: a1-a3, "other" and a9 only.
    expect(s.segDict.size).toBe(5);
    // What the gateway's store would make of the same events: foldSegment, the model's rule.
    const held = new Set<string>();
    expect(['a1', 'a2', 'a3', 'a4', 'a5', 'a4', 'a2'].map((a) => foldSegment(held, a, 3, '*'))).toEqual(['a1', 'a2', 'a3', '*', '*', '*', 'a2']);
    // Restored from a checkpoint, the cap holds on: "other" is one of the segments, not a fourth real one.
    const restored = restoreCheckpoint(s.nextOffset, new Map([...captureCheckpoint(s).parts].map(([k, v]) => [k, v!])));
    const g = foldRecords(restored, inputOf([ev({ appId: 'a6' }), ev({ appId: 'a3' })], s.nextOffset), capped);
    expect(g.otherSegment).toBe(1);
    expect(segmentTable(restored.segDict, findCell(restored, 0, 'u09tvw')!.segs)![`${OTHER_SEGMENT}|${OTHER_SEGMENT}`]).toEqual([2, 1, 0, 1, 0, 0, 2]);
    expect(segmentTable(restored.segDict, findCell(restored, 0, 'u09tvw')!.segs)!['a3|']).toEqual([2, 0, 0, 0, 0, 0, 0]);
  });

  it('caps at DEFAULT_MAX_SEGMENTS_PER_CELL when the config says nothing', () => {
    const s = emptyState();
    const f = foldRecords(s, inputOf(Array.from({ length: DEFAULT_MAX_SEGMENTS_PER_CELL + 10 }, (_, i) => ev({ campaignId: `c${i}` })), 0), C);
    expect(f.otherSegment).toBe(10);
    expect(findCell(s, 0, 'u09tvw')!.segs!.ids).toHaveLength(DEFAULT_MAX_SEGMENTS_PER_CELL + 1);
  });
});
