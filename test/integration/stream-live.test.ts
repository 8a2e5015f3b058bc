import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVENT_TYPES, encode, geohashCenter, geohashEncode, inBbox, type AdEvent, type Bbox, type DeltaRecord, type RollupsAnswer, type SegmentsAnswer, type SummaryAnswer, type TopAnswer,
} from '../../actors/model/index.js';
import { startRuntime, type RuntimeHandle } from '../../actors/runtime-main.js';
import { ensureTopics, kafkaClient } from '../../runtime/index.js';
import { stackConfig, testRuntimeConfig, uniqueName, waitFor } from '../support/env.js';
import { allRollupRows, countsOfRollups, kafkaFor, makeEvents, produceEvents, truthOf } from '../support/events.js';
import { metricSum } from '../support/runtime-proc.js';
import { TestViewer } from '../support/viewer.js';
import { testGateway, type TestGateway } from './gateway-helpers.js';

const stack = stackConfig();
const PARTITIONS = 4;
const WORLD: Bbox = [-180, -90, 180, 90];
const PARIS: Bbox = [1.5, 48, 3.5, 49.5];

describe('live view: WS /v1/stream and the query API against the real pipeline', () => {
  const name = uniqueName('live');
  const config = testRuntimeConfig(name, PARTITIONS);
  const db = config.mongo.database;
  // 45 s of event time: the first windows close (watermark = max − 30 s) and become final blocks, the
  // rest stay open; all of them are inside a 60 s live window.
  const start = Date.UTC(2026, 0, 1, 12);
  const events = makeEvents({ count: 8000, seed: 11, startTs: start, spanMs: 45_000, withIds: 0.2, segments: true });
  const truth = truthOf(events, config.precision, config.windowMs);
  // The filtered truth: events of app-b in campaigns cmp-1 or cmp-3 (the events' ids are all distinct).
  const FILTER = { apps: ['app-b'], campaigns: ['cmp-1', 'cmp-3'] };
  const matches = (e: AdEvent) => e.appId !== undefined && FILTER.apps.includes(e.appId) && e.campaignId !== undefined && FILTER.campaigns.includes(e.campaignId);
  const filteredTruth = truthOf(events.filter(matches), config.precision, config.windowMs);
  const mongo = new MongoClient(stack.mongo.url);
  let rt: RuntimeHandle | undefined;
  let gw: TestGateway;
  let key: string;
  const viewers: TestViewer[] = [];

  /** Truth per cell (at `precision`), over windows [from, to) and inside `bbox`. */
  const truthCells = (from: number, to: number, precision: number, bbox: Bbox, of = truth) => {
    const out = new Map<string, number[]>();
    for (const [k, n] of of.counts) {
      const [w, cell, type] = k.split(':') as [string, string, string];
      if (Number(w) < from || Number(w) >= to) continue;
      const c = cell.slice(0, precision);
      const counts = out.get(c) ?? new Array<number>(EVENT_TYPES.length).fill(0);
      counts[EVENT_TYPES.indexOf(type as (typeof EVENT_TYPES)[number])]! += n;
      out.set(c, counts);
    }
    return new Map([...out].filter(([c]) => {
      const centre = geohashCenter(c);
      return inBbox(bbox, centre.lat, centre.lon);
    }));
  };

  beforeAll(async () => {
    await mongo.connect();
    await ensureTopics(kafkaClient({ brokers: stack.kafka.brokers, clientId: 'adme-test' }), [{ topic: config.topic, partitions: PARTITIONS }, { topic: config.deltasTopic, partitions: PARTITIONS }]);
    rt = await startRuntime(config, (m) => { if (process.env.ADME_TEST_VERBOSE) console.error(m); });
    gw = await testGateway({ ADME_EVENTS_TOPIC: config.topic, ADME_DELTAS_TOPIC: config.deltasTopic, ADME_MONGO_URL: stack.mongo.url, ADME_MONGO_DB: db, ADME_QUERY_CACHE_MS: '0' }, PARTITIONS);
    key = gw.key(['view']);
    // Viewers subscribe before any event: they see the map fill up through deltas.
    for (let i = 0; i < 3; i++) viewers.push(await TestViewer.open(gw.url, key));
    viewers[0]!.send({ type: 'subscribe', bbox: WORLD, precision: 6, windowS: 60 });
    viewers[1]!.send({ type: 'subscribe', bbox: PARIS, precision: 5, windowS: 60 });
    viewers[2]!.drop.add(3); // loses its third frame
    viewers[2]!.send({ type: 'subscribe', bbox: WORLD, precision: 4, windowS: 60 });
    viewers.push(await TestViewer.open(gw.url, key));
    viewers[3]!.send({ type: 'subscribe', bbox: WORLD, precision: 6, windowS: 60, ...FILTER });
    const producer = kafkaFor(stack.kafka.brokers).producer({ idempotent: true });
    await producer.connect();
    await produceEvents(producer, config.topic, PARTITIONS, events);
    await producer.disconnect();
  });

  afterAll(async () => {
    for (const v of viewers) await v.close();
    await gw?.gw.close();
    await rt?.stop();
    await mongo.db(db).dropDatabase().catch(() => undefined);
    await mongo.close();
  });

  it('a viewer\'s snapshot + deltas converge to exactly the rollups of the same window', async () => {
    await waitFor('rollups to reach the truth', async () => countsOfRollups(await allRollupRows(mongo.db(db))).total === truth.total, 60_000, 500);
    const v = viewers[0]!;
    await v.until(`the viewer to count ${truth.total} events`, (x) => x.total === truth.total);
    const last = v.cellFrames().at(-1)!;
    expect(last.from).toBe(start + 40_000 - 50_000);
    expect(last.to).toBe(start + 50_000);
    // The same numbers from the query API over MongoDB, per cell and type.
    const res = await fetch(`${gw.url}/v1/rollups?from=${last.from}&to=${last.to}&precision=6&step=10`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const api = new Map<string, number[]>();
    for (const r of ((await res.json()) as RollupsAnswer).rows) {
      const c = api.get(r.cell) ?? new Array<number>(EVENT_TYPES.length).fill(0);
      EVENT_TYPES.forEach((t, i) => {
        c[i]! += r.counts[t];
      });
      api.set(r.cell, c);
    }
    const fromApi = Object.fromEntries(api);
    const fromViewer = Object.fromEntries([...v.cells].map(([c, x]) => [c, x.counts]));
    expect(fromViewer).toEqual(fromApi);
    expect(fromViewer).toEqual(Object.fromEntries(truthCells(last.from, last.to, 6, WORLD)));
  });

  it('viewport filtering sends nothing outside the bbox, and the inside converges too', async () => {
    const v = viewers[1]!;
    const want = truthCells(start - 60_000, start + 60_000, 5, PARIS);
    const wantTotal = [...want.values()].reduce((a, c) => a + c.reduce((x, y) => x + y, 0), 0);
    expect(wantTotal).toBeGreaterThan(0);
    await v.until(`the Paris viewer to count ${wantTotal}`, (x) => x.total === wantTotal);
    const rows = v.cellFrames().flatMap((f) => f.cells.map((c, i) => ({ c, lat: f.lat[i]!, lon: f.lon[i]! })));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => !inBbox(PARIS, r.lat, r.lon))).toEqual([]);
    expect(Object.fromEntries([...v.cells].map(([c, x]) => [c, x.counts]))).toEqual(Object.fromEntries(want));
  });

  it('app and campaign filters: the filtered viewer and the query API count exactly the matching events', async () => {
    expect(filteredTruth.total).toBeGreaterThan(100);
    expect(filteredTruth.total).toBeLessThan(truth.total / 5);
    const v = viewers[3]!;
    await v.until(`the filtered viewer to count ${filteredTruth.total}`, (x) => x.total === filteredTruth.total);
    expect(Object.fromEntries([...v.cells].map(([c, x]) => [c, x.counts]))).toEqual(Object.fromEntries(truthCells(start - 60_000, start + 60_000, 6, WORLD, filteredTruth)));
    const get = async <T>(path: string) => (await (await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${key}` } })).json()) as T;
    const qs = `from=${start}&to=${start + 60_000}&app=app-b&campaign=cmp-1&campaign=cmp-3`;
    for (const source of ['', '&source=rollups']) {
      const s = await get<SummaryAnswer & { apps: string[]; campaigns: string[] }>(`/v1/summary?${qs}${source}`);
      expect([s.events, s.apps, s.campaigns]).toEqual([filteredTruth.total, ['app-b'], ['cmp-1', 'cmp-3']]);
      const r = await get<RollupsAnswer>(`/v1/rollups?${qs}&precision=6&step=60${source}`);
      expect(Object.fromEntries(r.rows.map((x) => [x.cell, EVENT_TYPES.map((t) => x.counts[t])]))).toEqual(Object.fromEntries(truthCells(start, start + 60_000, 6, WORLD, filteredTruth)));
    }
    // The apps and campaigns seen, with exact event counts and unique users (per-segment reach).
    const seg = await get<SegmentsAnswer>(`/v1/segments?from=${start}&to=${start + 60_000}&source=rollups`);
    const count = (pick: (e: AdEvent) => string | undefined) => {
      const m = new Map<string, { events: number; users: Set<string> }>();
      for (const e of events) {
        const id = pick(e);
        if (id === undefined) continue;
        const c = m.get(id) ?? { events: 0, users: new Set<string>() };
        c.events++;
        c.users.add(e.userId);
        m.set(id, c);
      }
      return [...m].map(([id, c]) => ({ id, events: c.events, users: c.users.size })).sort((a, b) => b.events - a.events || (a.id < b.id ? -1 : 1));
    };
    expect(seg.apps).toEqual(count((e) => e.appId));
    expect(seg.campaigns).toEqual(count((e) => e.campaignId));
    const bad = await fetch(`${gw.url}/v1/summary?app=${'x'.repeat(65)}`, { headers: { authorization: `Bearer ${key}` } });
    expect([bad.status, ((await bad.json()) as { message: string }).message]).toEqual([400, `app: every id must be a string of 1-64 characters, got "${'x'.repeat(65)}"`]);
  });

  it('a lost frame: the viewer notices the gap, resyncs unless a snapshot follows, and converges', async () => {
    const v = viewers[2]!;
    // The gap shows with the next frame after the lost one (a delta, or the 1 s heartbeat); the viewer
    // asks for a resync and converges on the snapshot that answers it.
    // The frame after the lost one is a delta (the viewer notices the gap, asks for a resync and gets a
    // snapshot) or, when many cells changed meanwhile, a snapshot the server found cheaper (no resync needed).
    const afterGap = (x: TestViewer) => {
      const frames = x.cellFrames();
      const gapAt = frames.findIndex((f) => f.seq > 3);
      return gapAt < 0 ? undefined : { first: frames[gapAt]!, snapshot: frames.slice(gapAt).some((f) => f.type === 'snapshot') };
    };
    await v.until(`the precision-4 viewer to see the gap, get a snapshot and count ${truth.total}`, (x) => x.gaps === 1 && afterGap(x)?.snapshot === true && x.total === truth.total);
    expect(v.resyncs).toBe(afterGap(v)!.first.type === 'delta' ? 1 : 0);
    const frames = v.cellFrames();
    expect(frames[0]!.type).toBe('snapshot');
    expect(frames.map((f) => f.seq).includes(3)).toBe(false);
  });

  it('answers recent ranges from the live store, with the same numbers as the rollups', async () => {
    const now = Date.now();
    const fresh = makeEvents({ count: 3000, seed: 12, startTs: now - 30_000, spanMs: 25_000 });
    const producer = kafkaFor(stack.kafka.brokers).producer({ idempotent: true });
    await producer.connect();
    await produceEvents(producer, config.topic, PARTITIONS, fresh);
    await producer.disconnect();
    const get = async (source: string) => (await (await fetch(`${gw.url}/v1/summary?from=${now - 60_000}&to=${now + 10_000}${source}`, { headers: { authorization: `Bearer ${key}` } })).json()) as SummaryAnswer;
    const stored = await waitFor('the fresh events in MongoDB', async () => {
      const a = await get('&source=rollups');
      return a.events === fresh.length ? a : undefined;
    }, 60_000, 300);
    expect(stored.source).toBe('rollups');
    // The live store is usually ahead of MongoDB (deltas every 100 ms, open rollups after each checkpoint);
    // either way both must settle on the same answer.
    const live = await waitFor('the live answer to equal the stored one', async () => {
      const a = await get('');
      return JSON.stringify({ ...a, source: 'rollups' }) === JSON.stringify(stored) ? a : undefined;
    }, 20_000, 300);
    expect(live.source).toBe('live');
    expect(live.events).toBe(fresh.length);
    // Reach: fewer than 4096 users, so exact, in the rollups and in the live store alike (compared above).
    expect(stored.users).toBe(new Set(fresh.map((e) => e.userId)).size);
    expect(stored.usersByType.click).toBe(new Set(fresh.filter((e) => e.type === 'click').map((e) => e.userId)).size);
    expect(stored.frequency).toBe(stored.counts.impression / stored.usersByType.impression);
    // window= is the same range as from = to − window.
    const windowed = (await (await fetch(`${gw.url}/v1/summary?window=70s&to=${now + 10_000}&source=rollups`, { headers: { authorization: `Bearer ${key}` } })).json()) as SummaryAnswer;
    expect(windowed).toEqual(stored);
  });

  it('reach and the privacy floor: small cells are neither answered nor streamed, and still count in the area', async () => {
    const now = Date.now();
    // Two cells near Cape Town, where no other test puts events: one of 30 users, one of 3.
    const at = (lat: number, lon: number, users: number, prefix: string) => Array.from({ length: users * 2 }, (_, i) => ({
      userId: `${prefix}${i % users}`, type: i < users ? 'impression' as const : 'click' as const, ts: now - 20_000 + i, lat, lon,
    }));
    const events = [...at(-33.9249, 18.4241, 30, 'cape-'), ...at(-34.05, 18.35, 3, 'lone-')];
    const box = [18.0, -34.5, 19.0, -33.5] as const;
    const floor = await testGateway({ ADME_EVENTS_TOPIC: config.topic, ADME_DELTAS_TOPIC: config.deltasTopic, ADME_MONGO_URL: stack.mongo.url, ADME_MONGO_DB: db, ADME_QUERY_CACHE_MS: '0', ADME_PRIVACY_K: '10' }, PARTITIONS);
    const viewer = await TestViewer.open(floor.url, floor.key(['view']));
    try {
      viewer.send({ type: 'subscribe', bbox: box, precision: 6, windowS: 60 });
      const producer = kafkaFor(stack.kafka.brokers).producer({ idempotent: true });
      await producer.connect();
      await produceEvents(producer, config.topic, PARTITIONS, events);
      await producer.disconnect();
      const big = geohashEncode(-33.9249, 18.4241, 6);
      const q = `from=${now - 60_000}&to=${now + 10_000}&bbox=${box.join(',')}`;
      const get = async <T,>(g: typeof gw, path: string) => (await (await fetch(`${g.url}${path}`, { headers: { authorization: `Bearer ${g === gw ? key : floor.key(['view'])}` } })).json()) as T;
      const top = await waitFor('both cells in the unfloored top', async () => {
        const a = await get<TopAnswer>(gw, `/v1/top?${q}&precision=6&by=users`);
        return a.rows.length === 2 && a.rows[0]!.users === 30 && a.rows[1]!.users === 3 ? a : undefined;
      }, 60_000, 300);
      expect(top).toMatchObject({ by: 'users', privacyK: 0, withheld: 0 });
      const floored = await get<TopAnswer>(floor, `/v1/top?${q}&precision=6&by=users`);
      expect(floored.rows.map((r) => [r.cell, r.users])).toEqual([[big, 30]]);
      expect(floored).toMatchObject({ privacyK: 10, withheld: 1 });
      // At precision 3 both cells are one area of 33 users: answered, the small cell's events in it.
      const area = await get<TopAnswer>(floor, `/v1/top?${q}&precision=3`);
      expect(area.rows.map((r) => [r.total, r.users])).toEqual([[66, 33]]);
      const clicks = await get<SummaryAnswer>(floor, `/v1/summary?${q}`);
      expect(clicks).toMatchObject({ events: 66, users: 33, withheld: 0, frequency: 1 });
      expect(clicks.usersByType).toMatchObject({ impression: 33, click: 33 });
      const lone = await get<SummaryAnswer>(floor, `/v1/summary?from=${now - 60_000}&to=${now + 10_000}&bbox=18.3,-34.1,18.4,-34.0`);
      expect(lone).toMatchObject({ events: 0, users: 0, withheld: 1 });
      // The stream: only the big cell, the small one counted as held back, the view's reach with both.
      // The view's totals ride on snapshots and on one frame a second.
      await viewer.until('the big cell alone, and one held back', (x) => x.total === 60 && x.cellFrames().some((f) => f.withheld === 1 && f.viewUsers === 33));
      const shown = viewer.cellFrames().flatMap((f) => f.cells.filter((_, i) => f.total[i]! > 0));
      expect(new Set(shown)).toEqual(new Set([big]));
    } finally {
      await viewer.close();
      await floor.gw.close();
    }
  });
  it('a gap in the actors\' deltas resends snapshots, repaired from MongoDB; a zombie\'s delta is ignored', async () => {
    const v = viewers[0]!;
    const framesBefore = v.cellFrames().length;
    const totalBefore = v.total;
    const empty = (epoch: number, seq: number): DeltaRecord => ({
      v: 1, partition: 0, epoch, seq, at: Date.now(), oldestAt: Date.now(), precision: 6, windowMs: config.windowMs,
      windows: new Float64Array(0), cells: [], counts: new Uint32Array(0), values: new Float64Array(0), users: new Uint32Array(0),
    });
    const zombie: DeltaRecord = { ...empty(0, 99), windows: Float64Array.of(start + 40_000), cells: ['u09tvw'], counts: Uint32Array.of(1000, 0, 0, 0, 0, 0), values: Float64Array.of(0), users: Uint32Array.of(1) };
    const producer = kafkaFor(stack.kafka.brokers).producer();
    await producer.connect();
    // A new owner (epoch far ahead), then a jump in its sequence, then the old owner's late write.
    for (const d of [empty(1_000_000, 1), empty(1_000_000, 5), zombie]) await producer.send({ topic: config.deltasTopic, messages: [{ partition: 0, value: Buffer.from(encode(d)) }] });
    await producer.disconnect();
    const metrics = async () => (await fetch(`${gw.url}/metrics`)).text();
    await waitFor('the gap to be seen', async () => metricSum(await metrics(), 'adme_stream_delta_gaps_total') === 1, 20_000);
    await waitFor('the zombie delta to be ignored', async () => metricSum(await metrics(), 'adme_stream_zombie_deltas_total') === 1, 20_000);
    await v.until('a snapshot after the gap', (x) => x.cellFrames().slice(framesBefore).some((f) => f.type === 'snapshot'));
    await new Promise((r) => setTimeout(r, 500));
    expect(v.total).toBe(totalBefore);
  });

  it('the query API answers the truth and names bad parameters', async () => {
    const get = (path: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    const s = (await (await get(`/v1/summary?from=${start}&to=${start + 60_000}`)).json()) as SummaryAnswer;
    expect(s.events).toBe(truth.total);
    const byType = Object.fromEntries(EVENT_TYPES.map((t) => [t, [...truth.counts].filter(([k]) => k.endsWith(`:${t}`)).reduce((a, [, n]) => a + n, 0)]));
    expect(s.counts).toEqual(byType);
    expect(s.clickThroughRate).toBe(byType.click! / byType.impression!);
    expect(s.series).toHaveLength(6);
    expect(s.series.reduce((a, [, n]) => a + n, 0)).toBe(truth.total);
    const bad = await get('/v1/rollups?bbox=1,2,3&precision=6');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ code: 'QUERY_BAD_PARAM', message: 'bbox: expected west,south,east,north in degrees, got "1,2,3"', retriable: false });
    const noKey = await fetch(`${gw.url}/v1/summary`);
    expect(noKey.status).toBe(401);
    const ingestOnly = await fetch(`${gw.url}/v1/summary`, { headers: { authorization: `Bearer ${gw.key(['ingest'])}` } });
    expect(ingestOnly.status).toBe(403);
    const r = (await (await get(`/v1/rollups?from=${start}&to=${start + 60_000}&precision=3&step=60`)).json()) as { rows: { total: number }[] };
    expect(r.rows.reduce((a, x) => a + x.total, 0)).toBe(truth.total);
  });

});
