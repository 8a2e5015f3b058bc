import { describe, expect, it } from 'vitest';
import { queryString } from '../../../viz/src/api.js';

describe('queryString', () => {
  it('joins types by commas and leaves out undefined', () => {
    expect(queryString('top', { from: 1, to: 2, types: ['click', 'install'], limit: undefined })).toBe('/v1/top?from=1&to=2&types=click%2Cinstall');
    expect(queryString('summary', {})).toBe('/v1/summary');
  });

  it('repeats app and campaign once per id, never comma-joined (ids may hold commas)', () => {
    const q = queryString('summary', { from: 1, app: ['a', 'b,c'], campaign: ['spring sale'], types: ['click'] });
    expect(q).toBe('/v1/summary?from=1&app=a&app=b%2Cc&campaign=spring+sale&types=click');
    const back = new URLSearchParams(q.slice(q.indexOf('?')));
    expect(back.getAll('app')).toEqual(['a', 'b,c']);
    expect(back.getAll('campaign')).toEqual(['spring sale']);
  });

  it('an empty app or campaign list adds nothing (any), a single id one parameter', () => {
    expect(queryString('top', { app: [], campaign: ['c1'] })).toBe('/v1/top?campaign=c1');
  });
});
