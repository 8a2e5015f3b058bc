// The raw-event archive against the real servers: a runtime archives every event it folds; the archive
// holds each event once (per type and cell equal to the inputs), `/v1/events` pages through a cell, and
// `adme replay` into a fresh database gives exactly the live final rollups.
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIVE_BUCKET_MS, archiveKey, decode, geohashEncode, newestFirst, type AdEvent, type ArchivedEvent } from '../../actors/model/index.js';
import { startRuntime, type RuntimeHandle } from '../../actors/runtime-main.js';
import { replayArchive } from '../../actors/replay.js';
import { CassandraArchiveStore, MongoDocStore, cassandraClient, ensureTopics, kafkaClient } from '../../runtime/index.js';
import { blockEvents } from '../../gateway/query/events.js';
import { QueryApi } from '../../gateway/query/api.js';
import { stackConfig, testRuntimeConfig, uniqueName, waitFor } from '../support/env.js';
import { allRollupRows, kafkaFor, makeEvents, produceEvents, segmentCountsOfRollups } from '../support/events.js';
import { testGateway } from './gateway-helpers.js';

const stack = stackConfig();
const PARTITIONS = 4;
const START = Date.UTC(2026, 0, 1, 12, 59, 20); // the range spans two hour buckets

/** Rows of final blocks as comparable strings: window, cell, partition, counts, value, users. */
const finalRows = (rows: readonly Record<string, unknown>[]) => rows.map((r) => JSON.stringify([r.window, r.cell, r.partition, r.impression, r.click, r.install, r.purchase, r.session_start, r.custom, r.value, r.users])).sort();

describe('archive: every folded event in Cassandra once; /v1/events; replay equals the live rollups', () => {
  const name = uniqueName('rt_arch');
  const config = testRuntimeConfig(name, PARTITIONS);
  const events = makeEvents({ count: 9_000, seed: 11, startTs: START, spanMs: 61_000, withIds: 0.3, segments: true });
  const retried = events.filter((e) => e.id !== undefined).slice(-300);
  const late = makeEvents({ count: 40, seed: 12, startTs: START, spanMs: 1000 });
  // Far ahead in event time, on every partition: every window of the range closes (watermarks are per
  // partition), so the live rollups of the range are final.
  const closers = makeEvents({ count: 200, seed: 13, startTs: START + 600_000, spanMs: 1000 });
  const sent: AdEvent[] = [...events, ...retried, ...late, ...closers];
  const mongo = new MongoClient(stack.mongo.url);
  let rt: RuntimeHandle | undefined;
  let archive: CassandraArchiveStore;

  beforeAll(async () => {
    await mongo.connect();
    await ensureTopics(kafkaClient({ brokers: stack.kafka.brokers, clientId: 'adme-test' }), [{ topic: config.topic, partitions: PARTITIONS }]);
    const producer = kafkaFor(stack.kafka.brokers).producer({ idempotent: true });
    await producer.connect();
    for (const batch of [events, retried, late, closers]) await produceEvents(producer, config.topic, PARTITIONS, batch);
    await producer.disconnect();
    rt = await startRuntime(config, (m) => { if (process.env.ADME_TEST_VERBOSE) console.error(m); });
    archive = await CassandraArchiveStore.open({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc, keyspace: config.cassandra.keyspace, ttlSeconds: 0, create: false });
  });

  afterAll(async () => {
    await rt?.stop();
    await archive?.close();
    await mongo.db(config.mongo.database).dropDatabase().catch(() => undefined);
    await mongo.db(`${config.mongo.database}_replay`).dropDatabase().catch(() => undefined);
    await mongo.close();
    const c = cassandraClient({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc });
    await c.execute(`DROP KEYSPACE IF EXISTS ${config.cassandra.keyspace}`).catch(() => undefined);
    await c.shutdown();
  });

  /** Every archived event, each once. */
  async function archived(): Promise<ArchivedEvent[]> {
    const seen = new Map<string, ArchivedEvent>();
    for (let bucket = Math.floor(START / ARCHIVE_BUCKET_MS) * ARCHIVE_BUCKET_MS; bucket <= START + 600_000 + 1000; bucket += ARCHIVE_BUCKET_MS) {
      for (const { area, partition } of await archive.list(bucket)) {
        for (const b of await archive.read(area, bucket, partition)) for (const e of blockEvents(b.data, b.partition)) seen.set(archiveKey(e), e);
      }
    }
    return [...seen.values()];
  }

  it('holds every event sent once — late and duplicate ones too, flagged — per type and cell equal to the inputs', async () => {
    const got = await waitFor('the archive to hold every event', async () => {
      const a = await archived();
      return a.length >= sent.length ? a : undefined;
    }, 60_000, 500);
    expect(got.length).toBe(sent.length);
    const tally = (es: readonly AdEvent[]) => {
      const m = new Map<string, number>();
      for (const e of es) {
        const k = `${e.type}:${geohashEncode(e.lat, e.lon, 6)}:${e.appId ?? ''}:${e.campaignId ?? ''}`;
        m.set(k, (m.get(k) ?? 0) + 1);
      }
      return new Map([...m].sort());
    };
    expect(tally(got.map((e) => e.event))).toEqual(tally(sent));
    expect(got.filter((e) => e.flags & 1).length).toBe(late.length);
    expect(got.filter((e) => e.flags & 2).length).toBe(retried.length);
    expect(got.every((e) => e.at > 0)).toBe(true);
    expect(rt!.metrics.registry.render()).toMatch(/adme_runtime_archived_events_total\{partition="\d"\} \d+/);
  });

  it('GET /v1/events pages through a cell newest first, every event of it once, in JSON and msgpack', async () => {
    const all = await archived();
    // The busiest cell of the range.
    const byCell = new Map<string, ArchivedEvent[]>();
    for (const e of all) {
      const c = geohashEncode(e.event.lat, e.event.lon, 4);
      byCell.set(c, [...(byCell.get(c) ?? []), e]);
    }
    const [cell, inCell] = [...byCell].sort((a, b) => b[1].length - a[1].length)[0]!;
    const want = inCell.filter((e) => e.event.ts >= START && e.event.ts < START + 61_000).sort(newestFirst);
    expect(want.length).toBeGreaterThan(1000);
    const api = new QueryApi({
      mongoUrl: undefined, database: 'x', windowMs: 10_000, maxRows: 1000, cacheMs: 0, privacyK: 0,
      archive: () => CassandraArchiveStore.open({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc, keyspace: config.cassandra.keyspace, ttlSeconds: 0, create: false }),
    });
    const keys: string[] = [];
    let cursor: string | null = null;
    do {
      const a = await api.answer('/v1/events', `cell=${cell}&from=${START}&to=${START + 61_000}&limit=97${cursor ? `&cursor=${cursor}` : ''}`);
      expect(a.status).toBe(200);
      const body = a.body as { events: { partition: number; offset: number; index: number }[]; next: string | null };
      keys.push(...body.events.map(archiveKey));
      cursor = body.next;
    } while (cursor);
    await api.close();
    expect(keys).toEqual(want.map(archiveKey));

    // Over HTTP, with a view key, as msgpack.
    const gw = await testGateway({ ADME_KEYSPACE: config.cassandra.keyspace });
    try {
      const key = gw.key(['view']);
      const res = await fetch(`${gw.url}/v1/events?cell=${cell}&from=${START}&to=${START + 61_000}&limit=5`, { headers: { authorization: `Bearer ${key}`, accept: 'application/msgpack' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/msgpack');
      const body = decode<{ events: { userId: string; ts: number }[]; next: string }>(new Uint8Array(await res.arrayBuffer()));
      expect(body.events.map((e) => e.userId)).toEqual(want.slice(0, 5).map((e) => e.event.userId));
      const bad = await fetch(`${gw.url}/v1/events?cell=u0&limit=5`, { headers: { authorization: `Bearer ${key}` } });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { message: string }).message).toBe('cell: precision must be 4 to 9, got 2 ("u0")');
      expect((await fetch(`${gw.url}/v1/events?cell=${cell}`)).status).toBe(401);
    } finally {
      await gw.gw.close();
    }
  });

  it('a replay of the range into a fresh database gives exactly the live final rollups, segments included', async () => {
    const db = mongo.db(config.mongo.database);
    // Every window of the range final live (the closers pushed the watermark past them).
    const liveOf = async () => (await allRollupRows(db, true)).filter((r) => (r.window as number) >= START - (START % 10_000) && (r.window as number) < START + 61_000);
    const live = await waitFor('the live finals of the range', async () => {
      const rows = await liveOf();
      const total = rows.reduce((a, r) => a + ['impression', 'click', 'install', 'purchase', 'session_start', 'custom'].reduce((b, t) => b + Number(r[t] ?? 0), 0), 0);
      if (process.env.ADME_TEST_VERBOSE) console.error(`live finals of the range: ${total} of ${events.length}`);
      return total === events.length ? rows : undefined; // retried ones are duplicates, late ones are not counted
    }, 60_000, 500);
    const docs = await MongoDocStore.open(stack.mongo.url, `${config.mongo.database}_replay`);
    try {
      const r = await replayArchive({
        archive, docs, from: START, to: START + 61_000,
        aggregation: { precision: config.precision, windowMs: config.windowMs, allowedLatenessMs: config.allowedLatenessMs, maxSegmentsPerCell: config.maxSegmentsPerCell },
      });
      expect(r.late).toBe(late.length);
      expect(r.events).toBe(events.length + retried.length);
      const replayed = await allRollupRows(mongo.db(`${config.mongo.database}_replay`), true);
      expect(finalRows(replayed)).toEqual(finalRows(live));
      const segs = (m: Map<string, number>) => new Map([...m].filter(([k]) => Number(k.split(':')[0]) < START + 61_000).sort());
      expect(segs(await segmentCountsOfRollups(mongo.db(`${config.mongo.database}_replay`)))).toEqual(segs(await segmentCountsOfRollups(db)));
    } finally {
      await docs.close();
    }
  });
});
