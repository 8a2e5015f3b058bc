import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, type DeltaRecord } from '../../../actors/model/index.js';
import { LiveStore } from '../../../gateway/live/store.js';

const W = 10_000;
const N = EVENT_TYPES.length;

/** A delta with one row per [window, cell, impressions, clicks, value]. */
function delta(partition: number, epoch: number, seq: number, rows: [number, string, number, number, number][], oldestAt = 1): DeltaRecord {
  const counts = new Uint32Array(rows.length * N);
  rows.forEach(([, , imp, clk], i) => {
    counts[i * N] = imp;
    counts[i * N + 1] = clk;
  });
  return {
    v: 1, partition, epoch, seq, at: 1000 + seq, oldestAt, precision: 6, windowMs: W,
    windows: Float64Array.from(rows.map((r) => r[0])), cells: rows.map((r) => r[1]), counts,
    values: Float64Array.from(rows.map((r) => r[4])), users: new Uint32Array(rows.length),
  };
}

const sums = (store: LiveStore, windowS: number, precision: number) => {
  const v = store.acquire(windowS, precision);
  const out = Object.fromEntries([...v.cells].map(([k, c]) => [k, [c.sum[0], c.sum[1], c.sum[N]]]));
  store.release(v);
  return out;
};

describe('LiveStore', () => {
  it('sums partitions, replaces (never adds) a partition\'s values, and sums sub-cells per precision', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 900_000 });
    s.apply(delta(0, 1, 1, [[100_000, 'u09tvw', 5, 1, 2.5], [100_000, 'u09tvx', 3, 0, 0]]));
    s.apply(delta(1, 1, 1, [[100_000, 'u09tvw', 2, 2, 1]]));
    s.apply(delta(0, 1, 2, [[100_000, 'u09tvw', 6, 1, 2.5]])); // absolute: 5 → 6
    expect(s.apply(delta(0, 1, 2, [[100_000, 'u09tvw', 6, 1, 2.5]]))).toBe('stale'); // replayed
    expect(s.apply(delta(0, 1, 1, [[100_000, 'u09tvw', 5, 1, 2.5]]))).toBe('stale'); // older: would go back
    expect(sums(s, 10, 6)).toEqual({ u09tvw: [8, 3, 3.5], u09tvx: [3, 0, 0] });
    expect(sums(s, 10, 4)).toEqual({ u09t: [11, 3, 3.5] });
  });

  it('keeps views incrementally equal to a fresh computation as windows roll and leave', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 60_000 });
    const v10 = s.acquire(10, 5);
    const v60 = s.acquire(60, 5);
    let seq = 0;
    for (let w = 0; w < 12; w++) s.apply(delta(0, 1, ++seq, [[w * W, 'u09tvw', w + 1, 0, 0], [w * W, 'gcpvj0', 1, 1, 0]]));
    const snap = (v: typeof v10) => Object.fromEntries([...v.cells].map(([k, c]) => [k, c.sum[0]]));
    // newest window 110 000: the 10 s view has only it, the 60 s view windows 60 000-110 000.
    expect(snap(v10)).toEqual({ u09tv: 12, gcpvj: 1 });
    expect(snap(v60)).toEqual({ u09tv: 7 + 8 + 9 + 10 + 11 + 12, gcpvj: 6 });
    expect(sums(s, 60, 5)).toEqual({ u09tv: [57, 0, 0], gcpvj: [6, 6, 0] });
    expect(s.firstKept).toBe(60_000);
    expect([...s.rows(0, Infinity)].map((r) => r.window).sort((a, b) => a - b)[0]).toBe(60_000);
  });

  it('tells gaps, owner changes and zombies apart; a zombie changes nothing', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 60_000 });
    expect(s.apply(delta(3, 2, 1, [[0, 'u09tvw', 1, 0, 0]]))).toBe('applied');
    expect(s.apply(delta(3, 2, 2, [[0, 'u09tvw', 2, 0, 0]]))).toBe('applied');
    expect(s.apply(delta(3, 2, 5, [[0, 'u09tvw', 3, 0, 0]]))).toBe('gap');
    expect(s.apply(delta(3, 1, 9, [[0, 'u09tvw', 99, 0, 0]]))).toBe('zombie');
    expect(s.apply(delta(3, 3, 1, [[0, 'u09tvw', 4, 0, 0]]))).toBe('owner-change');
    expect(s.apply(delta(3, 3, 2, [[0, 'u09tvw', 4, 0, 0]]))).toBe('applied');
    expect(sums(s, 10, 6)).toEqual({ u09tvw: [4, 0, 0] });
    expect(s.stats).toMatchObject({ gaps: 1, zombie: 1, ownerChanges: 1 });
  });

  it('repairs from stored rows by taking the larger value, never going back', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 60_000 });
    s.apply(delta(0, 1, 1, [[0, 'u09tvw', 5, 1, 0]]));
    s.repair(0, 0, 'u09tvw', Float64Array.from([3, 2, 0, 0, 0, 0, 1]));
    s.repair(0, 0, 'gcpvj0', Float64Array.from([4, 0, 0, 0, 0, 0, 0]));
    expect(sums(s, 10, 6)).toEqual({ u09tvw: [5, 2, 1], gcpvj0: [4, 0, 0] });
  });

  it('logs changed cells for readers and drops what every reader has read', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 60_000 });
    const v = s.acquire(10, 6);
    s.apply(delta(0, 1, 1, [[0, 'u09tvw', 1, 0, 0], [0, 'u09tvx', 1, 0, 0]], 50));
    s.apply(delta(0, 1, 2, [[0, 'u09tvw', 2, 0, 0]], 70));
    expect(v.logEnd).toBe(3);
    expect(v.changesSince(1)).toEqual({ cells: new Set(['u09tvx', 'u09tvw']), oldestAt: 50 });
    expect(v.changesSince(2)).toEqual({ cells: new Set(['u09tvw']), oldestAt: 70 });
    v.trim(2);
    expect([...v.changesSince(0).cells].sort()).toEqual(['u09tvw']);
    expect(v.snapshotCheaper(1)).toBe(true); // before the log start
  });
});
