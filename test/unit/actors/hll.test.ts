import { describe, expect, it } from 'vitest';
import { hash32, hash53 } from '../../../actors/hash.js';
import { HLL_P, Hll, SPARSE_LIMIT } from '../../../actors/hll.js';
import { decode, encode } from '../../../actors/model/index.js';

describe('Hll', () => {
  it('is exact up to the sparse limit, duplicates ignored', () => {
    const h = new Hll();
    for (let i = 0; i < SPARSE_LIMIT; i++) {
      h.add(hash32(`user-${i}`));
      h.add(hash32(`user-${i}`));
    }
    expect(h.estimate()).toBe(SPARSE_LIMIT);
  });

  it.each([1_000, 10_000, 100_000])('estimates %i distinct users within 3 standard errors', (n) => {
    const h = new Hll();
    for (let i = 0; i < n; i++) h.add(hash32(`u-${i}-x`));
    const stdErr = 1.04 / Math.sqrt(2 ** HLL_P);
    expect(Math.abs(h.estimate() - n) / n).toBeLessThan(3 * stdErr);
  });

  it('a dense estimate asked between adds and merges follows them (its cache is dropped when a register changes)', () => {
    const h = new Hll();
    const fresh = (n: number) => {
      const x = new Hll();
      for (let i = 0; i < n; i++) x.add(hash32(`c-${i}`));
      return x.estimate();
    };
    for (let i = 0; i < 1_000; i++) h.add(hash32(`c-${i}`));
    expect(h.estimate()).toBe(fresh(1_000));
    for (let i = 1_000; i < 20_000; i++) h.add(hash32(`c-${i}`));
    expect(h.estimate()).toBe(fresh(20_000));
    const other = new Hll();
    for (let i = 20_000; i < 60_000; i++) other.add(hash32(`c-${i}`));
    h.merge(other);
    expect(h.estimate()).toBe(fresh(60_000));
    expect(h.estimate()).toBeGreaterThan(50_000);
  });

  it('merging two sketches equals the sketch of the union', () => {
    const a = new Hll();
    const b = new Hll();
    const u = new Hll();
    for (let i = 0; i < 5000; i++) {
      const x = hash32(`m-${i}`);
      (i % 2 ? a : b).add(x);
      if (i % 3 === 0) a.add(x);
      u.add(x);
    }
    a.merge(b);
    expect(a.estimate()).toBe(u.estimate());
  });

  it('snapshots round-trip in both representations', () => {
    const small = new Hll();
    [5, 9, 1].forEach((x) => small.add(x));
    expect([...small.toSnapshot()].sort((a, b) => a - b)).toEqual([1, 5, 9]);
    expect(small.toSnapshot()).toBeInstanceOf(Uint32Array);
    expect(Hll.fromSnapshot(small.toSnapshot()).estimate()).toBe(3);
    const big = new Hll();
    for (let i = 0; i < 2000; i++) big.add(hash32(`b${i}`));
    const snap = big.toSnapshot();
    expect(snap).toBeInstanceOf(Uint8Array);
    expect(Hll.fromSnapshot(snap).estimate()).toBe(big.estimate());
    expect(() => Hll.fromSnapshot(new Uint8Array(10))).toThrow('HLL snapshot has 10 registers, expected 4096');
  });

  it('a sketch just past the exact limit snapshots its set registers only, ~4× smaller than all of them', () => {
    const h = new Hll();
    for (let i = 0; i < 400; i++) h.add(hash32(`p${i}`));
    const snap = decode<Uint16Array>(encode(h.toSnapshot())); // as a checkpoint carries it
    expect(snap).toBeInstanceOf(Uint16Array);
    expect(snap.byteLength).toBeLessThan(2 ** HLL_P / 2.5);
    const back = Hll.fromSnapshot(snap);
    expect(back.estimate()).toBe(h.estimate());
    for (let i = 0; i < 600; i++) {
      back.add(hash32(`q${i}`));
      h.add(hash32(`q${i}`));
    }
    expect(back.toSnapshot()).toEqual(h.toSnapshot()); // the same registers: they go on identically
    expect(() => Hll.fromSnapshot(new Uint16Array([5000, 1]))).toThrow('HLL snapshot names register 5000, expected < 4096');
  });
});

describe('hashes', () => {
  it('hash32 is stable and spreads', () => {
    expect(hash32('abc')).toBe(hash32('abc'));
    expect(new Set(Array.from({ length: 10_000 }, (_, i) => hash32(`k${i}`))).size).toBe(10_000);
  });
  it('hash53 stays a safe integer', () => {
    for (let i = 0; i < 1000; i++) expect(Number.isSafeInteger(hash53(`id-${i}`))).toBe(true);
  });
});

describe('IdSet', () => {
  it('remembers 53-bit ids exactly, growing as needed', async () => {
    const { IdSet } = await import('../../../actors/id-set.js');
    const { hash53: h } = await import('../../../actors/hash.js');
    const s = new IdSet();
    const ids = Array.from({ length: 20_000 }, (_, i) => h(`client-${i}`));
    for (const id of ids) expect(s.add(id)).toBe(true);
    expect(s.size).toBe(20_000);
    for (const id of ids.slice(0, 100)) expect(s.add(id)).toBe(false);
    expect(s.has(h('client-19999'))).toBe(true);
    expect(s.has(h('client-20000'))).toBe(false);
    expect(s.add(0)).toBe(true);
    expect(s.has(0)).toBe(true);
    expect([...IdSet.from(s.values()).values()].sort()).toEqual([...s.values()].sort());
  });
});
