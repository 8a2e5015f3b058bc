import { describe, expect, it } from 'vitest';
import { foldSegment, OTHER_SEGMENT, OTHER_SEGMENT_KEY, segmentKey, segmentMatcher, segmentOf } from '../../../../actors/model/index.js';

describe('foldSegment: bounded segments per (window, cell)', () => {
  it('keeps the first max keys, folds every later new key into other, and never un-keeps one', () => {
    const held = new Set<string>();
    const seen = ['a', 'b', 'a', 'c', 'b', 'd', OTHER_SEGMENT_KEY].map((k) => foldSegment(held, k, 2, OTHER_SEGMENT_KEY));
    expect(seen).toEqual(['a', 'b', 'a', OTHER_SEGMENT_KEY, 'b', OTHER_SEGMENT_KEY, OTHER_SEGMENT_KEY]);
    expect([...held]).toEqual(['a', 'b']);
  });

  it('gives the other segment a key no real pair has, shown as app and campaign "*other*" to filters', () => {
    expect(segmentKey(OTHER_SEGMENT, OTHER_SEGMENT)).toBe(OTHER_SEGMENT_KEY);
    expect(segmentOf(OTHER_SEGMENT_KEY)).toEqual({ app: OTHER_SEGMENT, campaign: OTHER_SEGMENT });
    for (const [app, campaign] of [['', ''], ['*', ''], ['', '*'], [OTHER_SEGMENT, '']] as const) expect(segmentKey(app || undefined, campaign || undefined)).not.toBe(OTHER_SEGMENT_KEY);
    expect(segmentMatcher({ apps: [OTHER_SEGMENT], campaigns: [] })(OTHER_SEGMENT_KEY)).toBe(true);
    expect(segmentMatcher({ apps: [], campaigns: [OTHER_SEGMENT] })(OTHER_SEGMENT_KEY)).toBe(true);
    expect(segmentMatcher({ apps: ['app-a'], campaigns: [] })(OTHER_SEGMENT_KEY)).toBe(false);
  });
});
