import { describe, expect, it } from 'vitest';
import { ManualClock, stepThrough, MemoryArchiveStore, packRecords, type ArchiveBlock, type ShardHostMsg, type ShardStart } from '../../../runtime/index.js';
import {
  ARCHIVE_DUPLICATE, ARCHIVE_LATE, ARCHIVE_OTHER_SEGMENT, ArchiveBodyBuilder, archiveKey, decodeArchiveBody, encode, geohashEncode, intColumn, intColumnValues, newestFirst,
  type AdEvent, type ArchivedEvent,
} from '../../../actors/model/index.js';
import { ArchiveCollector } from '../../../actors/archive.js';
import { emptyState } from '../../../actors/logic.js';
import { foldRecords } from '../../../actors/fold.js';
import { initShard, logic, stepShard, type ShardConfig, type ShardEffect } from '../../../actors/shard-logic.js';
import { CachedArchive, blockEvents, eventsRequest, formatCursor, parseCursor, readEventsPage } from '../../../gateway/query/events.js';
import { parseQuery, QueryParamError } from '../../../gateway/query/params.js';

const PARIS = { lat: 48.8566, lon: 2.3522 };
const TOKYO = { lat: 35.6762, lon: 139.6503 };
const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 1, 10);
const ev = (i: number, extra: Partial<AdEvent> = {}): AdEvent => ({ userId: `u${i}`, type: 'impression', ts: T0 + i * 1000, ...PARIS, ...extra });

/** Records (one per list of events) at consecutive offsets from `offset`, received at `at`. */
const recordsMsg = (offset: number, at: number, ...records: unknown[][]): Extract<ShardHostMsg, { type: 'records' }> =>
  packRecords(records.map((events, i) => ({ offset: offset + i, value: Buffer.from(encode({ v: 1, at, events })) })));

const eventsOf = (blocks: readonly ArchiveBlock[]) => blocks.flatMap((b) => blockEvents(b.data, b.partition));
const summary = (es: readonly ArchivedEvent[]) => es.map((e) => [archiveKey(e), e.flags, e.event.userId]);

describe('archive: the fold keeps every valid event with what it decided', () => {
  it('late, duplicate and *other* events are kept with their flag; invalid ones are not kept; blocks are per area and hour', () => {
    const s = emptyState();
    const archive = new ArchiveCollector(0);
    const cfg = { precision: 6, windowMs: 10_000, allowedLatenessMs: 0, maxSegmentsPerCell: 1 };
    foldRecords(s, recordsMsg(0, 777,
      [ev(100), ev(1), { ...ev(2), type: 'toString' }], // ev(1): 99 s behind the watermark, late
      [ev(101, { id: 'x' }), ev(102, { id: 'x' })], // same id, same cell-window: the second is a duplicate
      [ev(103, { appId: 'a' }), ev(104, { appId: 'b' })], // a cap of one segment: b counts in *other*
      [ev(105, TOKYO), ev(3700)], // another area; another hour
    ), cfg, archive);
    const blocks = archive.seal(4, 4);
    expect(blocks.map((b) => [b.area, b.bucket, b.partition, b.firstOffset, b.endOffset, b.count])).toEqual([
      [geohashEncode(PARIS.lat, PARIS.lon, 4), T0, 4, 0, 4, 6],
      [geohashEncode(TOKYO.lat, TOKYO.lon, 4), T0, 4, 0, 4, 1],
      [geohashEncode(PARIS.lat, PARIS.lon, 4), T0 + H, 4, 0, 4, 1],
    ]);
    expect(blocks[0]!.minTs).toBe(T0 + 1000);
    expect(blocks[0]!.maxTs).toBe(T0 + 104_000);
    expect(summary(eventsOf(blocks))).toEqual([
      ['4:0:0', 0, 'u100'], ['4:0:1', ARCHIVE_LATE, 'u1'], ['4:1:0', 0, 'u101'], ['4:1:1', ARCHIVE_DUPLICATE, 'u102'],
      ['4:2:0', 0, 'u103'], ['4:2:1', ARCHIVE_OTHER_SEGMENT, 'u104'], ['4:3:0', 0, 'u105'], ['4:3:1', 0, 'u3700'],
    ]);
    expect(eventsOf(blocks).every((e) => e.at === 777)).toBe(true);
    expect(eventsOf(blocks)[0]!.event).toEqual(ev(100));
    // The next round starts where this one ended, empty.
    expect(archive.firstOffset).toBe(4);
    expect(archive.seal(4, 4)).toEqual([]);
  });
});

describe('archive: a block body holds each event field for field', () => {
  it('every field of the model survives the columns: name, id, app, campaign, value, props; absent ones stay absent', () => {
    const evs: AdEvent[] = [
      { userId: 'ü-1', type: 'custom', name: 'level_up', ts: T0, ...PARIS, id: 'c-1', appId: 'app,1', campaignId: 'cmp', value: -0.5, props: { tier: 'gold', n: 3, ok: true } },
      { userId: 'u2', type: 'purchase', ts: T0 + 1, ...PARIS, value: 0, appId: 'cmp' },
      { userId: 'u3', type: 'session_start', ts: T0 + 2, ...PARIS, campaignId: 'app,1' },
      ev(3),
    ];
    const b = new ArchiveBodyBuilder();
    evs.forEach((e, i) => b.add(7, i, 99, i, e));
    const back = decodeArchiveBody(encode(b.body()), 5);
    expect(back.map((e) => e.event)).toEqual(evs);
    expect(back.map((e) => [e.partition, e.offset, e.index, e.at, e.flags])).toEqual(evs.map((_, i) => [5, 7, i, 99, i]));
    expect(Object.keys(back[3]!.event)).toEqual(['userId', 'type', 'ts', 'lat', 'lon']);
    expect([b.minTs, b.maxTs]).toEqual([T0, T0 + 3000]);
  });
});

describe('archive: whole-number columns are stored narrow', () => {
  const col = (xs: number[]) => intColumn(Float64Array.from(xs), xs.length);
  it('as the least unsigned typed array holding the range above the column\'s least value', () => {
    const t = T0 + 123;
    expect(col([t + 5, t, t + 255])).toEqual([t, Uint8Array.from([5, 0, 255])]);
    expect(col([t, t + 256])).toEqual([t, Uint16Array.from([0, 256])]);
    expect(col([0, 65_536])).toEqual([0, Uint32Array.from([0, 65_536])]);
    expect(col([])).toEqual([0, new Uint8Array(0)]);
    for (const xs of [[t + 5, t, t + 255], [7, 2 ** 32 - 1], [-3, 4]]) expect([...intColumnValues(col(xs))]).toEqual(xs);
  });
  it('numbers with a fraction, or a range of 2³² or more, are kept as they are', () => {
    expect(col([1.5, 2])).toEqual([0, Float64Array.from([1.5, 2])]);
    expect(col([0, 2 ** 32])).toEqual([0, Float64Array.from([0, 2 ** 32])]);
    expect([...intColumnValues(col([0.25, -1e300]))]).toEqual([0.25, -1e300]);
  });
  it('only the first n numbers of a reused buffer count', () => {
    expect(intColumn(Float64Array.from([3, 4, 1e12]), 2)).toEqual([3, Uint8Array.from([0, 1])]);
  });
});

describe('archive: a builder reused after reset, and blocks written by the first version', () => {
  it('a reset builder holds only the events added since, in columns that grew past their first room', () => {
    const b = new ArchiveBodyBuilder();
    for (let i = 0; i < 300; i++) b.add(i, 0, 1, 0, ev(i, { value: i, id: `c${i}` }));
    b.reset();
    const evs = Array.from({ length: 200 }, (_, i) => ev(1000 + i, i % 3 === 0 ? { value: i } : {}));
    evs.forEach((e, i) => b.add(10_000 + i, i, 5, 0, e));
    const back = decodeArchiveBody(encode(b.body()), 1);
    expect(back.map((e) => e.event)).toEqual(evs);
    expect(back.map((e) => e.offset)).toEqual(evs.map((_, i) => 10_000 + i));
    expect([b.minTs, b.maxTs]).toEqual([evs[0]!.ts, evs[199]!.ts]);
  });
  it('a v2 body (every column per event) still decodes', () => {
    const v2 = {
      v: 2, offsets: Float64Array.from([7, 8]), indexes: Uint32Array.from([0, 0]), at: Float64Array.from([99, 99]), flags: Uint8Array.from([0, ARCHIVE_LATE]),
      ts: Float64Array.from([T0, T0 + 1]), lat: Float64Array.from([PARIS.lat, PARIS.lat]), lon: Float64Array.from([PARIS.lon, PARIS.lon]), types: Uint8Array.from([0, 0]),
      users: ['u1', 'u2'], names: ['a'], apps: Uint32Array.from([1, 0]), campaigns: Uint32Array.from([0, 0]), values: Float64Array.from([NaN, 2.5]), ids: [null, 'x'], extras: [],
    };
    expect(decodeArchiveBody(encode(v2), 3).map((e) => [e.offset, e.flags, e.event])).toEqual([
      [7, 0, { userId: 'u1', type: 'impression', ts: T0, ...PARIS, appId: 'a' }],
      [8, ARCHIVE_LATE, { userId: 'u2', type: 'impression', ts: T0 + 1, ...PARIS, id: 'x', value: 2.5 }],
    ]);
  });
});

const SETTINGS = { checkpointEveryMs: 1000, checkpointEveryEvents: 1_000_000, maxUncheckpointedEvents: 1_000_000, rollupEveryMs: 0, deltaEveryMs: 100, sinks: true, archive: true };
const config = (): ShardConfig => ({ aggregation: { precision: 6, windowMs: 10_000, allowedLatenessMs: 30_000 }, settings: SETTINGS, deltasTopic: 'd', phase: 0 });
const start = (nextOffset = 0, parts: [string, Uint8Array][] = []): ShardStart => ({ partition: 2, epoch: 1, nextOffset, parts, config: config() });
const ofType = <T extends ShardEffect['type']>(effects: readonly ShardEffect[], type: T) => effects.filter((e): e is Extract<ShardEffect, { type: T }> => e.type === type);

describe('archive: a round writes its events with its checkpoint', () => {
  it('the save carries the archive blocks (its commit waits for them); a failed save writes them again with the next round', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard(start(), clock);
    stepShard(s, recordsMsg(0, 1, [ev(1), ev(2)]), clock);
    clock.advance(1000);
    const s1 = ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'save')[0]!;
    expect(s1.archive!.map((b) => [b.firstOffset, b.endOffset, b.count])).toEqual([[0, 1, 2]]);
    // Cassandra refuses: the round's cells and events stay for the next.
    const failed = stepShard(s, { type: 'failed', tag: s1.tag, error: { code: 'NoHostAvailableError', message: 'down', retriable: true } }, clock);
    expect(ofType(failed, 'm.checkpointFailure')).toHaveLength(1);
    stepShard(s, recordsMsg(1, 1, [ev(3)]), clock);
    clock.advance(1000);
    const s2 = ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'save')[0]!;
    // The failed round's block again (same key, same bytes), and the new round's from where that one ended.
    expect(s2.archive!.map((b) => [b.firstOffset, b.endOffset, b.count])).toEqual([[0, 1, 2], [1, 2, 1]]);
    expect(Buffer.compare(Buffer.from(s2.archive![0]!.data), Buffer.from(s1.archive![0]!.data))).toBe(0);
    expect(s2.nextOffset).toBe(2);
    const docs = stepShard(s, { type: 'saved', tag: s2.tag, bytesWritten: 1, ms: 1, archive: { bytesWritten: 10, ms: 1 } }, clock);
    expect(ofType(docs, 'm.archive')).toEqual([{ type: 'm.archive', blocks: 2, events: 3, bytes: 10, ms: 1 }]);
    expect(s.archivePending).toEqual([]);
    const d = ofType(docs, 'docs')[0]!;
    const end = stepShard(s, { type: 'written', tag: s2.tag, results: d.writes.map((w) => (w.op === 'delete' ? null : { inserted: 0, existing: 0, written: 0, stale: 0 })), ms: 1 }, clock);
    expect(ofType(end, 'commit')).toEqual([{ type: 'commit', nextOffset: 2 }]);
    // Nothing new: the next round archives nothing.
    clock.advance(1000);
    stepShard(s, recordsMsg(2, 1, []), clock);
    const s3 = ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'save');
    expect(s3.map((x) => x.archive)).toEqual(s3.length ? [undefined] : []);

    // A successor restored at the committed offset archives from there: its first round's key is that offset.
    const parts = s2.parts.map(([n, b]) => [n, b!] as [string, Uint8Array]);
    const { state: r } = initShard(start(2, parts), clock);
    stepShard(r, recordsMsg(2, 1, [ev(4)]), clock);
    clock.advance(1000);
    expect(ofType(stepThrough(logic, r, { type: 'tick' }, clock), 'save')[0]!.archive!.map((b) => [b.firstOffset, b.endOffset])).toEqual([[2, 3]]);
  });

  it('with the archive off, nothing is collected and a save carries no blocks', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard({ ...start(), config: { ...config(), settings: { ...SETTINGS, archive: false } } }, clock);
    expect(s.archive).toBeNull();
    stepShard(s, recordsMsg(0, 1, [ev(1)]), clock);
    clock.advance(1000);
    const save = ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'save');
    expect(save).toHaveLength(1);
    expect(save[0]!.archive).toBeUndefined();
  });
});

/** Writes the events' blocks as a shard with rounds cut at `cuts` (record offsets) would. */
async function archiveLog(store: MemoryArchiveStore, partition: number, records: AdEvent[][], cuts: number[], from = 0): Promise<void> {
  const c = new ArchiveCollector(from);
  const s = emptyState(from);
  const cfg = { precision: 6, windowMs: 10_000, allowedLatenessMs: 3_600_000 };
  let at = from;
  for (const cut of [...cuts, records.length]) {
    if (cut <= at) continue;
    foldRecords(s, recordsMsg(at, 5, ...records.slice(at, cut)), cfg, c);
    await store.write(c.seal(partition, cut));
    at = cut;
  }
}

describe('archive: GET /v1/events reads a cell newest first, page by page', () => {
  const near = (i: number) => ({ lat: PARIS.lat + (i % 3) * 0.001, lon: PARIS.lon });
  const records = Array.from({ length: 40 }, (_, r) => Array.from({ length: 5 }, (_, j) => ev(r * 5 + j, {
    ...near(j), type: j === 4 ? 'click' : 'impression', ...(j % 2 ? { appId: 'a1' } : {}), ts: T0 + ((r * 5 + j) * 37_000) % (2 * H),
  })));

  async function pages(store: MemoryArchiveStore, qs: string, limit: number): Promise<ArchivedEvent[][]> {
    const out: ArchivedEvent[][] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 100; n++) {
      const q: string = `${qs}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await readEventsPage(new CachedArchive(store, { headsMs: 0, maxEvents: 0 }), eventsRequest(parseQuery(q), q, T0 + 3 * H));
      out.push(page.events);
      if (!page.next) return out;
      cursor = formatCursor(page.next);
    }
    throw new Error('more than 100 pages');
  }

  it('pages hold every matching event once, newest first, also when a crash left rounds cut at other offsets', async () => {
    const store = new MemoryArchiveStore();
    await archiveLog(store, 0, records, [10, 25]);
    // A crashed owner had archived 25..33 in one round; its successor re-archived from 25 in two.
    await archiveLog(store, 0, records.slice(0, 33), [], 25);
    await archiveLog(store, 0, records, [30], 25);
    await archiveLog(store, 1, records.map((r) => r.map((e) => ({ ...e, userId: `p1-${e.userId}` }))), [20]);
    const cell = geohashEncode(PARIS.lat, PARIS.lon, 6);
    const truth = eventsOf(store.blocks()).filter((e, i, all) => all.findIndex((x) => archiveKey(x) === archiveKey(e)) === i)
      .filter((e) => geohashEncode(e.event.lat, e.event.lon, 6) === cell && e.event.ts >= T0 && e.event.ts < T0 + 2 * H).sort(newestFirst);
    expect(truth.length).toBeGreaterThan(300);
    const got = await pages(store, `cell=${cell}&from=${T0}&to=${T0 + 2 * H}`, 37);
    // Every page full but the last, which is not empty: `next` is null exactly on the last page.
    expect(got.slice(0, -1).every((p) => p.length === 37)).toBe(true);
    expect(got.at(-1)!.length).toBe(truth.length % 37 || 37);
    expect(got.flat().map(archiveKey)).toEqual(truth.map(archiveKey));
  });

  it('filters by a finer cell, a type and an app; an unknown cell is an empty last page', async () => {
    const store = new MemoryArchiveStore();
    await archiveLog(store, 3, records, [7, 19]);
    const cell = geohashEncode(near(1).lat, near(1).lon, 8);
    const all = eventsOf(store.blocks());
    const want = all.filter((e) => geohashEncode(e.event.lat, e.event.lon, 8) === cell && e.event.type === 'impression' && e.event.appId === 'a1').sort(newestFirst);
    expect(want.length).toBeGreaterThan(10);
    const got = await pages(store, `cell=${cell}&from=${T0 - H}&to=${T0 + 3 * H}&types=impression&app=a1`, 4);
    expect(got.flat().map(archiveKey)).toEqual(want.map(archiveKey));
    expect(await pages(store, `cell=xn76urx&from=${T0}&to=${T0 + H}`, 10)).toEqual([[]]);
  });

  it('the cache reuses listings and heads for headsMs, re-reads a block written again, and keeps maxEvents decoded', async () => {
    const store = new MemoryArchiveStore();
    let now = 0;
    const src = new CachedArchive(store, { headsMs: 1000, maxEvents: 10 }, () => now);
    await archiveLog(store, 0, records.slice(0, 2), []);
    const area = geohashEncode(PARIS.lat, PARIS.lon, 4);
    const bucketOf = (b: ArchiveBlock) => b.bucket;
    const [b0] = store.blocks();
    const heads1 = await src.heads(area, bucketOf(b0!), 0);
    expect(heads1.map((h) => [h.firstOffset, h.endOffset])).toEqual([[0, 2]]);
    // The round is written again, longer (a retry): cached heads still show the old block until headsMs.
    await archiveLog(store, 0, records.slice(0, 3), []);
    expect((await src.heads(area, bucketOf(b0!), 0)).map((h) => h.endOffset)).toEqual([2]);
    now = 1000;
    const heads2 = await src.heads(area, bucketOf(b0!), 0);
    expect(heads2.map((h) => h.endOffset)).toEqual([3]);
    expect((await src.events(heads2[0]!)).length).toBe(heads2[0]!.count);
    expect(await src.partitions(area, bucketOf(b0!))).toEqual([0]);
    // A second read of the same head is served from the decoded blocks.
    const again = await src.events(heads2[0]!);
    expect(again).toBe(await src.events(heads2[0]!));
  });

  it('bad parameters are named', () => {
    const bad = (qs: string) => {
      try {
        eventsRequest(parseQuery(qs), qs, T0);
      } catch (err) {
        return err instanceof QueryParamError ? err.message : String(err);
      }
      return 'accepted';
    };
    expect(bad('')).toBe('cell: required: a geohash of precision 4 to 9');
    expect(bad('cell=u09')).toBe('cell: precision must be 4 to 9, got 3 ("u09")');
    expect(bad('cell=u09a')).toMatch(/^cell: "u09a" is not a geohash/);
    expect(bad('cell=u09t&limit=1001')).toBe('limit: expected an integer 1-1000, got "1001"');
    expect(bad('cell=u09t&types=view')).toMatch(/^types: unknown event type "view"/);
    expect(bad('cell=u09t&from=10&to=5')).toBe('from: must be before to (from=10, to=5)');
    expect(bad('cell=u09t&cursor=zzz')).toMatch(/^cursor: not a cursor/);
    expect(bad('cell=u09t&from=yesterday')).toMatch(/^from: expected epoch milliseconds or an ISO 8601 date/);
    expect(bad('cell=u09t')).toBe('accepted');
    const c = { ts: T0, partition: 3, offset: 12, index: 4 };
    expect(parseCursor(formatCursor(c))).toEqual(c);
  });
});
