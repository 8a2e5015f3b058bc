import { describe, expect, it } from 'vitest';
import { hash32 } from '../../../../actors/hash.js';
import { EXACT_LIMIT, SKETCH_P, Sketch, foldRegisters, registersEstimate } from '../../../../actors/model/sketch.js';
import { accuracyTrial, errorQuantile, mulberry32 } from '../../../../bench/reach-accuracy.js';

const users = (n: number, seed = 1) => {
  const next = mulberry32(seed);
  return Array.from({ length: n }, () => next());
};
const sketchOf = (hashes: readonly number[]) => {
  const s = new Sketch();
  for (const h of hashes) s.add(h);
  return s;
};

describe('Sketch: exact regime', () => {
  it('counts distinct users exactly up to EXACT_LIMIT, duplicates ignored, the hash 0 included', () => {
    const hs = users(EXACT_LIMIT - 1);
    const s = new Sketch();
    for (const h of [...hs, ...hs, 0, 0]) s.add(h);
    expect(s.exact).toBe(true);
    expect(s.estimate()).toBe(EXACT_LIMIT);
    s.add(hs[0]!);
    expect(s.exact).toBe(true);
    s.add(0xdeadbeef);
    expect(s.exact).toBe(false);
    expect(s.precision).toBe(SKETCH_P);
  });

  it('merges exact sets as their union (merging twice changes nothing)', () => {
    const a = sketchOf([1, 2, 3, 4, 5]);
    const b = sketchOf([4, 5, 6]);
    a.merge(b).merge(b);
    expect(a.estimate()).toBe(6);
    expect(a.hashes().sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a union of exact sets beyond EXACT_LIMIT goes to registers holding every user', () => {
    const hs = users(EXACT_LIMIT * 2, 7);
    const a = sketchOf(hs.slice(0, EXACT_LIMIT));
    const b = sketchOf(hs.slice(EXACT_LIMIT));
    expect(a.exact && b.exact).toBe(true);
    a.merge(b);
    expect(a.exact).toBe(false);
    expect(a.estimate()).toBe(sketchOf(hs).estimate());
  });
});

describe('Sketch: registers', () => {
  it('the estimate follows adds and merges (its cache is dropped when a register changes)', () => {
    const hs = users(60_000, 3);
    const s = sketchOf(hs.slice(0, 10_000));
    expect(s.estimate()).toBe(sketchOf(hs.slice(0, 10_000)).estimate());
    for (const h of hs.slice(10_000, 20_000)) s.add(h);
    expect(s.estimate()).toBe(sketchOf(hs.slice(0, 20_000)).estimate());
    s.merge(sketchOf(hs.slice(20_000)));
    expect(s.estimate()).toBe(sketchOf(hs).estimate());
  });

  it('merging registers equals the sketch of the union, in any order', () => {
    const hs = users(50_000, 4);
    const a = sketchOf(hs.filter((_, i) => i % 2 === 0 || i % 3 === 0));
    const b = sketchOf(hs.filter((_, i) => i % 2 === 1));
    const ab = a.clone().merge(b);
    const ba = b.clone().merge(a);
    expect(ab.estimate()).toBe(sketchOf(hs).estimate());
    expect(ba.estimate()).toBe(ab.estimate());
  });

  it('folds finer registers down to a coarser precision exactly as if they had been kept at that precision', () => {
    const hs = users(30_000, 5);
    const fine = sketchOf(hs);
    const coarse = new Uint8Array(1 << 12);
    for (const h of hs) {
      const idx = h >>> 20;
      const rest = (h << 12) >>> 0;
      const rank = rest === 0 ? 21 : Math.clz32(rest) + 1;
      if (rank > coarse[idx]!) coarse[idx] = rank;
    }
    expect(foldRegisters(fine.registers()!, SKETCH_P, 12)).toEqual(coarse);
    // A merge with a coarser sketch (a checkpoint written before reach) folds down.
    const merged = fine.clone().merge(Sketch.ofRegisters(coarse.slice(), 12));
    expect(merged.precision).toBe(12);
    expect(merged.registers()).toEqual(coarse);
    expect(Math.abs(merged.estimate() - 30_000) / 30_000).toBeLessThan(3 * (1.04 / 64));
    expect(() => foldRegisters(coarse, 12, 15)).toThrow('cannot fold registers of precision 12 up to 15');
  });

  it('estimates user ids hashed with hash32 as well as uniform hashes', () => {
    const s = new Sketch();
    for (let i = 0; i < 200_000; i++) s.add(hash32(`user-${i}`));
    expect(Math.abs(s.estimate() - 200_000) / 200_000).toBeLessThan(0.02);
  });

  it('the empty and the full register sets have the estimator\'s limits', () => {
    expect(registersEstimate(new Uint8Array(1 << 10), 10)).toBe(0);
    expect(registersEstimate(new Uint8Array(1 << 10).fill(23), 10)).toBe(Infinity);
  });
});

describe('Sketch: bytes', () => {
  it('round-trips every form, each the smaller one', () => {
    for (const n of [0, 1, 100, EXACT_LIMIT, 6_000, 40_000, 300_000]) {
      const s = sketchOf(users(n, n + 11));
      const b = s.toBytes();
      const back = Sketch.fromBytes(b);
      expect(back.estimate()).toBe(s.estimate());
      expect(back.exact).toBe(s.exact);
      if (s.exact) expect(back.hashes().sort()).toEqual(s.hashes().sort());
      else expect(back.registers()).toEqual(s.registers());
      // exact: ≤ 5 bytes per user; registers: never more than all of them, and sparse ones much less.
      if (s.exact) expect(b.length).toBeLessThanOrEqual(2 + 5 * Math.max(n, 1));
      else expect(b.length).toBeLessThanOrEqual(2 + (1 << SKETCH_P));
      if (n === 6_000) expect(b.length).toBeLessThan((1 << SKETCH_P) / 2);
    }
    expect(sketchOf([42]).toBytes().length).toBeLessThanOrEqual(3);
  });

  it('names what is wrong with bad bytes', () => {
    expect(() => Sketch.fromBytes(new Uint8Array([7]))).toThrow('unknown kind 7');
    expect(() => Sketch.fromBytes(new Uint8Array([0, 3, 1]))).toThrow('end early');
    expect(() => Sketch.fromBytes(new Uint8Array([2, 30]))).toThrow('precision 30 out of 4-18');
    expect(() => Sketch.fromBytes(new Uint8Array([1, 4, 1, 3, 40]))).toThrow('rank 40 above 29');
    expect(() => Sketch.fromBytes(new Uint8Array([0, 1, 5, 9]))).toThrow('1 bytes after the sketch');
  });
});

describe('Sketch: accuracy, merged over 60 windows × 50 cells', () => {
  it('is exact for small areas (every cell sketch and their union stay exact sets)', () => {
    for (let seed = 1; seed <= 20; seed++) expect(accuracyTrial(seed, 1_000).error).toBe(0);
  });

  it('keeps the relative error at p99 within 2 % from 10k to 1M users (seeded trials)', () => {
    const trials = [
      ...Array.from({ length: 40 }, (_, i) => accuracyTrial(100 + i, 10_000)),
      ...Array.from({ length: 20 }, (_, i) => accuracyTrial(200 + i, 100_000)),
      ...Array.from({ length: 5 }, (_, i) => accuracyTrial(300 + i, 1_000_000)),
    ];
    expect(errorQuantile(trials, 0.99)).toBeLessThanOrEqual(0.02);
    // And without bias: the mean error is far inside one standard error (0.57 %).
    const mean = trials.reduce((a, t) => a + t.error, 0) / trials.length;
    expect(Math.abs(mean)).toBeLessThan(0.003);
  });

  it('keeps it when the merged sketches are registers themselves (few cells, many users each)', () => {
    const trials = Array.from({ length: 20 }, (_, i) => accuracyTrial(400 + i, 200_000, 10, 1));
    expect(errorQuantile(trials, 0.99)).toBeLessThanOrEqual(0.02);
  });
});
