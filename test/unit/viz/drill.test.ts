import { describe, expect, it } from 'vitest';
import { geohashEncode } from '../../../actors/model/geohash.js';
import { NO_FILTER } from '../../../actors/model/segment.js';
import {
  checkPage, drillable, drillRange, drillReducer, drillStart, drillStatus, eventsQuery, localTime, mergePage, shortUserId,
  DRILL_SPAN_MS, PAGE_LIMIT, WrongPageError, type ArchivedEventJson, type DrillRequest, type DrillState, type EventsAnswer,
} from '../../../viz/src/drill.js';

const PARIS = { lat: 48.8566, lon: 2.3522 };
const CELL = geohashEncode(PARIS.lat, PARIS.lon, 6);
const req: DrillRequest = { cell: CELL, from: 1_000_000, to: 1_900_000, types: undefined, filter: NO_FILTER };

function ev(offset: number, over: Partial<ArchivedEventJson> = {}): ArchivedEventJson {
  return {
    ts: 1_800_000 - offset, type: 'click', userId: `user-${offset}`, ...PARIS, receivedAt: 1_800_001, partition: 0, offset, index: 0,
    late: false, duplicate: false, ...over,
  };
}
const answer = (events: ArchivedEventJson[], next: string | null, r: DrillRequest = req): EventsAnswer => ({ cell: r.cell, from: r.from, to: r.to, events, next, source: 'archive' });
const keys = (s: DrillState) => s.events.map((e) => `${e.partition}:${e.offset}:${e.index}`);

describe('eventsQuery', () => {
  it('asks for the cell, range, limit and nothing else when unfiltered; the cursor only for older pages', () => {
    expect(eventsQuery(req)).toBe(`/v1/events?cell=${CELL}&from=1000000&to=1900000&limit=${PAGE_LIMIT}`);
    expect(eventsQuery(req, 'gqFk-_x')).toBe(`/v1/events?cell=${CELL}&from=1000000&to=1900000&limit=${PAGE_LIMIT}&cursor=gqFk-_x`);
  });

  it('encodes types comma-joined, app and campaign repeated, and never carries the key', () => {
    const q = eventsQuery({ ...req, types: ['click', 'install'], filter: { apps: ['a&b', 'c,d'], campaigns: ['spring sale'] } }, 'x+y/z=');
    expect(q).toBe(`/v1/events?cell=${CELL}&from=1000000&to=1900000&types=click%2Cinstall&app=a%26b&app=c%2Cd&campaign=spring+sale&limit=${PAGE_LIMIT}&cursor=x%2By%2Fz%3D`);
    const back = new URLSearchParams(q.slice(q.indexOf('?')));
    expect([...new Set(back.keys())]).toEqual(['cell', 'from', 'to', 'types', 'app', 'campaign', 'limit', 'cursor']);
    expect(back.getAll('app')).toEqual(['a&b', 'c,d']);
    expect(back.get('cursor')).toBe('x+y/z=');
  });
});

describe('drillRange / drillable', () => {
  it('the last 15 minutes up to the click, or exactly the replayed bucket', () => {
    expect(drillRange(5_000_000, null)).toEqual({ from: 5_000_000 - DRILL_SPAN_MS, to: 5_000_000 });
    expect(DRILL_SPAN_MS).toBe(900_000);
    expect(drillRange(5_000_000, { at: 3_600_000, stepS: 60 })).toEqual({ from: 3_600_000, to: 3_660_000 });
  });

  it('cells of precision 4 to 9 only', () => {
    expect(['u09', 'u09t', 'u09tvwxyz', 'u09tvwxyzb'].map(drillable)).toEqual([false, true, true, false]);
  });
});

describe('shortUserId / localTime', () => {
  it('keeps the first 4 and last 2 characters, whole ids of 7 or fewer', () => {
    expect(shortUserId('a1b2c3d4e5f6')).toBe('a1b2…f6');
    expect(shortUserId('abcdefgh')).toBe('abcd…gh');
    expect(shortUserId('abcdefg')).toBe('abcdefg');
    expect(shortUserId('')).toBe('');
    expect(shortUserId('😀😁😂😃😄😅😆😇')).toBe('😀😁😂😃…😆😇');
  });

  it('local hours, minutes and seconds, zero-padded', () => {
    expect(localTime(new Date(2024, 0, 2, 3, 4, 5, 678).getTime())).toBe('03:04:05');
    expect(localTime(new Date(2024, 11, 31, 23, 59, 59).getTime())).toBe('23:59:59');
  });
});

describe('mergePage', () => {
  it('appends the events not yet listed, in page order, each once', () => {
    const have = [ev(1), ev(2)];
    const merged = mergePage(have, [ev(2), ev(3), ev(2, { index: 1 }), ev(3), ev(1, { partition: 1 })]);
    expect(merged.map((e) => `${e.partition}:${e.offset}:${e.index}`)).toEqual(['0:1:0', '0:2:0', '0:3:0', '0:2:1', '1:1:0']);
  });

  it('a page with nothing new leaves the list as it was', () => {
    const have = [ev(1)];
    expect(mergePage(have, [ev(1)])).toBe(have);
    expect(mergePage([], [])).toEqual([]);
  });
});

describe('checkPage', () => {
  it('accepts an answer whose events are all in the cell, range, types and filter', () => {
    const r: DrillRequest = { ...req, types: ['click'], filter: { apps: ['a'], campaigns: [] } };
    expect(() => checkPage(r, answer([ev(1, { appId: 'a' }), ev(2, { appId: 'a', campaignId: 'c' })], null, r))).not.toThrow();
  });

  it('refuses another cell or range, and an event the request leaves out', () => {
    expect(() => checkPage(req, { ...answer([], null), cell: 'u09t' })).toThrow(WrongPageError);
    expect(() => checkPage(req, { ...answer([], null), to: 2_000_000 })).toThrow(`the server answered for cell ${CELL} [1000000, 2000000), not ${CELL} [1000000, 1900000)`);
    const r: DrillRequest = { ...req, types: ['click'], filter: { apps: ['a'], campaigns: [] } };
    const refused = (e: ArchivedEventJson) => () => checkPage(r, answer([ev(1, { appId: 'a' }), e], null, r));
    expect(refused(ev(7))).toThrow('event 0:7:0 (click, app —, campaign —) does not pass');
    expect(refused(ev(7, { appId: 'b' }))).toThrow(WrongPageError);
    expect(refused(ev(7, { appId: 'a', type: 'install' }))).toThrow(WrongPageError);
    expect(refused(ev(7, { appId: 'a', ts: 1_900_000 }))).toThrow(WrongPageError);
    expect(refused(ev(7, { appId: 'a', lat: 40.7, lon: -74 }))).toThrow(WrongPageError);
  });
});

describe('drillReducer', () => {
  const first = eventsQuery(req);

  it('starts loading the first page; the answer lists its events and keeps the cursor', () => {
    const s0 = drillStart(req);
    expect(s0.phase).toEqual({ type: 'loading', query: first });
    expect(drillStatus(s0)).toBe('loading');
    const s1 = drillReducer(s0, { type: 'page', query: first, answer: answer([ev(1), ev(2)], 'c1') });
    expect(keys(s1)).toEqual(['0:1:0', '0:2:0']);
    expect(s1.next).toBe('c1');
    expect(s1.phase).toEqual({ type: 'idle' });
    expect(drillStatus(s1)).toBe('events');
  });

  it('"load older" fetches the next page by its cursor and appends it without repeats, up to the last page', () => {
    let s = drillReducer(drillStart(req), { type: 'page', query: first, answer: answer([ev(1), ev(2)], 'c1') });
    s = drillReducer(s, { type: 'more' });
    const older = eventsQuery(req, 'c1');
    expect(s.phase).toEqual({ type: 'loading', query: older });
    expect(drillStatus(s)).toBe('loading-older');
    expect(drillReducer(s, { type: 'more' })).toBe(s);
    s = drillReducer(s, { type: 'page', query: older, answer: answer([ev(2), ev(3)], null) });
    expect(keys(s)).toEqual(['0:1:0', '0:2:0', '0:3:0']);
    expect(s.next).toBeNull();
    expect(drillReducer(s, { type: 'more' })).toBe(s);
  });

  it('an empty first page is the empty state', () => {
    const s = drillReducer(drillStart(req), { type: 'page', query: first, answer: answer([], null) });
    expect(drillStatus(s)).toBe('empty');
    expect(s.events).toEqual([]);
  });

  it('ignores a reply for another page than the one being fetched', () => {
    const s0 = drillStart(req);
    expect(drillReducer(s0, { type: 'page', query: eventsQuery(req, 'old'), answer: answer([ev(9)], null) })).toBe(s0);
    expect(drillReducer(s0, { type: 'failed', query: eventsQuery({ ...req, cell: 'u09t' }), status: 500, message: 'x' })).toBe(s0);
    const idle = drillReducer(s0, { type: 'page', query: first, answer: answer([ev(1)], null) });
    expect(drillReducer(idle, { type: 'page', query: first, answer: answer([ev(2)], null) })).toBe(idle);
  });

  it('a 503 is "unavailable", another failure an error with the server\'s message; retry asks the same page again', () => {
    const down = drillReducer(drillStart(req), { type: 'failed', query: first, status: 503, message: 'Cassandra: no host' });
    expect(down.phase).toEqual({ type: 'failed', query: first, unavailable: true, message: 'Cassandra: no host' });
    expect(drillStatus(down)).toBe('unavailable');
    const bad = drillReducer(drillStart(req), { type: 'failed', query: first, status: 400, message: 'cell: precision must be 4 to 9, got 3 ("u09")' });
    expect(drillStatus(bad)).toBe('error');
    expect(bad.phase).toEqual({ type: 'failed', query: first, unavailable: false, message: 'cell: precision must be 4 to 9, got 3 ("u09")' });
    expect(drillStatus(drillReducer(drillStart(req), { type: 'failed', query: first, status: undefined, message: 'offline' }))).toBe('error');
    expect(drillReducer(down, { type: 'retry' }).phase).toEqual({ type: 'loading', query: first });
    expect(drillReducer(down, { type: 'more' })).toBe(down);
  });

  it('an older page that fails keeps the events listed and is asked again on retry', () => {
    let s = drillReducer(drillStart(req), { type: 'page', query: first, answer: answer([ev(1)], 'c1') });
    s = drillReducer(s, { type: 'more' });
    s = drillReducer(s, { type: 'failed', query: eventsQuery(req, 'c1'), status: 503, message: 'down' });
    expect(keys(s)).toEqual(['0:1:0']);
    expect(s.next).toBe('c1');
    s = drillReducer(s, { type: 'retry' });
    expect(s.phase).toEqual({ type: 'loading', query: eventsQuery(req, 'c1') });
    expect(drillReducer(drillReducer(s, { type: 'page', query: eventsQuery(req, 'c1'), answer: answer([ev(2)], null) }), { type: 'retry' }).phase).toEqual({ type: 'idle' });
  });
});
