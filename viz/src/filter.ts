/**
 * The app and campaign filter (actors/model/segment.ts) on the page's side: toggling ids, the choices
 * offered (the `/v1/segments` answer, plus selected ids it no longer lists: a choice is never dropped
 * behind the user's back), the `?app=&campaign=` of the address bar, the query and subscribe fields,
 * the check that an answer applied the filter, and the labels that say a view is filtered.
 * Pure: no DOM, unit tested in Node.
 */
import type { FilterEcho, SegmentCount } from '../../actors/model/query.js';
import { MAX_FILTER_IDS, MAX_SEGMENT_ID, NO_FILTER, filterKey, isFiltered, type SegmentFilter } from '../../actors/model/segment.js';

export type Dimension = 'apps' | 'campaigns';
export const DIMENSIONS: readonly Dimension[] = ['apps', 'campaigns'];

/** The query (and address bar) parameter of each list: repeated, never comma-joined (ids may hold commas). */
export const FILTER_PARAM: Readonly<Record<Dimension, 'app' | 'campaign'>> = { apps: 'app', campaigns: 'campaign' };

const validId = (id: string) => id.length >= 1 && id.length <= MAX_SEGMENT_ID;

/** Adds `id` to one list, or removes it. A list holds at most MAX_FILTER_IDS: an id beyond that is not added. */
export function toggleId(f: SegmentFilter, dim: Dimension, id: string): SegmentFilter {
  const list = f[dim];
  if (list.includes(id)) return { ...f, [dim]: list.filter((x) => x !== id) };
  if (list.length >= MAX_FILTER_IDS || !validId(id)) return f;
  return { ...f, [dim]: [...list, id] };
}

/** "All" for one list: empties it. */
export function clearDim(f: SegmentFilter, dim: Dimension): SegmentFilter {
  return f[dim].length === 0 ? f : { ...f, [dim]: [] };
}

/** The list is full: no other id may be added. */
export const isFull = (f: SegmentFilter, dim: Dimension): boolean => f[dim].length >= MAX_FILTER_IDS;

export interface Choice {
  readonly id: string;
  /** Events in the range `/v1/segments` was asked for; undefined when the answer does not list the id. */
  readonly events: number | undefined;
  readonly selected: boolean;
}

/**
 * The choices of one list: the selected ids the answer does not list (or all selected ids while there
 * is no answer yet) first, in selection order, then the answer's ids, busiest first.
 */
export function choicesOf(seen: readonly SegmentCount[] | undefined, selected: readonly string[]): Choice[] {
  const chosen = new Set(selected);
  const listed = new Set((seen ?? []).map((s) => s.id));
  const missing = selected.filter((id) => !listed.has(id)).map((id) => ({ id, events: undefined, selected: true }));
  return [...missing, ...(seen ?? []).map((s) => ({ id: s.id, events: s.events, selected: chosen.has(s.id) }))];
}

/** Valid ids of one repeated parameter, without duplicates, at most MAX_FILTER_IDS. */
function idsOf(q: URLSearchParams, name: string): string[] {
  return [...new Set(q.getAll(name).filter(validId))].slice(0, MAX_FILTER_IDS);
}

/** The filter of an address bar query (`?app=a&app=b&campaign=c`); invalid ids and duplicates are left out. */
export function filterFromSearch(search: string): SegmentFilter {
  const q = new URLSearchParams(search);
  const apps = idsOf(q, FILTER_PARAM.apps);
  const campaigns = idsOf(q, FILTER_PARAM.campaigns);
  return apps.length === 0 && campaigns.length === 0 ? NO_FILTER : { apps, campaigns };
}

/** `search` with its app and campaign parameters replaced by the filter's, the others kept: '' or '?…'. */
export function searchWithFilter(search: string, f: SegmentFilter): string {
  const q = new URLSearchParams(search);
  for (const dim of DIMENSIONS) {
    q.delete(FILTER_PARAM[dim]);
    for (const id of f[dim]) q.append(FILTER_PARAM[dim], id);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The query parameters of the filter for api.ts `queryString` (which repeats `app` and `campaign`). */
export function filterParams(f: SegmentFilter): { app?: readonly string[]; campaign?: readonly string[] } {
  return { ...(f.apps.length > 0 ? { app: f.apps } : {}), ...(f.campaigns.length > 0 ? { campaign: f.campaigns } : {}) };
}

/** The filter fields of a stream `subscribe` (left out when empty: any). */
export function subscribeFields(f: SegmentFilter): { apps?: readonly string[]; campaigns?: readonly string[] } {
  return { ...(f.apps.length > 0 ? { apps: f.apps } : {}), ...(f.campaigns.length > 0 ? { campaigns: f.campaigns } : {}) };
}

export class FilterNotAppliedError extends Error {}

/**
 * Throws unless the answer echoes the filter it was asked with (an unfiltered answer echoes nothing):
 * a server that ignores `app=`/`campaign=` must not pass whole numbers off as filtered ones.
 */
export function checkEcho(asked: SegmentFilter, answer: FilterEcho): void {
  const echoed = { apps: answer.apps ?? [], campaigns: answer.campaigns ?? [] };
  if (filterKey(echoed) === filterKey(asked)) return;
  const said = isFiltered(echoed) ? `filtered by ${filterLabel(echoed)}` : 'not filtered';
  throw new FilterNotAppliedError(`the server did not apply the filter ${filterLabel(asked) || '(none)'}: its answer is ${said}`);
}

/** One list in a few words: 'all', the id, or 'n selected'. */
export function listSummary(ids: readonly string[]): string {
  if (ids.length === 0) return 'all';
  if (ids.length === 1) return ids[0]!;
  return `${ids.length} selected`;
}

/** "app a, b · campaigns c, d, e +2", '' when unfiltered: at most `show` ids per list. */
export function filterLabel(f: SegmentFilter, show = 3): string {
  const part = (one: string, many: string, ids: readonly string[]) => {
    if (ids.length === 0) return undefined;
    const head = ids.slice(0, show).join(', ');
    return `${ids.length === 1 ? one : many} ${head}${ids.length > show ? ` +${ids.length - show}` : ''}`;
  };
  return [part('app', 'apps', f.apps), part('campaign', 'campaigns', f.campaigns)].filter((p) => p !== undefined).join(' · ');
}
