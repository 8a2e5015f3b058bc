import { describe, expect, it } from 'vitest';
import { ALL_SLOTS, REACH_SLOTS, Reach, TINY_MAX, UNTYPED, reachAt, reachColumn, slotMask } from '../../../../actors/model/reach.js';
import { Sketch } from '../../../../actors/model/sketch.js';
import { mulberry32 } from '../../../../bench/reach-accuracy.js';

/** A reach of (slot, hash) pairs. */
const reachOf = (pairs: readonly (readonly [number, number])[]) => {
  const r = new Reach();
  for (const [slot, h] of pairs) r.add(slot, h);
  return r;
};
/** The same pairs counted by hand: distinct hashes among the slots of `mask`. */
const truth = (pairs: readonly (readonly [number, number])[], mask: number) =>
  new Set(pairs.filter(([s]) => mask & (1 << s)).map(([, h]) => h >>> 0)).size;
const masks = [ALL_SLOTS, 1, 2, 3, 1 << UNTYPED, slotMask([0, 2])];

describe('Reach: few pairs in one array, then a sketch per slot', () => {
  const next = mulberry32(7);
  // Hashes drawn from a small pool, so users repeat across slots; 0 and 2^32 − 1 included.
  const pool = [0, 0xffffffff, ...Array.from({ length: 10 }, () => next())];
  const sizes = [0, 1, 2, TINY_MAX, TINY_MAX + 1, 40];
  for (const n of sizes) {
    it(`answers every slot mask exactly with ${n} pairs added, through bytes and merges too`, () => {
      const pairs = Array.from({ length: n }, () => [next() % REACH_SLOTS, pool[next() % pool.length]!] as const);
      const r = reachOf(pairs);
      const back = Reach.fromBytes(r.toBytes());
      for (const m of masks) {
        expect(r.users(m)).toBe(truth(pairs, m));
        expect(back.users(m)).toBe(truth(pairs, m));
        expect(r.sketch(m).estimate()).toBe(truth(pairs, m));
      }
      expect(r.empty).toBe(n === 0);
      expect(r.pairs() !== null).toBe(new Set(pairs.map(([s, h]) => `${s}:${h >>> 0}`)).size <= TINY_MAX);
      // Merging a tiny into a per-slot reach, and the other way round, gives the union.
      const other = [[1, pool[0]!], [0, 12345], [UNTYPED, 777]] as const;
      const all = [...pairs, ...other];
      for (const merged of [reachOf(pairs).merge(reachOf(other)), reachOf(other).merge(reachOf(pairs)), reachOf(other).merge(back)]) {
        for (const m of masks) expect(merged.users(m)).toBe(truth(all, m));
      }
    });
  }

  it('caches all types\' users until a pair is added', () => {
    const r = reachOf([[0, 1], [1, 1]]);
    expect(r.users()).toBe(1);
    r.add(2, 2);
    expect(r.users()).toBe(2);
  });

  it('writes a tiny reach in 1 + 5 bytes per pair, smaller than a sketch per slot', () => {
    const r = reachOf([[0, 0xdeadbeef], [1, 0xdeadbeef]]);
    expect([...r.toBytes()]).toEqual([0x82, 0, 0xef, 0xbe, 0xad, 0xde, 1, 0xef, 0xbe, 0xad, 0xde]);
    const perSlot = new Reach();
    perSlot.setSlot(0, Sketch.fromBytes(r.slot(0)!.toBytes()));
    perSlot.setSlot(1, Sketch.fromBytes(r.slot(1)!.toBytes()));
    expect(perSlot.pairs()).toBeNull();
    expect(perSlot.toBytes().length).toBeGreaterThan(r.toBytes().length);
    expect(Reach.fromBytes(perSlot.toBytes()).users()).toBe(1);
  });

  it('keeps its bytes in reach columns, entry by entry', () => {
    const rs = [reachOf([]), reachOf([[0, 5]]), reachOf(Array.from({ length: 30 }, (_, i) => [i % 3, i] as const))];
    const col = reachColumn(rs);
    rs.forEach((r, i) => expect(reachAt(col, i).users()).toBe(r.users()));
  });

  it('reads tiny bytes into a reach that grows as one built by add: a repeated pair counts once, a ninth spills', () => {
    const dup = Reach.fromBytes(Uint8Array.of(0x82, 1, 7, 0, 0, 0, 1, 7, 0, 0, 0));
    expect([dup.users(), dup.pairs()?.length]).toEqual([1, 1]);
    const read = Reach.fromBytes(reachOf(Array.from({ length: TINY_MAX }, (_, i) => [i % REACH_SLOTS, i + 1] as const)).toBytes());
    expect(read.pairs()?.length).toBe(TINY_MAX);
    expect(read.add(0, 1)).toBe(false);
    expect(read.add(0, 100)).toBe(true);
    expect([read.pairs(), read.users()]).toEqual([null, TINY_MAX + 1]);
  });

  it('names what is wrong with bad tiny bytes', () => {
    expect(() => Reach.fromBytes(Uint8Array.of(0x80 | (TINY_MAX + 1)))).toThrow(/pairs in a tiny reach/);
    expect(() => Reach.fromBytes(Uint8Array.of(0x81, REACH_SLOTS, 0, 0, 0, 0))).toThrow(new RegExp(`slot ${REACH_SLOTS} of ${REACH_SLOTS}`));
    expect(() => Reach.fromBytes(Uint8Array.of(0x81, 0, 1, 2))).toThrow(/end early/);
    expect(() => Reach.fromBytes(Uint8Array.of(1))).toThrow(/end early/);
  });
});

describe('Reach.mergeBytes: a stored reach merged without decoding it first', () => {
  const rng = mulberry32(7);
  /** A reach of `n` users spread over `slots` slots: tiny, exact sketches, or registers past 4096. */
  const randomReach = (n: number, slots: number) => {
    const r = new Reach();
    for (let i = 0; i < n; i++) r.add(i % slots, (rng() * 2 ** 32) >>> 0);
    return r;
  };
  const sizes: [number, number][] = [[0, 1], [3, 2], [8, 3], [40, 1], [900, 3], [6000, 2]];

  it('equals merge(fromBytes) in every regime, into an empty, a tiny and a sketched reach', () => {
    for (const [n, slots] of sizes) {
      const bytes = randomReach(n, slots).toBytes();
      for (const [m, mslots] of [[0, 1], [5, 2], [300, 2], [5000, 1]] as const) {
        const base = randomReach(m, mslots).toBytes();
        const a = Reach.fromBytes(base).merge(Reach.fromBytes(bytes));
        const b = Reach.fromBytes(base).mergeBytes(bytes);
        for (let slot = 0; slot < REACH_SLOTS; slot++) expect(b.users(1 << slot)).toBe(a.users(1 << slot));
        expect(b.users()).toBe(a.users());
      }
    }
  });

  it('refuses bytes that are not one whole reach, naming what is wrong', () => {
    const bytes = randomReach(3, 1).toBytes();
    expect(() => new Reach().mergeBytes(Uint8Array.from([...bytes, 0]))).toThrow('reach bytes: 1 bytes after the reach');
    expect(() => new Reach().mergeBytes(bytes.subarray(0, bytes.length - 1))).toThrow('end early');
    expect(() => new Reach().mergeBytes(Uint8Array.of(0x80 | (TINY_MAX + 1)))).toThrow(`at most ${TINY_MAX}`);
  });
});
