import { describe, expect, it } from 'vitest';
import { applyBatch, captureCheckpoint, emptyState, finalsWritten, isClosed, lateDocs, restoreCheckpoint, rollupWrites, takeDelta, watermark, type ShardState } from '../../../actors/logic.js';
import { blockRows, encode, type AdEvent, type EventBatchRecord } from '../../../actors/model/index.js';
import { preaggregate, type AggregationConfig, type PreaggregateInput } from '../../../actors/preaggregate.js';

const C: AggregationConfig = { precision: 6, windowMs: 10_000, allowedLatenessMs: 30_000 };
const PARIS = { lat: 48.8566, lon: 2.3522 };
const ev = (ts: number, extra: Partial<AdEvent> = {}): AdEvent => ({ userId: 'u1', type: 'click', ts, ...PARIS, ...extra });

/** Packs records (one per inner list) starting at `offset` into a pool task input. */
function input(records: AdEvent[][], offset: number, maxTs: number): PreaggregateInput {
  const bufs = records.map((events) => encode({ v: 1, at: 1000, events } satisfies EventBatchRecord));
  const bytes = new Uint8Array(bufs.reduce((a, b) => a + b.length, 0));
  const ends = new Uint32Array(bufs.length);
  let at = 0;
  bufs.forEach((b, i) => {
    bytes.set(b, at);
    at += b.length;
    ends[i] = at;
  });
  return { bytes, ends, offsets: Float64Array.from(records.map((_, i) => offset + i)), maxTs, config: C };
}

/** Comparable view of the cells: key, counts, value, users, sorted ids. */
function cellsOf(s: ShardState) {
  return [...s.cells].sort(([a], [b]) => a.localeCompare(b)).map(([k, cw]) => [k, cw.counts, cw.value, cw.users.estimate(), cw.ids ? [...cw.ids.values()].sort() : null]);
}

function feed(s: ReturnType<typeof emptyState>, records: AdEvent[][]) {
  const b = preaggregate(input(records, s.nextOffset, s.maxTs));
  applyBatch(s, b);
  return b;
}

describe('windows, watermark and lateness', () => {
  it('buckets events into tumbling windows and cells; counts per type, value and users', () => {
    const s = emptyState();
    feed(s, [[ev(1_000), ev(9_999, { type: 'purchase', value: 12.5, userId: 'u2' }), ev(10_000)]]);
    expect([...s.cells.keys()].sort()).toEqual(['0:u09tvw', '10000:u09tvw']);
    const w0 = s.cells.get('0:u09tvw')!;
    expect(w0.counts).toEqual([0, 1, 0, 1, 0, 0]);
    expect(w0.value).toBe(12.5);
    expect(w0.users.estimate()).toBe(2);
    expect(s.nextOffset).toBe(1);
    expect(s.totals.events).toBe(3);
  });

  it('an event whose window ended before the watermark is late: kept, not counted', () => {
    const s = emptyState();
    feed(s, [[ev(50_000)]]); // watermark = 20 000: windows ending at or before it are closed
    expect(watermark(s, C)).toBe(20_000);
    const b = feed(s, [[ev(9_000), ev(10_000), ev(15_000)]]);
    expect(b.late.map((l) => l.event.ts)).toEqual([9_000, 10_000, 15_000]);
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
    expect(s.cells.get('0:u09tvw')!.counts[1]).toBe(5);
    expect(s.totals.duplicates).toBe(2);
    expect(s.totals.events).toBe(5);
  });

  it('records that are not msgpack, or events that break the model, are counted invalid', () => {
    const good = encode({ v: 1, at: 1, events: [ev(1), { userId: 7 }] });
    const truncated = good.subarray(0, 6);
    const bytes = new Uint8Array([...good, ...truncated, ...encode({ v: 2, events: [] })]);
    const b = preaggregate({ bytes, ends: Uint32Array.from([good.length, good.length + 6, bytes.length]), offsets: Float64Array.from([0, 1, 2]), maxTs: -Infinity, config: C });
    expect(b.events).toBe(1);
    expect(b.invalid).toEqual([
      { offset: 0, reason: 'event 1: userId is not a string' },
      { offset: 1, reason: expect.stringMatching(/^undecodable msgpack: /) as string },
      { offset: 2, reason: 'not an EventBatchRecord v1' },
    ]);
    expect(b.nextOffset).toBe(3);
  });
});

describe('rollups, eviction and deltas', () => {
  it('closed windows become final documents and leave memory once written; open ones are whole-window docs', () => {
    const s = emptyState();
    feed(s, [[ev(1_000), ev(2_000, { ...{ lat: 40.7128, lon: -74.006 } }), ev(41_000)]]);
    const w = rollupWrites(s, C, 3, 7);
    expect(w.finals.map((d) => d._id).sort()).toEqual(['10000:0:dr5:3', '10000:0:u09:3']);
    expect(blockRows(w.finals.find((d) => d.prefix === 'u09')!)).toEqual([expect.objectContaining({ cell: 'u09tvw', click: 1, total: 1, users: 1, window: 0, partition: 3 })]);
    expect(w.open).toHaveLength(1);
    expect(w.open[0]).toMatchObject({ _id: '10000:40000:3', window: 40_000, cells: 'u09tvw', version: '000000000007:0000000000000001' });
    expect(blockRows(w.open[0]!)).toEqual([expect.objectContaining({ cell: 'u09tvw', click: 1, total: 1, window: 40_000 })]);
    expect(w.obsoleteOpenIds).toEqual(['10000:0:3']);
    expect(finalsWritten(s, w.finalKeys)).toBe(2);
    expect([...s.cells.keys()]).toEqual(['40000:u09tvw']);
    expect(isClosed(s.cells.get('40000:u09tvw')!, s, C)).toBe(false);
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
  const committed = (c: ReturnType<typeof captureCheckpoint>, store: Map<string, Uint8Array>) => {
    const next = new Map<string, Uint8Array>();
    for (const [k, v] of c.parts) next.set(k, v ?? store.get(k)!);
    return next;
  };

  it('restore to the same state, every cell marked for re-send, the id memory kept', () => {
    const s = emptyState();
    feed(s, [[ev(1_000, { id: 'x' }), ev(45_000, { type: 'install' }), ev(2_000)]]);
    feed(s, [[ev(3_000, { userId: 'late?' })]]);
    for (let i = 0; i < 400; i++) feed(s, [[ev(46_000, { userId: `u${i}` })]]);
    const parts = committed(captureCheckpoint(s), new Map());
    const r = restoreCheckpoint(s.nextOffset, parts);
    expect(cellsOf(r)).toEqual(cellsOf(s));
    expect([r.maxTs, r.totals, r.pendingLate]).toEqual([s.maxTs, s.totals, s.pendingLate]);
    expect(r.rollupDirty.size).toBe(r.cells.size);
    expect(r.checkpointDirty.size).toBe(0);
    // The id memory survives a restore: a retry after a crash is still a duplicate.
    feed(r, [[ev(45_500, { id: 'y' })]]);
    feed(r, [[ev(45_500, { id: 'y' })]]);
    expect(r.totals.duplicates).toBe(1);
  });

  it('encode only the windows changed since the last checkpoint; unchanged ones are reused', () => {
    const s = emptyState();
    feed(s, [[ev(1_000), ev(11_000), ev(21_000)]]);
    const first = captureCheckpoint(s);
    expect([...first.parts.keys()].sort()).toEqual(['meta', 'w:0', 'w:10000', 'w:20000']);
    expect(first.encodedWindows.sort()).toEqual([0, 10_000, 20_000]);
    const store = committed(first, new Map());
    feed(s, [[ev(22_000)]]);
    const second = captureCheckpoint(s);
    expect(second.encodedWindows).toEqual([20_000]);
    expect(second.parts.get('w:0')).toBeNull();
    expect(second.parts.get('w:10000')).toBeNull();
    const r = restoreCheckpoint(s.nextOffset, committed(second, store));
    expect(cellsOf(r)).toEqual(cellsOf(s));
  });

  it('a window evicted after its final rollups leaves the checkpoint', () => {
    const s = emptyState();
    feed(s, [[ev(1_000), ev(45_000)]]);
    captureCheckpoint(s);
    finalsWritten(s, rollupWrites(s, C, 0, 1).finalKeys);
    expect([...captureCheckpoint(s).parts.keys()]).toEqual(['meta', 'w:40000']);
  });

  it('refuses an unknown part version', () => {
    expect(() => restoreCheckpoint(0, new Map([['w:0', encode({ v: 2, window: 0, cells: [] })]]))).toThrow('unknown checkpoint window version 2');
  });
});
