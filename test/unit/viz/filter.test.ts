import { describe, expect, it } from 'vitest';
import { MAX_FILTER_IDS, NO_FILTER, type SegmentFilter } from '../../../actors/model/segment.js';
import { queryString } from '../../../viz/src/api.js';
import {
  checkEcho, choicesOf, clearDim, filterFromSearch, filterLabel, filterParams, FilterNotAppliedError, isFull, listSummary,
  searchWithFilter, subscribeFields, toggleId,
} from '../../../viz/src/filter.js';

const f = (apps: string[], campaigns: string[] = []): SegmentFilter => ({ apps, campaigns });

describe('toggleId / clearDim', () => {
  it('adds an id at the end, removes it again; the other list is untouched', () => {
    let x = toggleId(NO_FILTER, 'apps', 'a');
    x = toggleId(x, 'apps', 'b');
    x = toggleId(x, 'campaigns', 'c');
    expect(x).toEqual(f(['a', 'b'], ['c']));
    expect(toggleId(x, 'apps', 'a')).toEqual(f(['b'], ['c']));
    expect(toggleId(f(['a']), 'apps', 'a')).toEqual(f([]));
  });

  it('refuses an id beyond MAX_FILTER_IDS or of an invalid length; removing still works when full', () => {
    const full = f(Array.from({ length: MAX_FILTER_IDS }, (_, i) => `app${i}`));
    expect(isFull(full, 'apps')).toBe(true);
    expect(toggleId(full, 'apps', 'one-more')).toBe(full);
    expect(toggleId(full, 'apps', 'app3').apps).toHaveLength(MAX_FILTER_IDS - 1);
    expect(toggleId(NO_FILTER, 'apps', '')).toBe(NO_FILTER);
    expect(toggleId(NO_FILTER, 'apps', 'x'.repeat(65))).toBe(NO_FILTER);
  });

  it('"all" empties one list only', () => {
    expect(clearDim(f(['a'], ['c']), 'apps')).toEqual(f([], ['c']));
    const none = f([], ['c']);
    expect(clearDim(none, 'apps')).toBe(none);
  });
});

describe('choicesOf', () => {
  const seen = [{ id: 'busy', events: 900, users: 40 }, { id: 'quiet', events: 3, users: 2 }];

  it('lists the answer busiest first, marking what is selected', () => {
    expect(choicesOf(seen, ['quiet'])).toEqual([
      { id: 'busy', events: 900, selected: false },
      { id: 'quiet', events: 3, selected: true },
    ]);
  });

  it('keeps selected ids the answer no longer lists, first, with no count', () => {
    expect(choicesOf(seen, ['gone', 'busy', 'also-gone'])).toEqual([
      { id: 'gone', events: undefined, selected: true },
      { id: 'also-gone', events: undefined, selected: true },
      { id: 'busy', events: 900, selected: true },
      { id: 'quiet', events: 3, selected: false },
    ]);
  });

  it('before the first answer, only the selected ids', () => {
    expect(choicesOf(undefined, ['a'])).toEqual([{ id: 'a', events: undefined, selected: true }]);
    expect(choicesOf(undefined, [])).toEqual([]);
  });
});

describe('the filter in the address bar', () => {
  it('reads repeated app= and campaign=, dropping invalid ids and duplicates', () => {
    expect(filterFromSearch('?app=a&app=b%2Cc&campaign=spring+sale&app=a&app=')).toEqual(f(['a', 'b,c'], ['spring sale']));
    expect(filterFromSearch('')).toBe(NO_FILTER);
    expect(filterFromSearch('?mode=x')).toBe(NO_FILTER);
    expect(filterFromSearch(`?app=${'x'.repeat(65)}`)).toBe(NO_FILTER);
  });

  it('keeps at most MAX_FILTER_IDS per list', () => {
    const many = Array.from({ length: MAX_FILTER_IDS + 5 }, (_, i) => `app=a${i}`).join('&');
    expect(filterFromSearch(`?${many}`).apps).toHaveLength(MAX_FILTER_IDS);
  });

  it('writes the filter, keeping other parameters, and reads back the same filter', () => {
    const x = f(['a&b', 'ünï', 'c,d'], ['x=y', '#1']);
    const search = searchWithFilter('?other=1&app=old', x);
    expect(new URLSearchParams(search).get('other')).toBe('1');
    expect(filterFromSearch(search)).toEqual(x);
    expect(searchWithFilter(search, NO_FILTER)).toBe('?other=1');
    expect(searchWithFilter('', NO_FILTER)).toBe('');
    expect(searchWithFilter('', f(['a'], ['c']))).toBe('?app=a&campaign=c');
  });
});

describe('query and subscribe fields', () => {
  it('repeated query parameters, left out when empty', () => {
    expect(filterParams(NO_FILTER)).toEqual({});
    expect(queryString('summary', { from: 1, ...filterParams(f(['a', 'b'], ['c'])) })).toBe('/v1/summary?from=1&app=a&app=b&campaign=c');
    expect(queryString('summary', { ...filterParams(f([], ['c'])) })).toBe('/v1/summary?campaign=c');
  });

  it('subscribe fields only for non-empty lists', () => {
    expect(subscribeFields(NO_FILTER)).toEqual({});
    expect(subscribeFields(f(['a']))).toEqual({ apps: ['a'] });
    expect(subscribeFields(f(['a'], ['c']))).toEqual({ apps: ['a'], campaigns: ['c'] });
  });
});

describe('checkEcho', () => {
  it('passes an answer echoing the filter (in any order) and an unfiltered answer to an unfiltered query', () => {
    expect(() => checkEcho(f(['a', 'b'], ['c']), { apps: ['b', 'a'], campaigns: ['c'] })).not.toThrow();
    expect(() => checkEcho(NO_FILTER, {})).not.toThrow();
    expect(() => checkEcho(NO_FILTER, { apps: [], campaigns: [] })).not.toThrow();
  });

  it('refuses an answer that ignored or changed the filter', () => {
    expect(() => checkEcho(f(['a']), {})).toThrow(FilterNotAppliedError);
    expect(() => checkEcho(f(['a']), {})).toThrow('the server did not apply the filter app a: its answer is not filtered');
    expect(() => checkEcho(f(['a'], ['c']), { apps: ['a'] })).toThrow('its answer is filtered by app a');
  });
});

describe('labels', () => {
  it('says what one list selects', () => {
    expect(listSummary([])).toBe('all');
    expect(listSummary(['a'])).toBe('a');
    expect(listSummary(['a', 'b'])).toBe('2 selected');
  });

  it('names the filter, a few ids per list', () => {
    expect(filterLabel(NO_FILTER)).toBe('');
    expect(filterLabel(f(['a']))).toBe('app a');
    expect(filterLabel(f([], ['c', 'd']))).toBe('campaigns c, d');
    expect(filterLabel(f(['a', 'b', 'c', 'd', 'e'], ['x']), 3)).toBe('apps a, b, c +2 · campaign x');
    expect(filterLabel(f(['a', 'b', 'c', 'd', 'e']), Infinity)).toBe('apps a, b, c, d, e');
  });
});
