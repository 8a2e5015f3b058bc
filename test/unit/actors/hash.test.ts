import { describe, expect, it } from 'vitest';
import { hash32, hash53 } from '../../../actors/hash.js';

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
