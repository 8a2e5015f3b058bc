/**
 * The HTTP query API over the MongoDB rollups: `/v1/rollups`, `/v1/top`, `/v1/summary`,
 * `/v1/hotspots` (docs/api.md). Transport-free: `answer(path, query)` gives a status and a JSON body.
 * Identical requests within `cacheMs` share one read (a dashboard polling from many tabs costs one).
 */
import { MongoClient, type Db } from 'mongodb';
import { isFiltered, TOP_ORDERS, type Bbox, type QueryError, type TopOrder } from '../../actors/model/index.js';
import { filterRows, hotspotsAnswer, rollupsAnswer, segmentsAnswer, summaryAnswer, topAnswer } from './answers.js';
import { bbox, int, num, parseQuery, QueryParamError, range, segmentFilter, types } from './params.js';
import { readRollups, TooManyRowsError, type StoredRow } from './rollups.js';
import { CachedArchive, eventJson, eventsRequest, formatCursor, readEventsPage, type ArchiveCacheOptions } from './events.js';
import type { ArchiveStore } from '../../runtime/index.js';

/** The gateway's live store as a row source: exact for windows from `completeFrom()` on. */
export interface LiveRows {
  completeFrom(): number;
  rows(from: number, to: number, bbox: Bbox | undefined): StoredRow[];
}

export interface QueryApiOptions {
  readonly mongoUrl: string | undefined;
  readonly database: string;
  readonly windowMs: number;
  /** Stored rows one request may read. */
  readonly maxRows: number;
  readonly cacheMs: number;
  /** The privacy floor (ADME_PRIVACY_K): rows with fewer unique users are not answered; 0: none. */
  readonly privacyK: number;
  /** Answers ranges the live store holds completely from memory (fresher, and no MongoDB read). */
  readonly live?: LiveRows;
  /** Opens the raw-event archive for `/v1/events` (undefined: it answers 503). Called again after a failure. */
  readonly archive?: () => Promise<ArchiveStore>;
  /** Reuse of the archive's listings and block heads, and decoded blocks kept (defaults: 2 s, 500 000 events). */
  readonly archiveCache?: ArchiveCacheOptions;
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

const HOUR = 3_600_000;
export const QUERY_PATHS = ['/v1/rollups', '/v1/top', '/v1/summary', '/v1/hotspots', '/v1/segments', '/v1/events'] as const;

const fail = (status: number, code: QueryError['code'], message: string, retriable = false): Answer => ({ status, body: { code, message, retriable } satisfies QueryError });

export class QueryApi {
  private client: MongoClient | undefined;
  private db: Db | undefined;
  private readonly cache = new Map<string, { at: number; answer: Promise<Answer> }>();
  private archive: Promise<{ store: ArchiveStore; source: CachedArchive }> | undefined;
  /** Rows, cells, segments and areas the privacy floor held back, over every answer computed. */
  readonly stats = { withheld: 0 };

  constructor(private readonly o: QueryApiOptions) {
    if (o.mongoUrl) {
      // The driver connects on first use and reconnects by itself; a request while MongoDB is down gets 503.
      this.client = new MongoClient(o.mongoUrl, { serverSelectionTimeoutMS: 3000, maxPoolSize: 4 });
      this.db = this.client.db(o.database);
    }
  }

  answer(path: string, qs: string, now = Date.now()): Promise<Answer> {
    const key = `${path}?${qs}`;
    const hit = this.cache.get(key);
    if (hit && now - hit.at < this.o.cacheMs) return hit.answer;
    const answer = this.compute(path, qs, now);
    this.cache.set(key, { at: now, answer });
    if (this.cache.size > 256) for (const [k, v] of this.cache) if (now - v.at >= this.o.cacheMs) this.cache.delete(k);
    return answer;
  }

  private async compute(path: string, qs: string, now: number): Promise<Answer> {
    if (path === '/v1/events') return this.events(qs, now);
    const db = this.db;
    if (!db) return fail(503, 'QUERY_UNAVAILABLE', 'this gateway has no MongoDB configured (ADME_MONGO_URL)', false);
    const q = parseQuery(qs);
    const w = this.o.windowMs;
    const privacyK = this.o.privacyK;
    try {
      let source: 'live' | 'rollups' = 'rollups';
      const want = q.source ?? 'auto';
      if (want !== 'auto' && want !== 'rollups') throw new QueryParamError('source', `expected auto or rollups, got "${want}"`);
      const filter = segmentFilter(qs);
      /** Every row of [from, to) in the bbox, unfiltered (the segments answer wants them all). */
      const readAll = async (from: number, to: number, box = bbox(q)): Promise<Iterable<StoredRow>> => {
        const live = this.o.live;
        if (live && want === 'auto' && from - (from % w) >= live.completeFrom()) {
          source = 'live';
          return live.rows(from - (from % w), to, box);
        }
        return readRollups(db, { from, to, windowMs: w, bbox: box, maxRows: this.o.maxRows });
      };
      const read = async (from: number, to: number): Promise<Iterable<StoredRow>> => filterRows(await readAll(from, to), filter);
      const echo = isFiltered(filter) ? { ...(filter.apps.length > 0 ? { apps: filter.apps } : {}), ...(filter.campaigns.length > 0 ? { campaigns: filter.campaigns } : {}) } : {};
      const ok = (body: { withheld?: number }): Answer => {
        this.stats.withheld += body.withheld ?? 0;
        return { status: 200, body: { ...body, ...echo, source } };
      };
      switch (path) {
        case '/v1/rollups': {
          const { from, to } = range(q, now, 10 * 60_000, 24 * HOUR);
          const stepS = int(q, 'step', 60, w / 1000, 86_400);
          if ((stepS * 1000) % w !== 0) throw new QueryParamError('step', `must be a multiple of ${w / 1000} s, got ${stepS}`);
          const precision = int(q, 'precision', 5, 1, 6);
          const t = types(q);
          return ok(rollupsAnswer(await read(from, to), { from, to, precision, stepMs: stepS * 1000, types: t, privacyK }));
        }
        case '/v1/top': {
          const { from, to } = range(q, now, 5 * 60_000, 24 * HOUR);
          const precision = int(q, 'precision', 5, 1, 6);
          const limit = int(q, 'limit', 10, 1, 1000);
          const t = types(q);
          const by = (q.by ?? 'events') as TopOrder;
          if (!TOP_ORDERS.includes(by)) throw new QueryParamError('by', `expected ${TOP_ORDERS.join(' or ')}, got "${q.by}"`);
          return ok(topAnswer(await read(from, to), { from, to, precision, types: t, limit, by, privacyK }));
        }
        case '/v1/summary': {
          const { from, to } = range(q, now, 5 * 60_000, 24 * HOUR);
          return ok(summaryAnswer(await read(from, to), { from, to, windowMs: w, privacyK }));
        }
        case '/v1/hotspots': {
          // Windows still open are partial: the current period ends at the last closed window.
          const at = int(q, 'at', now - (now % w), 0, Number.MAX_SAFE_INTEGER);
          const windowS = int(q, 'windowS', 60, w / 1000, 3600);
          const baselineS = int(q, 'baselineS', 600, w / 1000, 86_400);
          const precision = int(q, 'precision', 5, 1, 6);
          const minEvents = int(q, 'minEvents', 20, 1, 1_000_000_000);
          const factor = num(q, 'factor', 3, 1);
          const limit = int(q, 'limit', 10, 1, 1000);
          const rows = await read(at - (windowS + baselineS) * 1000, at);
          return ok(hotspotsAnswer(rows, { at, windowS, baselineS, precision, minEvents, factor, limit, privacyK }));
        }
        case '/v1/segments': {
          if (isFiltered(filter)) throw new QueryParamError('app', 'the segments endpoint lists every app and campaign: it takes no app= or campaign= filter');
          const { from, to } = range(q, now, 15 * 60_000, 24 * HOUR);
          const limit = int(q, 'limit', 100, 1, 1000);
          return ok(segmentsAnswer(await readAll(from, to), { from, to, limit, privacyK }));
        }
        default:
          return fail(404, 'QUERY_BAD_PARAM', `no such query endpoint ${path}`);
      }
    } catch (err) {
      if (err instanceof QueryParamError) return fail(400, 'QUERY_BAD_PARAM', err.message);
      if (err instanceof TooManyRowsError) return fail(413, 'QUERY_TOO_LARGE', err.message);
      return fail(503, 'QUERY_UNAVAILABLE', `MongoDB: ${(err as Error).message}`, true);
    }
  }

  /** `/v1/events`: a page of a cell's raw events from the archive, newest first. */
  private async events(qs: string, now: number): Promise<Answer> {
    const open = this.o.archive;
    if (!open) return fail(503, 'QUERY_UNAVAILABLE', 'this gateway has no archive configured (ADME_ARCHIVE=off or no Cassandra)', false);
    try {
      const r = eventsRequest(parseQuery(qs), qs, now);
      // The driver reconnects by itself once connected; only a failed first connection is tried again.
      this.archive ??= open().then((store) => ({ store, source: new CachedArchive(store, this.o.archiveCache ?? { headsMs: 2000, maxEvents: 500_000 }) }), (err: unknown) => {
        this.archive = undefined;
        throw err;
      });
      const page = await readEventsPage((await this.archive).source, r);
      return { status: 200, body: { cell: r.cell, from: r.from, to: r.to, events: page.events.map(eventJson), next: page.next && formatCursor(page.next), source: 'archive' } };
    } catch (err) {
      if (err instanceof QueryParamError) return fail(400, 'QUERY_BAD_PARAM', err.message);
      return fail(503, 'QUERY_UNAVAILABLE', `Cassandra: ${(err as Error).message}`, true);
    }
  }

  /** Every stored row of one partition in [from, to): the live view's repair after a lost delta. */
  async partitionRows(partition: number, from: number, to: number): Promise<StoredRow[]> {
    if (!this.db) return [];
    return [...await readRollups(this.db, { from, to, windowMs: this.o.windowMs, partition })];
  }

  async close(): Promise<void> {
    const archive = this.archive;
    this.archive = undefined;
    await Promise.allSettled([this.client?.close(), archive?.then((a) => a.store.close())]);
  }
}
