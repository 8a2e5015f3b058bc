import { describe, expect, it } from 'vitest';
import { Reach, geohashCenter, packSegment } from '../../../actors/model/index.js';
import { FrozenWindow, type FrozenParts } from '../../../gateway/live/frozen.js';

const users = (...hashes: number[]) => {
  const r = new Reach();
  for (const h of hashes) r.add(0, h);
  return r.toBytes();
};
const segs = (...rows: [number, number[]][]) => {
  const out: number[] = [];
  for (const [id, vals] of rows) packSegment(out, id, vals, 0);
  return Float64Array.from(out);
};

/** Cells of every shape: segments or none, users or none, segments' users or none. */
const cells = new Map<string, FrozenParts>([
  ['u09tvw', { sum: [5, 1, 0, 0, 0, 0, 2.5], frozenSegs: segs([3, [4, 1, 0, 0, 0, 0, 2.5]], [7, [1, 0, 0, 0, 0, 0, 0]]), frozenReach: users(1, 2, 3), frozenSegReach: new Map([[3, users(1, 2)], [7, users(3)]]) }],
  ['u09tvx', { sum: [1, 0, 0, 0, 0, 0, 0], frozenSegs: new Float64Array(0), frozenReach: null, frozenSegReach: null }],
  ['xn76u', { sum: [2, 0, 0, 1, 0, 0, 9.99], frozenSegs: segs([0, [2, 0, 0, 1, 0, 0, 9.99]]), frozenReach: users(9), frozenSegReach: null }],
  // Counts past 2^32, and (never made by counting, kept all the same) a count that is not an integer.
  ['gcpvj1', { sum: [2 ** 40 + 3, 0.5, 0, 0, 0, 0, -1.25], frozenSegs: segs([2 ** 20, [2 ** 40, 0, 0, 0, 0, 0, 0]], [5, [0, 0.5, 0, 0, 0, 0, -1.25]]), frozenReach: null, frozenSegReach: null }],
  ['gcpvj0', { sum: [3, 0, 0, 0, 0, 0, 0], frozenSegs: null, frozenReach: null, frozenSegReach: new Map([[1, users(4, 5, 6, 7, 8, 9, 10, 11, 12, 13)]]) }],
]);

describe('a frozen window of the live store', () => {
  it('reads back every cell as it was packed: sums, centre, segments, users and segments\' users', () => {
    const w = new FrozenWindow(cells);
    expect(w.size).toBe(5);
    const back = [...w.entries()];
    expect(back.map(([cell]) => cell)).toEqual([...cells.keys()]);
    for (const [cell, base] of back) {
      const want = cells.get(cell)!;
      expect([...base.sum]).toEqual(Array.from(want.sum));
      expect({ lat: base.lat, lon: base.lon }).toEqual(geohashCenter(cell));
      expect([...base.frozenSegs]).toEqual([...(want.frozenSegs ?? [])]);
      expect(base.frozenReach && [...base.frozenReach]).toEqual(want.frozenReach && [...want.frozenReach]);
      const segReach = base.frozenSegReach && [...base.frozenSegReach].map(([id, b]) => [id, [...b]]);
      expect(segReach).toEqual(want.frozenSegReach && [...want.frozenSegReach].map(([id, b]) => [id, [...b]]));
      expect(base.parts).toEqual([]);
      expect(base.partSegs).toBeNull();
    }
    const paris = back[0]![1];
    expect(Reach.fromBytes(paris.frozenReach!).users()).toBe(3);
    expect(Reach.fromBytes(paris.frozenSegReach!.get(3)!).users()).toBe(2);
  });

  it('packs a cell into a few bytes: a count is a varint, a slot that is zero takes nothing', () => {
    const one = new FrozenWindow(new Map([['u09tvx', cells.get('u09tvx')!]]));
    // mask, the count 1, no segments, no users, no segments' users: 5 bytes; offsets 2 × 2 × 4; the geohash.
    expect(one.bytesHeld).toBe(5 + 16 + 6);
  });

  it('names its segment numbers, and renumbers them into a new window', () => {
    const w = new FrozenWindow(cells);
    expect([...new Set(w.ids())].sort((a, b) => a - b)).toEqual([0, 1, 3, 5, 7, 2 ** 20]);
    const to = new Map([[0, 10], [1, 11], [3, 13], [5, 15], [7, 17], [2 ** 20, 12]]);
    const r = w.renumbered((id) => to.get(id)!);
    expect([...new Set(r.ids())].sort((a, b) => a - b)).toEqual([10, 11, 12, 13, 15, 17]);
    const paris = [...r.entries()][0]![1];
    expect([...paris.frozenSegReach!.keys()]).toEqual([13, 17]);
    expect(Reach.fromBytes(paris.frozenSegReach!.get(13)!).users()).toBe(2);
    expect([...paris.sum]).toEqual([5, 1, 0, 0, 0, 0, 2.5]);
    expect([...w.entries()][0]![1].frozenSegReach!.has(3)).toBe(true); // the original is unchanged
  });

  it('packs an empty window', () => {
    const w = new FrozenWindow(new Map());
    expect(w.size).toBe(0);
    expect([...w.entries()]).toEqual([]);
  });
});
