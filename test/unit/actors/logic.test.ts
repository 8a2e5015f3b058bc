import { describe, expect, it } from 'vitest';
import { MAX_WINDOW_PARTS, captureCheckpoint, captureSteps, drain, rollupWriteSteps, cellsByKey, findCell, checkpointCommitted, checkpointFailed, emptyState, finalGroups, finalsWritten, isClosed, lateDocs, restoreCheckpoint, rollupWrites, takeDelta, watermark, type CellWindow, type CheckpointCapture, type ShardState } from '../../../actors/logic.js';
import { inflateRawSync } from 'node:zlib';
import { ALL_SLOTS, TYPE_INDEX, UNTYPED, blockReach, blockRows, forEachSegment, plainBlock, decode, encode, reachAt, slotMask, type AdEvent, type EventBatchRecord, type EventType, type PackedSegments, Reach } from '../../../actors/model/index.js';
import { DEFLATED_PART, partMsgpack } from '../../../actors/blocks.js';
import { foldRecords, type AggregationConfig, type RecordsInput } from '../../../actors/fold.js';
import { segmentTable } from '../../../actors/segments.js';
import { hash32, hash53 } from '../../../actors/hash.js';

const C: AggregationConfig = { precision: 6, windowMs: 10_000, allowedLatenessMs: 30_000 };
const PARIS = { lat: 48.8566, lon: 2.3522 };
const ev = (ts: number, extra: Partial<AdEvent> = {}): AdEvent => ({ userId: 'u1', type: 'click', ts, ...PARIS, ...extra });

/** Packs records (one per inner list) starting at `offset` into a pool task input. */
function input(records: AdEvent[][], offset: number): RecordsInput {
  const bufs = records.map((events) => encode({ v: 1, at: 1000, events } satisfies EventBatchRecord));
  const bytes = new Uint8Array(bufs.reduce((a, b) => a + b.length, 0));
  const ends = new Uint32Array(bufs.length);
  let at = 0;
  bufs.forEach((b, i) => {
    bytes.set(b, at);
    at += b.length;
    ends[i] = at;
  });
  return { bytes, ends, offsets: Float64Array.from(records.map((_, i) => offset + i)) };
}

/** Comparable view of the cells: key, counts, value, users, sorted ids. */
function cellsOf(s: ShardState) {
  return [...cellsByKey(s)].sort(([a], [b]) => a.localeCompare(b)).map(([k, cw]) => [
    k, cw.counts, cw.value, cw.reach.users(), cw.ids ? [...cw.ids.values()].sort() : null,
    segmentTable(s.segDict, cw.segs),
  ]);
}

function feed(s: ReturnType<typeof emptyState>, records: AdEvent[][]) {
  const late0 = s.pendingLate.length;
  const f = foldRecords(s, input(records, s.nextOffset), C);
  return { ...f, lateEvents: s.pendingLate.slice(late0) };
}

describe('windows, watermark and lateness', () => {
  it('buckets events into tumbling windows and cells; counts per type, value and users', () => {
    const s = emptyState();
    feed(s, [[ev(1_000), ev(9_999, { type: 'purchase', value: 12.5, userId: 'u2' }), ev(10_000)]]);
    expect([...cellsByKey(s).keys()].sort()).toEqual(['0:u09tvw', '10000:u09tvw']);
    const w0 = findCell(s, 0, 'u09tvw')!;
    expect(w0.counts).toEqual([0, 1, 0, 1, 0, 0]);
    expect(w0.value).toBe(12.5);
    expect(w0.reach.users()).toBe(2);
    expect(s.nextOffset).toBe(1);
    expect(s.totals.events).toBe(3);
  });

  it('an event whose window ended before the watermark is late: kept, not counted', () => {
    const s = emptyState();
    feed(s, [[ev(50_000)]]); // watermark = 20 000: windows ending at or before it are closed
    expect(watermark(s, C)).toBe(20_000);
    const b = feed(s, [[ev(9_000), ev(10_000), ev(15_000)]]);
    expect(b.lateEvents.map((l) => l.event.ts)).toEqual([9_000, 10_000, 15_000]);
    feed(s, [[ev(20_000)]]); // window [20 000, 30 000) is still open
    expect(s.totals).toEqual({ events: 2, late: 3, duplicates: 0, invalid: 0 });
    expect(lateDocs(s, 4).map((d) => d._id)).toEqual(['4:1:0', '4:1:1', '4:1:2']);
  });

  it('lateness depends on the order of the log, not on how it is cut into batches', () => {
    const events = [ev(0), ev(45_000), ev(5_000), ev(50_000), ev(12_000), ev(21_000)];
    const whole = emptyState();
    feed(whole, [events]);
    const split = emptyState();
    for (const e of events) feed(split, [[e]]);
    expect(cellsOf(split)).toEqual(cellsOf(whole));
    expect(split.totals.late).toBe(whole.totals.late);
    expect(whole.totals.late).toBe(2); // 5 000 and 12 000 arrive after the watermark passed their windows
  });

  it('de-duplicates client ids within a cell-window; id-less events always count', () => {
    const s = emptyState();
    feed(s, [[ev(1_000, { id: 'a' }), ev(1_000, { id: 'b' }), ev(1_000), ev(1_000)]]);
    feed(s, [[ev(1_000, { id: 'a' }), ev(1_000, { id: 'b' }), ev(1_000, { id: 'c' })]]);
    expect(findCell(s, 0, 'u09tvw')!.counts[1]).toBe(5);
    expect(s.totals.duplicates).toBe(2);
    expect(s.totals.events).toBe(5);
  });

  it('records that are not msgpack, or events that break the model, are counted invalid', () => {
    const good = encode({ v: 1, at: 1, events: [ev(1), { userId: 7 }] });
    const truncated = good.subarray(0, 6);
    const bytes = new Uint8Array([...good, ...truncated, ...encode({ v: 2, events: [] })]);
    const s = emptyState();
    const b = foldRecords(s, { bytes, ends: Uint32Array.from([good.length, good.length + 6, bytes.length]), offsets: Float64Array.from([0, 1, 2]) }, C);
    expect(b.events).toBe(1);
    expect(b.invalid).toBe(3);
    expect(s.totals.invalid).toBe(3);
    expect(s.pendingInvalid).toEqual([
      { offset: 0, index: 1, reason: 'userId must be a string, got number; type is required; ts is required; lat is required; lon is required', raw: '{"userId":7}' },
      { offset: 1, index: -1, reason: expect.stringMatching(/^undecodable msgpack: /) as string, raw: Buffer.from(truncated).toString('base64') },
      { offset: 2, index: -1, reason: 'not an EventBatchRecord v1 (a map with v: 1 and an events array)', raw: '{"v":2,"events":[]}' },
    ]);
    expect(s.nextOffset).toBe(3);
  });
});

/** A reach as numbers: all users, then users per event type, then the untyped slot's. */
const reachView = (r: Reach) => [r.users(), ...(['impression', 'click', 'install', 'purchase'] as EventType[]).map((t) => r.users(1 << TYPE_INDEX[t])), r.slot(UNTYPED)?.estimate() ?? 0];

/** Per cell-window and per segment, their reach (by `window:cell` and `window:cell|app|campaign`). */
function reachOf(s: ShardState): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, cw] of cellsByKey(s)) {
    out[k] = reachView(cw.reach);
    cw.segs?.ids.forEach((id, i) => {
      out[`${k}|${s.segDict.apps[id]}|${s.segDict.campaigns[id]}`] = reachView(cw.segs!.reach[i]!);
    });
  }
  return out;
}

describe('reach', () => {
  const events = () => [
    ev(1_000, { userId: 'u1', type: 'impression', appId: 'shop', campaignId: 'c1' }),
    ev(1_100, { userId: 'u1', type: 'click', appId: 'shop', campaignId: 'c1' }),
    ev(1_200, { userId: 'u2', type: 'impression', appId: 'shop', campaignId: 'c1' }),
    ev(1_300, { userId: 'u2', type: 'impression' }),
    ev(1_400, { userId: 'u3', type: 'purchase', appId: 'game' }),
  ];

  it('keeps unique users per event type, per cell-window and per segment', () => {
    const s = emptyState();
    feed(s, [events()]);
    expect(reachOf(s)).toEqual({
      '0:u09tvw': [3, 2, 1, 0, 1, 0],
      '0:u09tvw|shop|c1': [2, 2, 1, 0, 0, 0],
      '0:u09tvw|game|': [1, 0, 0, 0, 1, 0],
    });
    const cw = findCell(s, 0, 'u09tvw')!;
    // Users of impressions or clicks: u1 counts once.
    expect(cw.reach.users(slotMask([TYPE_INDEX.impression, TYPE_INDEX.click]))).toBe(2);
  });

  it('with ADME_SEGMENT_REACH off, segments keep counts but no users', () => {
    const s = emptyState();
    foldRecords(s, input([events()], 0), { ...C, segmentReach: false });
    expect(reachOf(s)).toEqual({ '0:u09tvw': [3, 2, 1, 0, 1, 0], '0:u09tvw|shop|c1': [0, 0, 0, 0, 0, 0], '0:u09tvw|game|': [0, 0, 0, 0, 0, 0] });
  });

  it('rollup blocks carry every row\'s and every segment\'s reach, in the order of their rows and packed segments', () => {
    const s = emptyState();
    feed(s, [[...events(), ev(1_500, { userId: 'u9', lat: 40.7128, lon: -74.006, appId: 'shop' })], [ev(45_000)]]);
    const w = rollupWrites(s, C, 0, 1);
    const got: Record<string, number[]> = {};
    for (const b of w.finals) {
      const plain = plainBlock(b, inflateRawSync);
      const reach = blockReach(b, inflateRawSync)!;
      const rows = blockRows(plain);
      rows.forEach((r, i) => {
        got[`${r.window}:${r.cell}`] = reachView(reachAt(reach.rows, i));
        expect(r.users).toBe(reachAt(reach.rows, i).users());
      });
      const segs = decode<PackedSegments>(new Uint8Array(inflateRawSync(b.segs!)));
      let k = 0;
      forEachSegment(segs, (row, id) => {
        got[`${rows[row]!.window}:${rows[row]!.cell}|${segs[0][id]}|${segs[1][id]}`] = reachView(reachAt(reach.segs, k++));
      });
      expect(k).toBe(reach.segs.ends.length);
    }
    // Window 0 is closed (finals); 40 000 is still open.
    expect(got).toEqual(Object.fromEntries(Object.entries(reachOf(s)).filter(([k]) => k.startsWith('0:'))));
    expect(Object.keys(got)).toHaveLength(5);
  });

  it('checkpoints restore every reach exactly, registers included', () => {
    const s = emptyState();
    feed(s, [events()]);
    for (let i = 0; i < 6_000; i++) feed(s, [[ev(2_000, { userId: `big-${i}`, type: i % 2 ? 'impression' : 'click', appId: 'shop', campaignId: 'c1' })]]);
    const before = reachOf(s);
    expect(findCell(s, 0, 'u09tvw')!.reach.sketch(ALL_SLOTS).exact).toBe(false);
    const c = captureCheckpoint(s);
    const r = restoreCheckpoint(s.nextOffset, new Map([...c.parts].map(([k, v]) => [k, v!])));
    expect(reachOf(r)).toEqual(before);
    // And they go on counting from where they were.
    feed(s, [[ev(3_000, { userId: 'new', type: 'install', appId: 'shop', campaignId: 'c1' })]]);
    feed(r, [[ev(3_000, { userId: 'new', type: 'install', appId: 'shop', campaignId: 'c1' })]]);
    expect(reachOf(r)).toEqual(reachOf(s));
  });

  it('deltas carry the users new since the cell\'s previous delta; their union is the whole reach, also across a restore', () => {
    /** The union of every delta's reach a reader got, per cell and segment, as reachView. */
    const got = new Map<string, Reach>();
    const union = (key: string, r: Reach) => got.set(key, (got.get(key) ?? new Reach()).merge(r));
    const take = (st: ShardState, seq: number) => {
      const d = takeDelta(st, C, 0, 1, seq, 10_000)!;
      const segs = d.segments!;
      const sizes: number[] = [];
      d.cells.forEach((cell, i) => {
        const r = reachAt(d.reach!.rows, i);
        sizes.push(r.users());
        union(`${d.windows[i]}:${cell}`, r);
      });
      let k = 0;
      forEachSegment(segs, (row, id) => union(`${d.windows[row]}:${d.cells[row]}|${segs[0][id]}|${segs[1][id]}`, reachAt(d.reach!.segs, k++)));
      return sizes;
    };
    const view = () => Object.fromEntries([...got].map(([k, r]) => [k, reachView(r)]));
    const s = emptyState();
    feed(s, [events()]);
    expect(take(s, 1)).toEqual([3]);
    // u1 clicks again (nothing new), u4 is new: the next delta's row carries one user.
    feed(s, [[ev(1_600, { userId: 'u1', type: 'click', appId: 'shop', campaignId: 'c1' }), ev(1_700, { userId: 'u4', type: 'impression', appId: 'shop', campaignId: 'c1' })]]);
    expect(take(s, 2)).toEqual([1]);
    expect(view()).toEqual(reachOf(s));
    // Past the exact sets: registers; the deltas' union is still the same sketch.
    for (let i = 0; i < 5_000; i++) feed(s, [[ev(2_000, { userId: `big-${i}`, type: 'impression', appId: 'shop', campaignId: 'c1' })]]);
    take(s, 3);
    expect(findCell(s, 0, 'u09tvw')!.reach.sketch(ALL_SLOTS).exact).toBe(false);
    expect(view()).toEqual(reachOf(s));
    // A restored shard's first delta re-sends every cell whole: a reader that starts then has it all.
    const r = restoreCheckpoint(s.nextOffset, new Map([...captureCheckpoint(s).parts].map(([k, v]) => [k, v!])));
    got.clear();
    take(r, 1);
    expect(view()).toEqual(reachOf(s));
  });

  it('a v2 part\'s one sketch per cell restores as the untyped slot: all-types reach kept, per-type unknown', () => {
    const v2 = encode({
      v: 2, window: 0, seq: 1, cells: 'u09tvw', counts: Uint32Array.from([2, 1, 0, 0, 0, 0]), values: Float64Array.from([0]),
      hllKinds: Uint8Array.from([0]), hllEnds: Uint32Array.from([8]), hll: new Uint8Array(Uint32Array.from([hash32('u1'), hash32('u2')]).buffer),
      hasIds: Uint8Array.from([0]), idEnds: Uint32Array.from([0]), ids: new Float64Array(0), segEnds: Uint32Array.from([0]), segs: new Float64Array(0), segApps: [], segCampaigns: [],
    });
    const r = restoreCheckpoint(3, new Map([['w:0', v2]]));
    expect(reachOf(r)).toEqual({ '0:u09tvw': [2, 0, 0, 0, 0, 2] });
    feed(r, [[ev(1_000, { userId: 'u1', type: 'click' }), ev(1_000, { userId: 'u3', type: 'click' })]]);
    expect(reachOf(r)).toEqual({ '0:u09tvw': [3, 0, 2, 0, 0, 2] });
  });
});

describe('rollups, eviction and deltas', () => {
  it('in slices, rollups and the checkpoint yield the cells of each block, part and document, and end with what the whole call returns', () => {
    const build = () => {
      const s = emptyState();
      feed(s, [[ev(1_000), ev(2_000, { lat: 40.7128, lon: -74.006 }), ev(41_000)]]);
      return s;
    };
    /** Each slice's cells, and what the generator returns. */
    const slices = <T>(steps: Generator<number, T>): [number[], T] => {
      const yields: number[] = [];
      for (let r = steps.next(); ; r = steps.next()) {
        if (r.done) return [yields, r.value];
        yields.push(r.value);
      }
    };
    const [yields, rollups] = slices(rollupWriteSteps(build(), C, 3, 7, true, 1));
    // Window 0 split into one final block per cell (maxBlockRows 1), then the open window 40 000.
    expect(yields).toEqual([1, 1, 1]);
    const whole = rollupWrites(build(), C, 3, 7, true, 1);
    expect(rollups.finals.map((d) => d._id)).toEqual(whole.finals.map((d) => d._id));
    expect(rollups.open.map((d) => d._id)).toEqual(whole.open.map((d) => d._id));
    // The checkpoint: one part per window with changes, each yielding its cells.
    const [parts, capture] = slices(captureSteps(build()));
    expect(parts).toEqual([2, 1]);
    expect([...capture.parts.keys()].sort()).toEqual(['meta', 'w:0', 'w:40000']);
    expect(drain(captureSteps(build())).bytes).toBe(captureCheckpoint(build()).bytes);
  });

  it('closed windows become final documents and leave memory once written; open ones are whole-window docs', () => {
    const s = emptyState();
    feed(s, [[ev(1_000), ev(2_000, { ...{ lat: 40.7128, lon: -74.006 } }), ev(41_000)]]);
    const w = rollupWrites(s, C, 3, 7);
    // Two cells: one block for the whole window.
    expect(w.finals.map((d) => d._id)).toEqual(['10000:0::3']);
    expect(blockRows(plainBlock(w.finals[0]!, inflateRawSync))).toEqual([
      expect.objectContaining({ cell: 'u09tvw', click: 1, total: 1, users: 1, window: 0, partition: 3 }),
      expect.objectContaining({ cell: 'dr5reg', click: 1, total: 1, users: 1, window: 0, partition: 3 }),
    ]);
    expect(w.open).toHaveLength(1);
    expect(w.open[0]).toMatchObject({ _id: '10000:40000:3', window: 40_000, cells: 'u09tvw', version: '000000000007:0000000000000001' });
    expect(blockRows(plainBlock(w.open[0]!, inflateRawSync))).toEqual([expect.objectContaining({ cell: 'u09tvw', click: 1, total: 1, window: 40_000 })]);
    expect(w.obsoleteOpenIds).toEqual(['10000:0:3']);
    expect(finalsWritten(s, w.finalWindows)).toBe(2);
    expect([...cellsByKey(s).keys()]).toEqual(['40000:u09tvw']);
    expect(isClosed(findCell(s, 40_000, 'u09tvw')!, s, C)).toBe(false);
  });

  it('final blocks: a sparse window is one block, a dense one splits by prefix down to 3 characters, never overlapping', () => {
    const cws = (cells: string[]) => cells.map((cell) => ({ cell }) as CellWindow);
    const groups = (cells: string[], max: number) => finalGroups(cws(cells), max).map(([p, l]) => [p, l.map((c) => c.cell)]);
    expect(groups(['u09tvw', 'dr5reg', 'u09abc'], 3)).toEqual([['', ['u09tvw', 'dr5reg', 'u09abc']]]);
    expect(groups(['u09tvw', 'dr5reg', 'u09abc', 'u0xyz0'], 3)).toEqual([['u', ['u09tvw', 'u09abc', 'u0xyz0']], ['d', ['dr5reg']]]);
    expect(groups(['u09tvw', 'dr5reg', 'u09abc', 'u0xyz0', 'u1aaaa'], 2)).toEqual([['u09', ['u09tvw', 'u09abc']], ['u0x', ['u0xyz0']], ['u1', ['u1aaaa']], ['d', ['dr5reg']]]);
    // 3 characters is the finest block, however many cells it holds.
    expect(groups(['u09aaa', 'u09bbb', 'u09ccc'], 1)).toEqual([['u09', ['u09aaa', 'u09bbb', 'u09ccc']]]);
  });

  it('a delta carries the changed cells once, with absolute values', () => {
    const s = emptyState();
    feed(s, [[ev(1_000), ev(1_500, { type: 'impression' })]]);
    const d1 = takeDelta(s, C, 2, 5, 1, 9_999)!;
    expect(d1).toMatchObject({ partition: 2, epoch: 5, seq: 1, cells: ['u09tvw'], oldestAt: 1000 });
    expect([...d1.counts]).toEqual([1, 1, 0, 0, 0, 0]);
    expect(takeDelta(s, C, 2, 5, 2, 10_000)).toBeNull();
    feed(s, [[ev(1_700)]]);
    expect([...takeDelta(s, C, 2, 5, 2, 10_100)!.counts]).toEqual([1, 2, 0, 0, 0, 0]);
  });
});

describe('checkpoints', () => {
  /** The store's side of a save: parts passed as null are kept (and must exist), parts left out are dropped. */
  const commit = (c: CheckpointCapture, store: ReadonlyMap<string, Uint8Array>) => {
    const next = new Map<string, Uint8Array>();
    for (const [k, v] of c.parts) {
      const bytes = v ?? store.get(k);
      if (!bytes) throw new Error(`part ${k} passed as unchanged but never saved`);
      next.set(k, bytes);
    }
    return next;
  };
  /** Takes a checkpoint of `s`, commits it over `store` and answers the new store. */
  const checkpoint = (s: ShardState, store: ReadonlyMap<string, Uint8Array>) => {
    const c = captureCheckpoint(s);
    const next = commit(c, store);
    checkpointCommitted(s, c);
    return { c, store: next };
  };
  /** One event in each of `n` distinct cells of the window starting at `ts` (cells ≈ 1.1 km apart). */
  const spread = (ts: number, n: number, from = 0, extra: Partial<AdEvent> = {}) =>
    Array.from({ length: n }, (_, i) => ev(ts, { lat: 40 + (from + i) * 0.01, ...extra }));
  const partNames = (c: CheckpointCapture, written: boolean) => [...c.parts].filter(([, v]) => (v !== null) === written).map(([k]) => k).sort();

  it('restore to the same state, every cell marked for re-send, the id memory kept', () => {
    const s = emptyState();
    feed(s, [[ev(1_000, { id: 'x' }), ev(45_000, { type: 'install' }), ev(2_000)]]);
    feed(s, [[ev(3_000, { userId: 'late?' })]]);
    for (let i = 0; i < 400; i++) feed(s, [[ev(46_000, { userId: `u${i}` })]]);
    const r = restoreCheckpoint(s.nextOffset, checkpoint(s, new Map()).store);
    expect(cellsOf(r)).toEqual(cellsOf(s));
    expect([r.maxTs, r.totals, r.pendingLate]).toEqual([s.maxTs, s.totals, s.pendingLate]);
    expect(r.rollupDirty.length).toBe(r.cellCount);
    expect(r.checkpointDirty.length).toBe(0);
    // The id memory survives a restore: a retry after a crash is still a duplicate.
    feed(r, [[ev(45_500, { id: 'y' })]]);
    feed(r, [[ev(45_500, { id: 'y' })]]);
    expect(r.totals.duplicates).toBe(1);
  });

  it('write only the cells changed since the last checkpoint, as a change part of their window', () => {
    const s = emptyState();
    feed(s, [[ev(1_000), ev(11_000), ...spread(21_000, 50)]]);
    const first = checkpoint(s, new Map());
    expect(partNames(first.c, true)).toEqual(['meta', 'w:0', 'w:10000', 'w:20000']);
    feed(s, [[ev(22_000, { type: 'purchase', value: 3 }), ...spread(23_000, 2, 100)]]);
    const second = checkpoint(s, first.store);
    expect(second.c.changedCells).toHaveLength(3);
    expect(second.c.changedCells.map((cw) => `${cw.window}:${cw.cell}`)).toContain('20000:u09tvw');
    expect(partNames(second.c, true)).toEqual(['c:20000:2', 'meta']);
    expect(partNames(second.c, false)).toEqual(['w:0', 'w:10000', 'w:20000']);
    expect(cellsOf(restoreCheckpoint(s.nextOffset, second.store))).toEqual(cellsOf(s));
  });

  it('base, change parts and compaction restore to exactly the same state, and to the same layout', () => {
    const s = emptyState();
    feed(s, [spread(1_000, 100, 0, { id: 'first' })]);
    let { store } = checkpoint(s, new Map());
    const seen: string[][] = [];
    // Rounds touching 20 of the 100 cells each (users, ids, values): superseded values pile up until
    // they reach the live cells (COMPACT_RATIO = 1) and the window is rewritten as one base.
    for (let round = 0; round < 8; round++) {
      feed(s, [spread(2_000 + round, 20, (round * 7) % 80, { userId: `r${round}`, id: `r${round}`, type: 'purchase', value: round })]);
      const next = checkpoint(s, store);
      store = next.store;
      seen.push([...store.keys()].filter((k) => k !== 'meta').sort());
      const r = restoreCheckpoint(s.nextOffset, store);
      expect(cellsOf(r)).toEqual(cellsOf(s));
      expect(r.checkpointLayout).toEqual(s.checkpointLayout);
      expect(r.checkpointSeq).toBe(s.checkpointSeq);
    }
    expect(seen).toEqual([
      ['c:0:2', 'w:0'], ['c:0:2', 'c:0:3', 'w:0'], ['c:0:2', 'c:0:3', 'c:0:4', 'w:0'], ['c:0:2', 'c:0:3', 'c:0:4', 'c:0:5', 'w:0'],
      ['w:0'], // 100 live + 100 superseded values: compacted
      ['c:0:7', 'w:0'], ['c:0:7', 'c:0:8', 'w:0'], ['c:0:7', 'c:0:8', 'c:0:9', 'w:0'],
    ]);
    // A restored state goes on from the same layout: its next checkpoint adds to the same parts.
    const r = restoreCheckpoint(s.nextOffset, store);
    feed(r, [[ev(1_500)]]);
    expect(partNames(captureCheckpoint(r), false)).toEqual(['c:0:7', 'c:0:8', 'c:0:9', 'w:0']);
  });

  it('a window is compacted before it takes more than MAX_WINDOW_PARTS parts', () => {
    const s = emptyState();
    feed(s, [spread(1_000, 1000)]);
    let { store } = checkpoint(s, new Map());
    for (let round = 0; round < MAX_WINDOW_PARTS; round++) {
      feed(s, [[ev(2_000)]]);
      store = checkpoint(s, store).store;
    }
    expect([...store.keys()].filter((k) => k !== 'meta')).toEqual(['w:0']);
    expect(cellsOf(restoreCheckpoint(s.nextOffset, store))).toEqual(cellsOf(s));
  });

  it('a failed checkpoint marks its cells changed again and builds on the last committed parts', () => {
    const s = emptyState();
    feed(s, [spread(1_000, 10)]);
    const { store } = checkpoint(s, new Map());
    feed(s, [spread(2_000, 10)]); // every cell changed: this one rewrites the base
    const failed = captureCheckpoint(s);
    expect(partNames(failed, true)).toEqual(['meta', 'w:0']);
    checkpointFailed(s, failed);
    expect(s.checkpointDirty.length).toBe(10);
    feed(s, [spread(3_000, 1)]);
    const retry = checkpoint(s, store); // throws if it named a part the store never committed
    expect(retry.c.changedCells).toHaveLength(10);
    expect(cellsOf(restoreCheckpoint(s.nextOffset, retry.store))).toEqual(cellsOf(s));
  });

  it('a window evicted after its final rollups leaves the manifest with all its parts', () => {
    const s = emptyState();
    feed(s, [spread(1_000, 10)]);
    let { store } = checkpoint(s, new Map());
    feed(s, [spread(2_000, 1)]);
    store = checkpoint(s, store).store;
    feed(s, [[ev(45_000)]]); // closes window 0
    store = checkpoint(s, store).store;
    expect([...store.keys()].sort()).toEqual(['c:0:2', 'meta', 'w:0', 'w:40000']);
    finalsWritten(s, rollupWrites(s, C, 0, 1).finalWindows);
    const after = checkpoint(s, store);
    expect([...after.c.parts.keys()].sort()).toEqual(['meta', 'w:40000']);
    expect([...after.store.keys()].sort()).toEqual(['meta', 'w:40000']);
    expect(cellsOf(restoreCheckpoint(s.nextOffset, after.store))).toEqual(cellsOf(s));
  });

  it('a checkpoint after k cells changed writes O(k) bytes, however large the window', () => {
    const s = emptyState();
    feed(s, [spread(1_000, 2000)]);
    const first = checkpoint(s, new Map());
    let store = first.store;
    // Compressed, each cell still costs its user's hash: 4 random bytes that do not deflate.
    expect(first.c.bytes).toBeGreaterThan(2000 * 4);
    for (const k of [1, 10, 100]) {
      feed(s, [spread(2_000, k, 500)]);
      const next = checkpoint(s, store);
      store = next.store;
      // meta (~60 B) + one part's column headers (~300 B before deflate) + ≤ 64 B per cell of one user,
      // no ids (counts as uint32 columns: bigger than v1's varints, but copied rather than walked).
      expect(next.c.bytes).toBeLessThan(400 + 64 * k);
    }
  });

  it('restores a part written before v2 (one array per cell) like its current equivalent', () => {
    const s = emptyState();
    feed(s, [[ev(1_000, { id: 'a' }), ev(2_000, { userId: 'u2', appId: 'shop', campaignId: 'c1', type: 'purchase', value: 3 })]]);
    const v2 = captureCheckpoint(s);
    const fromV2 = restoreCheckpoint(1, new Map([...v2.parts].map(([k, v]) => [k, v!])));
    const v1 = encode({
      v: 1, window: 0, seq: 1, segApps: ['shop'], segCampaigns: ['c1'],
      cells: [['u09tvw', [0, 1, 0, 1, 0, 0], 3, Uint32Array.from([hash32('u1'), hash32('u2')]), Float64Array.from([hash53('a')]), [0, 0b1001000, 1, 3]]],
    });
    const fromV1 = restoreCheckpoint(1, new Map([['meta', v2.parts.get('meta')!], ['w:0', v1]]));
    expect(cellsOf(fromV1)).toEqual(cellsOf(fromV2));
  });

  it('writes window parts deflated (first byte 0xc1) and still restores a part written plain', () => {
    const s = emptyState();
    feed(s, [spread(1_000, 200), [ev(2_000, { userId: 'u2', appId: 'shop', campaignId: 'c1', type: 'purchase', value: 3 })]]);
    const c = captureCheckpoint(s);
    const stored = new Map([...c.parts].map(([k, v]) => [k, v!]));
    const window = stored.get('w:0')!;
    expect(window[0]).toBe(DEFLATED_PART);
    const plain = partMsgpack(window);
    expect(plain.byteLength).toBeGreaterThan(window.byteLength);
    expect(decode<{ v: number }>(plain).v).toBe(3);
    const fromPlain = restoreCheckpoint(s.nextOffset, new Map([...stored, ['w:0', plain]]));
    expect(cellsOf(fromPlain)).toEqual(cellsOf(s));
    expect(cellsOf(restoreCheckpoint(s.nextOffset, stored))).toEqual(cellsOf(s));
  });

  it('refuses an unknown part version', () => {
    expect(() => restoreCheckpoint(0, new Map([['w:0', encode({ v: 4, window: 0, cells: [] })]]))).toThrow('unknown checkpoint window version 4');
  });
});
