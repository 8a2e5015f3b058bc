import { describe, expect, it } from 'vitest';
import { FrameGate, backoffMs, bboxOf, dashboardRange, wrapLon } from '../../../viz/src/protocol.js';

describe('FrameGate', () => {
  it('applies a snapshot then consecutive deltas', () => {
    const g = new FrameGate();
    g.subscribed();
    expect(g.check({ type: 'snapshot', seq: 1, sub: 1 })).toBe('apply');
    expect(g.check({ type: 'delta', seq: 2, sub: 1 })).toBe('apply');
    expect(g.check({ type: 'delta', seq: 3, sub: 1 })).toBe('apply');
  });

  it('asks for a resync on a seq gap and drops deltas until the next snapshot', () => {
    const g = new FrameGate();
    g.subscribed();
    expect(g.check({ type: 'snapshot', seq: 1, sub: 1 })).toBe('apply');
    expect(g.check({ type: 'delta', seq: 3, sub: 1 })).toBe('resync');
    expect(g.check({ type: 'delta', seq: 4, sub: 1 })).toBe('wait');
    expect(g.check({ type: 'snapshot', seq: 5, sub: 1 })).toBe('apply');
    expect(g.check({ type: 'delta', seq: 6, sub: 1 })).toBe('apply');
  });

  it('a snapshot after a gap needs no resync', () => {
    const g = new FrameGate();
    expect(g.check({ type: 'snapshot', seq: 1, sub: 1 })).toBe('apply');
    expect(g.check({ type: 'snapshot', seq: 9, sub: 1 })).toBe('apply');
    expect(g.check({ type: 'delta', seq: 10, sub: 1 })).toBe('apply');
  });

  it('drops frames of an older subscription and deltas before the new snapshot', () => {
    const g = new FrameGate();
    g.subscribed();
    expect(g.check({ type: 'snapshot', seq: 1, sub: 0 })).toBe('apply'); // the server may count from 0
    expect(g.check({ type: 'delta', seq: 2, sub: 0 })).toBe('apply');
    g.subscribed();
    expect(g.check({ type: 'delta', seq: 3, sub: 0 })).toBe('stale');
    expect(g.check({ type: 'snapshot', seq: 4, sub: 1 })).toBe('apply');
    expect(g.check({ type: 'delta', seq: 5, sub: 1 })).toBe('apply');
  });

  it('before the first frame, any subscription number is accepted', () => {
    const g = new FrameGate();
    g.subscribed();
    g.subscribed();
    expect(g.check({ type: 'delta', seq: 1, sub: 5 })).toBe('wait');
    expect(g.check({ type: 'snapshot', seq: 2, sub: 6 })).toBe('apply');
  });
});

describe('backoffMs', () => {
  it('doubles from 0.5 s up to 10 s, with ±20 % jitter', () => {
    expect([0, 1, 2, 3, 4, 5, 20].map((a) => backoffMs(a, 0.5))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(backoffMs(0, 0)).toBe(400);
    expect(backoffMs(0, 0.999999)).toBe(600);
  });
});

describe('bboxOf', () => {
  it('keeps an ordinary box, rounded outward to 0.01°', () => {
    expect(bboxOf([2.123, 48.001, 2.5, 48.999])).toEqual([2.12, 48, 2.5, 49]);
  });
  it('is the whole world when 360° wide or more, latitudes clamped', () => {
    expect(bboxOf([-250, -95, 250, 95])).toEqual([-180, -90, 180, 90]);
  });
  it('wraps a box crossing the antimeridian (west > east)', () => {
    expect(bboxOf([170, -10, 190, 10])).toEqual([170, -10, -170, 10]);
    expect(bboxOf([-200, 0, -170, 5])).toEqual([160, 0, -170, 5]);
  });
  it('keeps a box ending on the antimeridian at +180', () => {
    expect(bboxOf([100, 0, 180, 5])).toEqual([100, 0, 180, 5]);
    expect(wrapLon(540)).toBe(-180);
  });
});

describe('dashboardRange', () => {
  it('ends at the current 10 s window start', () => {
    expect(dashboardRange(1_700_000_012_345, 900_000)).toEqual({ from: 1_700_000_010_000 - 900_000, to: 1_700_000_010_000 });
  });
});
