/**
 * The drill-down panel's rules: the `/v1/events` query of a clicked cell (its range, types, apps and
 * campaigns), the check that an answer is for what was asked, shortened user ids, pages appended
 * without repeating an event, and the panel's states as a reducer (the page being fetched is part of
 * the state; the component fetches whatever the state says is loading). Pure: unit tested in Node.
 */
import { ARCHIVE_AREA_PRECISION, ARCHIVE_MAX_CELL_PRECISION, archiveKey, type ArchivedEventJson, type EventsAnswer } from '../../actors/model/archive.js';
import type { EventType } from '../../actors/model/event.js';
import { geohashEncode } from '../../actors/model/geohash.js';
import type { SegmentFilter } from '../../actors/model/segment.js';
import { queryString } from './api.js';
import { filterParams } from './filter.js';

export type { ArchivedEventJson, EventsAnswer };

/** Without time travel the panel lists the last 15 minutes up to the click. */
export const DRILL_SPAN_MS = 15 * 60_000;
export const PAGE_LIMIT = 50;
/** Precisions `/v1/events` takes: a coarser cell spans several archive areas. */
export const MIN_DRILL_PRECISION = ARCHIVE_AREA_PRECISION;
export const MAX_DRILL_PRECISION = ARCHIVE_MAX_CELL_PRECISION;

export interface DrillRequest {
  readonly cell: string;
  readonly from: number;
  readonly to: number;
  /** undefined: all types. */
  readonly types: readonly EventType[] | undefined;
  readonly filter: SegmentFilter;
}

export const drillable = (cell: string): boolean => cell.length >= MIN_DRILL_PRECISION && cell.length <= MAX_DRILL_PRECISION;

/**
 * The range listed: the replayed bucket while time travel shows one (the events behind the colour on
 * the map), else the {@link DRILL_SPAN_MS} up to `clickedAt`.
 */
export function drillRange(clickedAt: number, replayed: { readonly at: number; readonly stepS: number } | null): { from: number; to: number } {
  if (replayed) return { from: replayed.at, to: replayed.at + replayed.stepS * 1000 };
  return { from: clickedAt - DRILL_SPAN_MS, to: clickedAt };
}

/** `/v1/events?…` of one page (the first without a cursor). The key never goes in it: it is a header. */
export function eventsQuery(r: DrillRequest, cursor: string | null = null): string {
  return queryString('events', { cell: r.cell, from: r.from, to: r.to, types: r.types, ...filterParams(r.filter), limit: PAGE_LIMIT, cursor: cursor ?? undefined });
}

export class WrongPageError extends Error {}

/** Whether an event belongs to the answer of `r`: in its range and cell, of its types, apps and campaigns. */
function passes(r: DrillRequest, e: ArchivedEventJson): boolean {
  const { apps, campaigns } = r.filter;
  return e.ts >= r.from && e.ts < r.to && geohashEncode(e.lat, e.lon, r.cell.length) === r.cell
    && (r.types === undefined || r.types.includes(e.type))
    && (apps.length === 0 || apps.includes(e.appId ?? ''))
    && (campaigns.length === 0 || campaigns.includes(e.campaignId ?? ''));
}

/**
 * Throws unless the answer is for the cell and range asked and every event passes the types and the
 * filter: a server that ignored a parameter must not pass other events off as this cell's.
 */
export function checkPage(r: DrillRequest, a: EventsAnswer): void {
  if (a.cell !== r.cell || a.from !== r.from || a.to !== r.to) {
    throw new WrongPageError(`the server answered for cell ${a.cell} [${a.from}, ${a.to}), not ${r.cell} [${r.from}, ${r.to})`);
  }
  const bad = a.events.find((e) => !passes(r, e));
  if (bad) throw new WrongPageError(`the server did not apply the cell, range, types or filter asked: event ${archiveKey(bad)} (${bad.type}, app ${bad.appId ?? '—'}, campaign ${bad.campaignId ?? '—'}) does not pass`);
}

/** "a1b2…z9": the first 4 and last 2 characters; ids of 7 or fewer are shown whole (nothing to save). */
export function shortUserId(id: string): string {
  const chars = Array.from(id); // code points: never cut a surrogate pair in half
  return chars.length <= 7 ? id : `${chars.slice(0, 4).join('')}…${chars.slice(-2).join('')}`;
}

/** HH:MM:SS in local time. */
export function localTime(ts: number): string {
  const d = new Date(ts);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** `have` then the page's events not in it yet (an event is named by partition, offset and index). */
export function mergePage(have: readonly ArchivedEventJson[], page: readonly ArchivedEventJson[]): readonly ArchivedEventJson[] {
  const seen = new Set(have.map(archiveKey));
  const fresh = page.filter((e) => {
    const k = archiveKey(e);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return fresh.length === 0 ? have : [...have, ...fresh];
}

export type DrillPhase =
  /** Fetching the page `query` (the first, or an older one). */
  | { readonly type: 'loading'; readonly query: string }
  | { readonly type: 'idle' }
  /** Fetching `query` failed; `unavailable`: the archive answered 503. */
  | { readonly type: 'failed'; readonly query: string; readonly unavailable: boolean; readonly message: string };

export interface DrillState {
  readonly request: DrillRequest;
  /** Newest first, the pages loaded so far. */
  readonly events: readonly ArchivedEventJson[];
  /** Cursor of the next older page; null on the last page (and before the first). */
  readonly next: string | null;
  readonly phase: DrillPhase;
}

export type DrillAction =
  | { readonly type: 'page'; readonly query: string; readonly answer: EventsAnswer }
  /** `status`: the HTTP status, undefined when there was no answer or the answer was refused. */
  | { readonly type: 'failed'; readonly query: string; readonly status: number | undefined; readonly message: string }
  | { readonly type: 'more' }
  | { readonly type: 'retry' };

export function drillStart(request: DrillRequest): DrillState {
  return { request, events: [], next: null, phase: { type: 'loading', query: eventsQuery(request) } };
}

/** An answer or failure counts only for the page being fetched: anything else is a stale reply. */
export function drillReducer(s: DrillState, a: DrillAction): DrillState {
  const p = s.phase;
  switch (a.type) {
    case 'page':
      if (p.type !== 'loading' || p.query !== a.query) return s;
      return { ...s, events: mergePage(s.events, a.answer.events), next: a.answer.next, phase: { type: 'idle' } };
    case 'failed':
      if (p.type !== 'loading' || p.query !== a.query) return s;
      return { ...s, phase: { type: 'failed', query: a.query, unavailable: a.status === 503, message: a.message } };
    case 'more':
      if (p.type !== 'idle' || s.next === null) return s;
      return { ...s, phase: { type: 'loading', query: eventsQuery(s.request, s.next) } };
    case 'retry':
      return p.type === 'failed' ? { ...s, phase: { type: 'loading', query: p.query } } : s;
  }
}

/** What the panel shows. */
export type DrillStatus = 'loading' | 'loading-older' | 'empty' | 'events' | 'error' | 'unavailable';

export function drillStatus(s: DrillState): DrillStatus {
  switch (s.phase.type) {
    case 'loading': return s.events.length === 0 ? 'loading' : 'loading-older';
    case 'idle': return s.events.length === 0 ? 'empty' : 'events';
    case 'failed': return s.phase.unavailable ? 'unavailable' : 'error';
  }
}
