/**
 * `GET /v1/events`: the raw events of one cell, newest first, paged, from the archive the shards write
 * to Cassandra (docs/api.md, "Raw events"; docs/runtime.md, "The raw-event archive").
 *
 * A cell of precision ≥ 4 lies in one archive area. Per hour bucket (newest first), the listing names the
 * partitions holding blocks of the area; their block heads (time span, count, no data) are read, and the
 * blocks are fetched newest span first until the page is full and no unread block can hold a newer event
 * than the page's oldest. An event met twice (rounds cut at other offsets after a crash) is kept once.
 */
import {
  ARCHIVE_AREA_PRECISION, ARCHIVE_BUCKET_MS, ARCHIVE_MAX_CELL_PRECISION, ARCHIVE_DUPLICATE, ARCHIVE_LATE, EVENT_TYPES, afterCursor, archiveBucket, archiveKey, decode, decodeArchiveBody, encode,
  geohashEncode, newestFirst, type ArchiveCursor, type ArchivedEvent, type ArchivedEventJson, type EventType, type SegmentFilter,
} from '../../actors/model/index.js';
import type { ArchiveBlockHead, ArchiveStore } from '../../runtime/index.js';
import { int, QueryParamError, segmentFilter, time, type Query } from './params.js';

const GEOHASH = /^[0-9b-hjkmnp-z]+$/;
/** Blocks fetched per read while filling a page. */
const FETCH_BLOCKS = 8;

export interface EventsRequest {
  readonly cell: string;
  readonly from: number;
  readonly to: number;
  readonly types: ReadonlySet<EventType> | null;
  readonly filter: SegmentFilter;
  readonly limit: number;
  readonly cursor: ArchiveCursor | null;
}

export interface EventsPage {
  readonly events: ArchivedEvent[];
  /** Cursor of the next page, null when this one is the last. */
  readonly next: ArchiveCursor | null;
  /** Blocks read (data fetched), for the benchmark and the logs. */
  readonly blocksRead: number;
}

const DEFAULT_SPAN_MS = 3_600_000;
const MAX_SPAN_MS = 31 * 86_400_000;

/** Parses `/v1/events` parameters; every bad one is a QueryParamError naming it. */
export function eventsRequest(q: Query, qs: string, now: number): EventsRequest {
  const cell = q.cell ?? '';
  if (cell === '') throw new QueryParamError('cell', `required: a geohash of precision ${ARCHIVE_AREA_PRECISION} to ${ARCHIVE_MAX_CELL_PRECISION}`);
  if (!GEOHASH.test(cell)) throw new QueryParamError('cell', `"${cell}" is not a geohash (characters 0-9 and b-z without a, i, l, o)`);
  if (cell.length < ARCHIVE_AREA_PRECISION || cell.length > ARCHIVE_MAX_CELL_PRECISION) throw new QueryParamError('cell', `precision must be ${ARCHIVE_AREA_PRECISION} to ${ARCHIVE_MAX_CELL_PRECISION}, got ${cell.length} ("${cell}")`);
  const to = time(q, 'to', now);
  const from = time(q, 'from', to - DEFAULT_SPAN_MS);
  if (from >= to) throw new QueryParamError('from', `must be before to (from=${from}, to=${to})`);
  if (to - from > MAX_SPAN_MS) throw new QueryParamError('from', `the range is ${Math.round((to - from) / 86_400_000)} days; at most 31 days per request`);
  let types: Set<EventType> | null = null;
  const rawTypes = q.types ?? q.type;
  if (rawTypes !== undefined && rawTypes !== '') {
    const name = q.types !== undefined ? 'types' : 'type';
    types = new Set();
    for (const t of rawTypes.split(',').map((x) => x.trim())) {
      if (!(EVENT_TYPES as readonly string[]).includes(t)) throw new QueryParamError(name, `unknown event type "${t}" (known: ${EVENT_TYPES.join(', ')})`);
      types.add(t as EventType);
    }
  }
  const limit = int(q, 'limit', 100, 1, 1000);
  const cursor = q.cursor ? parseCursor(q.cursor) : null;
  return { cell, from, to, types, filter: segmentFilter(qs), limit, cursor };
}

export function formatCursor(c: ArchiveCursor): string {
  return Buffer.from(encode([c.ts, c.partition, c.offset, c.index])).toString('base64url');
}

export function parseCursor(raw: string): ArchiveCursor {
  let v: unknown;
  try {
    v = decode(Buffer.from(raw, 'base64url'));
  } catch {
    v = null;
  }
  if (!Array.isArray(v) || v.length !== 4 || !v.every((x) => Number.isSafeInteger(x))) throw new QueryParamError('cursor', 'not a cursor this API gave (pass the `next` of the previous page as it is)');
  const [ts, partition, offset, index] = v as number[];
  return { ts: ts!, partition: partition!, offset: offset!, index: index! };
}

/** Whether an archived event answers the request (cursor aside). */
function matches(e: ArchivedEvent, r: EventsRequest): boolean {
  const ev = e.event;
  if (ev.ts < r.from || ev.ts >= r.to) return false;
  if (r.types && !r.types.has(ev.type)) return false;
  if (r.filter.apps.length > 0 && !r.filter.apps.includes(ev.appId ?? '')) return false;
  if (r.filter.campaigns.length > 0 && !r.filter.campaigns.includes(ev.campaignId ?? '')) return false;
  return geohashEncode(ev.lat, ev.lon, r.cell.length) === r.cell;
}

export function blockEvents(data: Uint8Array, partition: number): ArchivedEvent[] {
  return decodeArchiveBody(data, partition);
}

/** What a page is read from: the archive's listing and block heads, and a block's events. */
export interface BlockSource {
  partitions(area: string, bucket: number): Promise<number[]>;
  heads(area: string, bucket: number, partition: number): Promise<ArchiveBlockHead[]>;
  events(head: ArchiveBlockHead): Promise<ArchivedEvent[]>;
}

export interface ArchiveCacheOptions {
  /** How long a bucket's listing and block heads are reused: new blocks show up at most this late. */
  readonly headsMs: number;
  /** Events of decoded blocks kept (least recently used go first). */
  readonly maxEvents: number;
}

/**
 * The archive as a {@link BlockSource}, with a short-lived cache of listings and heads (a page and the
 * next one read the same), and an LRU of decoded blocks. A cached block is keyed by its head, end offset
 * and count included: a block written again (a retried round, a successor's overwrite) is a new entry.
 */
export class CachedArchive implements BlockSource {
  private readonly lists = new Map<string, { at: number; value: Promise<number[]> }>();
  private readonly headsCache = new Map<string, { at: number; value: Promise<ArchiveBlockHead[]> }>();
  private readonly blocks = new Map<string, Promise<ArchivedEvent[]>>();
  private cachedEvents = 0;

  constructor(private readonly store: ArchiveStore, private readonly o: ArchiveCacheOptions, private readonly now: () => number = Date.now) {}

  partitions(area: string, bucket: number): Promise<number[]> {
    return this.fresh(this.lists, `${area}/${bucket}`, async () => (await this.store.list(bucket, area)).map((x) => x.partition));
  }

  heads(area: string, bucket: number, partition: number): Promise<ArchiveBlockHead[]> {
    return this.fresh(this.headsCache, `${area}/${bucket}/${partition}`, () => this.store.heads(area, bucket, partition));
  }

  events(h: ArchiveBlockHead): Promise<ArchivedEvent[]> {
    const key = `${h.area}/${h.bucket}/${h.partition}/${h.firstOffset}/${h.endOffset}/${h.count}`;
    const hit = this.blocks.get(key);
    if (hit) {
      // Most recently used last.
      this.blocks.delete(key);
      this.blocks.set(key, hit);
      return hit;
    }
    const p = this.store.read(h.area, h.bucket, h.partition, [h.firstOffset]).then((bs) => bs.flatMap((b) => blockEvents(b.data, b.partition)));
    this.blocks.set(key, p);
    this.cachedEvents += h.count;
    p.catch(() => this.blocks.delete(key));
    while (this.cachedEvents > this.o.maxEvents && this.blocks.size > 1) {
      const [oldest] = this.blocks.keys();
      this.blocks.delete(oldest!);
      this.cachedEvents -= Number(oldest!.split('/')[5]);
    }
    return p;
  }

  private fresh<T>(cache: Map<string, { at: number; value: Promise<T> }>, key: string, load: () => Promise<T>): Promise<T> {
    const now = this.now();
    const hit = cache.get(key);
    if (hit && now - hit.at < this.o.headsMs) return hit.value;
    const value = load();
    cache.set(key, { at: now, value });
    value.catch(() => cache.delete(key));
    if (cache.size > 10_000) for (const [k, v] of cache) if (now - v.at >= this.o.headsMs) cache.delete(k);
    return value;
  }
}

/** One page of the events of `r`. */
export async function readEventsPage(source: BlockSource, r: EventsRequest): Promise<EventsPage> {
  const area = r.cell.slice(0, ARCHIVE_AREA_PRECISION);
  // Nothing at or after the cursor's time can be on this page but events of the cursor's own millisecond.
  const upTo = r.cursor ? Math.min(r.to, r.cursor.ts + 1) : r.to;
  const found = new Map<string, ArchivedEvent>();
  // One event more than the page: whether it exists says if there is a next page.
  const want = r.limit + 1;
  let blocksRead = 0;
  for (let bucket = archiveBucket(upTo - 1); bucket >= archiveBucket(r.from); bucket -= ARCHIVE_BUCKET_MS) {
    const partitions = await source.partitions(area, bucket);
    const heads: ArchiveBlockHead[] = (await Promise.all(partitions.map((p) => source.heads(area, bucket, p)))).flat()
      .filter((h) => h.maxTs >= r.from && h.minTs < upTo)
      .sort((a, b) => b.maxTs - a.maxTs);
    let i = 0;
    while (i < heads.length) {
      const page = pageOf(found, want);
      // Full, and every unread block's events are older than the page's oldest: done with this bucket.
      if (page.length >= want && heads[i]!.maxTs < page[want - 1]!.event.ts) break;
      const batch = heads.slice(i, i + FETCH_BLOCKS);
      i += batch.length;
      for (const events of await Promise.all(batch.map((h) => source.events(h)))) {
        blocksRead++;
        for (const e of events) {
          if (!matches(e, r) || (r.cursor && !afterCursor(e, r.cursor))) continue;
          found.set(archiveKey(e), e);
        }
      }
    }
    if (found.size >= want) break; // older buckets hold older events only
  }
  const all = pageOf(found, want);
  const events = all.slice(0, r.limit);
  const last = events[events.length - 1];
  const next = all.length > r.limit && last ? { ts: last.event.ts, partition: last.partition, offset: last.offset, index: last.index } : null;
  return { events, next, blocksRead };
}

/** The `size` newest events found, newest first; the map is cut to them (what falls off never comes back). */
function pageOf(found: Map<string, ArchivedEvent>, size: number): ArchivedEvent[] {
  const all = [...found.values()].sort(newestFirst);
  if (all.length <= size) return all;
  found.clear();
  for (const e of all.slice(0, size)) found.set(archiveKey(e), e);
  return all.slice(0, size);
}

export function eventJson(e: ArchivedEvent): ArchivedEventJson {
  const ev = e.event;
  return {
    ts: ev.ts, type: ev.type, ...(ev.name !== undefined ? { name: ev.name } : {}), userId: ev.userId, lat: ev.lat, lon: ev.lon,
    ...(ev.appId !== undefined ? { appId: ev.appId } : {}), ...(ev.campaignId !== undefined ? { campaignId: ev.campaignId } : {}),
    ...(ev.value !== undefined ? { value: ev.value } : {}), ...(ev.id !== undefined ? { id: ev.id } : {}), ...(ev.props !== undefined ? { props: ev.props } : {}),
    receivedAt: e.at, partition: e.partition, offset: e.offset, index: e.index, late: (e.flags & ARCHIVE_LATE) !== 0, duplicate: (e.flags & ARCHIVE_DUPLICATE) !== 0,
  };
}
