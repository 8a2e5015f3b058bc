/**
 * Segments: the (app, campaign) an event belongs to, the dimension the app and campaign filters select.
 * Shared by the actors, the gateway and the browser: no Node imports here.
 *
 * The aggregation keeps, per (window, cell), the totals of all its events (with unique users) and, for
 * events that name an app or a campaign, counts and value per segment. A filtered view of a cell is the
 * sum of its segments that pass the filter; an unfiltered view uses the totals, so events without app or
 * campaign still count there. Unique users are not kept per segment (docs/api.md, "Filters").
 */

import { NTYPES } from './event.js';

/** Max app ids and campaign ids in one filter. */
export const MAX_FILTER_IDS = 32;
/** Max characters of an app or campaign id (as events allow, actors/model/validate.ts). */
export const MAX_SEGMENT_ID = 64;

/**
 * Bounded segments. At most `ADME_MAX_SEGMENTS_PER_CELL` ({@link DEFAULT_MAX_SEGMENTS_PER_CELL}) distinct
 * (app, campaign) pairs are kept per (window, cell); the values of every further pair are counted in one
 * "other" segment, whose key is {@link OTHER_SEGMENT_KEY} and which shows as app {@link OTHER_SEGMENT}
 * and campaign {@link OTHER_SEGMENT} in filters and answers. {@link foldSegment} is the rule, the same
 * wherever it is applied (the gateway's live store; the actors' state).
 */
export const DEFAULT_MAX_SEGMENTS_PER_CELL = 64;
/**
 * The cap bounds a cell's pairs, not the pairs seen over time. A segment dictionary (pair ↔ the small
 * numbers cells hold: the shard's, the live store's) is compacted, the pairs no held cell names dropped,
 * once it holds this many and then whenever it doubles what the last compaction kept.
 */
export const SEGMENT_COMPACT_MIN = 65_536;
/** The dictionary size at which the next compaction runs, after one that kept `kept` pairs. */
export const nextSegmentCompaction = (kept: number, min = SEGMENT_COMPACT_MIN): number => Math.max(min, 2 * kept);
/** The app and campaign id of the "other" segment (reserved: a real pair of these ids is counted with it). */
export const OTHER_SEGMENT = '*other*';
/** The key of the "other" segment: no real pair has it (their keys start with the app's length and a colon). */
export const OTHER_SEGMENT_KEY = '*';

/**
 * The key a segment of one (window, cell) is counted under: its own while the cell holds it or holds
 * fewer than `max` segments (then it is added to `held`), else `other`. First come, first kept: a pair
 * admitted stays for the life of the window and cell. Generic over the key's form (strings in the
 * actors, the store's small integers in the gateway).
 */
export function foldSegment<K>(held: Set<K>, key: K, max: number, other: K): K {
  if (key === other || held.has(key)) return key;
  if (held.size < max) {
    held.add(key);
    return key;
  }
  return other;
}

/**
 * The key of a segment in maps: the app's length, a colon, the app, then the campaign. Unambiguous
 * whatever characters the ids hold, and cheap to build per event. '' stands for "none". The pair
 * ({@link OTHER_SEGMENT}, {@link OTHER_SEGMENT}) is the "other" segment's dictionary entry in records.
 */
export function segmentKey(app: string | undefined, campaign: string | undefined): string {
  if (app === OTHER_SEGMENT && campaign === OTHER_SEGMENT) return OTHER_SEGMENT_KEY;
  const a = app ?? '';
  return `${a.length}:${a}${campaign ?? ''}`;
}

export function segmentOf(key: string): { app: string; campaign: string } {
  if (key === OTHER_SEGMENT_KEY) return { app: OTHER_SEGMENT, campaign: OTHER_SEGMENT };
  const colon = key.indexOf(':');
  const n = Number(key.slice(0, colon));
  return { app: key.slice(colon + 1, colon + 1 + n), campaign: key.slice(colon + 1 + n) };
}

/**
 * Segment values as columns, in delta records, rollup blocks and checkpoints: entry k belongs to row
 * `segRows[k]` of the record's cell rows and to segment `segApps[segIds[k]]`, `segCampaigns[segIds[k]]`
 * ('' = none). Its counts are `segCounts[k * NTYPES ...]`, its value sum `segValues[k]`.
 * Entries of one row are contiguous. Absent in records written before segments existed.
 */
export interface SegmentColumns {
  readonly segApps: readonly string[];
  readonly segCampaigns: readonly string[];
  readonly segRows: Uint32Array;
  readonly segIds: Uint32Array;
  readonly segCounts: Uint32Array;
  readonly segValues: Float64Array;
}

/** The segment keys of a record's dictionary, entry j = segment j (computed once per record, not per entry). */
export function segmentKeys(sc: Pick<SegmentColumns, 'segApps' | 'segCampaigns'>): string[] {
  return sc.segApps.map((app, j) => segmentKey(app || undefined, sc.segCampaigns[j] || undefined));
}

/** Values per segment (and per cell): NTYPES counts, then the value sum. */
export const SEGMENT_SLOTS = NTYPES + 1;

/**
 * The packed form of segments in checkpoints and rollup blocks, a flat list of plain numbers: per segment
 * its number, a bit mask of its non-zero slots, then those slots' values. A segment of one click is
 * `[id, 2, 1]`: three bytes of msgpack, where seven values would take eight.
 */
export function packSegment(out: number[], id: number, vals: ArrayLike<number>, at: number): void {
  let mask = 0;
  for (let s = 0; s < SEGMENT_SLOTS; s++) if (vals[at + s] !== 0) mask |= 1 << s;
  out.push(id, mask);
  for (let s = 0; s < SEGMENT_SLOTS; s++) if (mask & (1 << s)) out.push(vals[at + s]!);
}

/** Where the packed segment at `packed[at]` ends (the next one starts), without reading its values. */
export function skipSegment(packed: ArrayLike<number>, at: number): number {
  let n = 0;
  for (let m = packed[at + 1]!; m; m &= m - 1) n++;
  return at + 2 + n;
}

/** Reads the packed segment at `packed[at]` into `out[outAt ...]` (zeros where the mask has none). */
export function unpackSegment(packed: ArrayLike<number>, at: number, out: { [i: number]: number }, outAt: number): { id: number; next: number } {
  const id = packed[at]!;
  const mask = packed[at + 1]!;
  let k = at + 2;
  for (let s = 0; s < SEGMENT_SLOTS; s++) out[outAt + s] = mask & (1 << s) ? packed[k++]! : 0;
  return { id, next: k };
}

/** Which segments a view or query counts: an empty list means any. */
export interface SegmentFilter {
  readonly apps: readonly string[];
  readonly campaigns: readonly string[];
}

export const NO_FILTER: SegmentFilter = { apps: [], campaigns: [] };

export function isFiltered(f: SegmentFilter | undefined): f is SegmentFilter {
  return f !== undefined && (f.apps.length > 0 || f.campaigns.length > 0);
}

/** A stable text for caches and view keys ('' when unfiltered). */
export function filterKey(f: SegmentFilter | undefined): string {
  if (!isFiltered(f)) return '';
  return JSON.stringify([[...f.apps].sort(), [...f.campaigns].sort()]);
}

/** Whether a segment key passes the filter (memoised: a view asks once per segment it meets). */
export function segmentMatcher(f: SegmentFilter): (key: string) => boolean {
  const apps = new Set(f.apps);
  const campaigns = new Set(f.campaigns);
  const memo = new Map<string, boolean>();
  return (key) => {
    let m = memo.get(key);
    if (m === undefined) {
      const s = segmentOf(key);
      m = (apps.size === 0 || apps.has(s.app)) && (campaigns.size === 0 || campaigns.has(s.campaign));
      if (memo.size < 65_536) memo.set(key, m);
    }
    return m;
  };
}

/** Checks a list of ids from a viewer or a query string; `what` names the field in the error. */
export function checkIds(raw: unknown, what: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new SegmentFilterError(what, 'must be an array of strings');
  if (raw.length > MAX_FILTER_IDS) throw new SegmentFilterError(what, `may list at most ${MAX_FILTER_IDS} ids, got ${raw.length}`);
  for (const id of raw) {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_SEGMENT_ID) throw new SegmentFilterError(what, `every id must be a string of 1-${MAX_SEGMENT_ID} characters, got ${JSON.stringify(id)}`);
  }
  return [...new Set(raw as string[])];
}

/** A bad filter list: `field` is what the caller called it, `reason` what is wrong with it. */
export class SegmentFilterError extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`${field} ${reason}`);
  }
}
