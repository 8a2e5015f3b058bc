import { describe, expect, it } from 'vitest';
import { queryString } from '../../../viz/src/api.js';
import {
  NO_PRIVACY, OrderNotAppliedError, answerPrivacy, checkOrder, formatFrequency, formatUsers, frequencyOf, knownUsers,
  privacyAfter, privacyLines, summaryWithheldNote, topParams, withheldNote,
} from '../../../viz/src/reach.js';

describe('reach formatting', () => {
  it('a user count is shown when the server sent one, "–" when unknown (never 0)', () => {
    expect(formatUsers(0)).toBe('0');
    expect(formatUsers(12_345)).toBe('12,345');
    expect(formatUsers(undefined)).toBe('–');
    expect(knownUsers(7)).toBe(7);
    expect(knownUsers(0)).toBe(0);
    for (const v of [undefined, null, NaN, -1, '5', Infinity]) expect(knownUsers(v)).toBeUndefined();
  });

  it('frequency is impressions per user, null without impressions or a known non-zero reach', () => {
    expect(frequencyOf(30, 12)).toBe(2.5);
    expect(frequencyOf(0, 12)).toBeNull();
    expect(frequencyOf(30, 0)).toBeNull();
    expect(frequencyOf(30, undefined)).toBeNull();
    expect(formatFrequency(2.5)).toBe('2.50');
    expect(formatFrequency(1 / 3)).toBe('0.33');
    expect(formatFrequency(null)).toBe('–');
    expect(formatFrequency(undefined)).toBe('–');
  });
});

describe('privacy floor', () => {
  it('a snapshot states the floor afresh, a delta changes only the fields it carries', () => {
    const a = privacyAfter(NO_PRIVACY, { type: 'snapshot', privacyK: 10, withheld: 4, viewUsers: 900 });
    expect(a).toEqual({ privacyK: 10, withheld: 4, viewUsers: 900 });
    expect(privacyAfter(a, { type: 'delta' })).toBe(a);
    expect(privacyAfter(a, { type: 'snapshot', privacyK: 10, withheld: 4, viewUsers: 900 })).toBe(a);
    expect(privacyAfter(a, { type: 'delta', withheld: 0 })).toEqual({ privacyK: 10, withheld: 0, viewUsers: 900 });
    expect(privacyAfter(a, { type: 'snapshot' })).toEqual(NO_PRIVACY);
  });

  it('the legend says what is hidden and the view\'s reach, nothing without a floor or reach', () => {
    expect(privacyLines(NO_PRIVACY)).toEqual([]);
    expect(privacyLines({ privacyK: 10, withheld: 0, viewUsers: undefined })).toEqual(['cells with fewer than 10 unique users are hidden']);
    expect(privacyLines({ privacyK: 10, withheld: 1, viewUsers: 1234 })).toEqual([
      '1,234 unique users in view', 'cells with fewer than 10 unique users are hidden', '1 cell hidden in view',
    ]);
    expect(privacyLines({ privacyK: 10, withheld: 3, viewUsers: undefined })[1]).toBe('3 cells hidden in view');
    // Cells hidden without a floor cannot happen; a count alone says nothing to explain it.
    expect(privacyLines({ privacyK: 0, withheld: 3, viewUsers: 5 })).toEqual(['5 unique users in view']);
    expect(answerPrivacy({ privacyK: 5, withheld: 2 })).toEqual({ privacyK: 5, withheld: 2, viewUsers: undefined });
    expect(answerPrivacy({})).toEqual(NO_PRIVACY);
  });

  it('notes for hidden top cells and a withheld summary', () => {
    expect(withheldNote(0)).toBeUndefined();
    expect(withheldNote(undefined)).toBeUndefined();
    expect(withheldNote(1)).toBe('1 small cell hidden');
    expect(withheldNote(12)).toBe('12 small cells hidden');
    expect(summaryWithheldNote({ withheld: 0, privacyK: 10 })).toBeUndefined();
    expect(summaryWithheldNote({})).toBeUndefined();
    expect(summaryWithheldNote({ withheld: 1, privacyK: 10 })).toBe('Fewer than 10 unique users here: this area\'s figures are hidden.');
  });
});

describe('top by reach', () => {
  const base = { from: 1, to: 2, precision: 4, types: undefined, limit: 8 } as const;

  it('asks by=users for reach and leaves the events request as it was', () => {
    expect(queryString('top', topParams({ ...base, by: 'users' }))).toBe('/v1/top?from=1&to=2&precision=4&limit=8&by=users');
    expect(queryString('top', topParams({ ...base, by: 'events' }))).toBe('/v1/top?from=1&to=2&precision=4&limit=8');
    expect(queryString('top', { ...topParams({ ...base, types: ['click'], by: 'users' }), app: ['a'] })).toBe('/v1/top?from=1&to=2&precision=4&types=click&limit=8&by=users&app=a');
  });

  it('refuses an answer not in the order asked (a server that ignored by=users)', () => {
    expect(() => checkOrder('users', { by: 'users' })).not.toThrow();
    expect(() => checkOrder('events', { by: 'events' })).not.toThrow();
    expect(() => checkOrder('events', {})).not.toThrow();
    expect(() => checkOrder('users', {})).toThrow(OrderNotAppliedError);
    expect(() => checkOrder('users', { by: 'events' })).toThrow(/by reach: its answer is ordered by events/);
  });
});
