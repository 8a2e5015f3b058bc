import { describe, expect, it } from 'vitest';
import { BREAKS, CLASS_COLORS, CLASS_COUNT, classLabel, classOf, colorOf, heatWeight } from '../../../viz/src/scale.js';

describe('colour scale', () => {
  it('has one colour per class and decade breakpoints', () => {
    expect(CLASS_COLORS.length).toBe(BREAKS.length + 1);
    expect(CLASS_COUNT).toBe(7);
  });

  it('classes rates by fixed breakpoints (lower bound inclusive)', () => {
    expect([0.001, 0.01, 0.05, 0.1, 1, 9.99, 10, 100, 999, 1000, 1e6].map(classOf)).toEqual([0, 1, 1, 2, 3, 3, 4, 5, 5, 6, 6]);
    expect(colorOf(5)).toEqual(CLASS_COLORS[3]);
  });

  it('heat weight: 0 without events, floor(weight) is the class, at least 0.5, below CLASS_COUNT', () => {
    expect(heatWeight(0)).toBe(0);
    expect(heatWeight(NaN)).toBe(0);
    expect(heatWeight(0.0001)).toBe(0.5);
    for (const r of [0.005, 0.01, 0.03, 0.1, 0.5, 1, 7, 10, 100, 500, 1000, 1e9]) {
      expect(Math.floor(heatWeight(r))).toBe(Math.max(classOf(r), 0));
      expect(heatWeight(r)).toBeLessThan(CLASS_COUNT);
    }
    expect(heatWeight(2)).toBeLessThan(heatWeight(5));
  });

  it('labels classes', () => {
    expect([0, 1, 3, 6].map(classLabel)).toEqual(['< 0.01', '0.01–0.1', '1–10', '≥ 1,000']);
  });
});
