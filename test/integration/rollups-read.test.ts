/**
 * Reading final blocks back from MongoDB (gateway/query/rollups.ts) against the local stack: blocks of
 * one split, blocks of a bbox's prefixes and their shorter ones, and a window whose blocks were written
 * under two splits (a crash across an upgrade) read once.
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyState, rollupWrites } from '../../actors/logic.js';
import { foldRecords, type AggregationConfig } from '../../actors/fold.js';
import { ROLLUPS_COLLECTION, encode, segmentKey, type AdEvent, type EventBatchRecord } from '../../actors/model/index.js';
import { readRollups } from '../../gateway/query/rollups.js';
import { stackConfig, uniqueName } from '../support/env.js';

const C: AggregationConfig = { precision: 6, windowMs: 10_000, allowedLatenessMs: 30_000 };
const PLACES = { paris: [48.8566, 2.3522], berlin: [52.52, 13.405], newYork: [40.7128, -74.006] } as const;

/** A shard state of one closed window (0) with one click in each place, and an open one (40 000). */
function closedWindow(): ReturnType<typeof emptyState> {
  const s = emptyState();
  const events: AdEvent[] = Object.values(PLACES).map(([lat, lon], i) => ({ userId: `u${i}`, type: 'click', ts: 1000 + i, lat, lon }));
  // Paris has segments too: two users of app "shop" in campaign "c1", one of them twice.
  events.push({ userId: 'p1', type: 'impression', ts: 1100, lat: PLACES.paris[0], lon: PLACES.paris[1], appId: 'shop', campaignId: 'c1' });
  events.push({ userId: 'p2', type: 'impression', ts: 1200, lat: PLACES.paris[0], lon: PLACES.paris[1], appId: 'shop', campaignId: 'c1', value: 2.5 });
  events.push({ userId: 'p2', type: 'click', ts: 1300, lat: PLACES.paris[0], lon: PLACES.paris[1], appId: 'shop', campaignId: 'c1' });
  events.push({ userId: 'u9', type: 'click', ts: 41_000, lat: 0, lon: 0 });
  const bytes = encode({ v: 1, at: 1000, events } satisfies EventBatchRecord);
  foldRecords(s, { bytes, ends: Uint32Array.of(bytes.length), offsets: Float64Array.of(0) }, C);
  return s;
}

describe('final blocks read back from MongoDB', () => {
  const stack = stackConfig();
  const client = new MongoClient(stack.mongo.url);
  const db = client.db(uniqueName('adme_test_rollups'));

  beforeAll(() => client.connect());
  afterAll(async () => {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });

  it('reads each cell once, whether a window is one block, split, or written both ways', async () => {
    const s = closedWindow();
    const whole = rollupWrites(s, C, 3, 7).finals;
    const split = rollupWrites(s, C, 3, 7, true, 1).finals;
    const otherPartition = rollupWrites(s, C, 4, 7, true, 1).finals;
    expect(whole.map((b) => b.prefix)).toEqual(['']);
    expect(split.map((b) => b.prefix).sort()).toEqual(['d', 'u0', 'u3']);
    await db.collection<{ _id: string }>(ROLLUPS_COLLECTION).insertMany([...whole, ...split, ...otherPartition].map((b) => ({ ...b })));

    const cellsOf = async (bbox?: [number, number, number, number]) =>
      [...await readRollups(db, { from: 0, to: 10_000, windowMs: 10_000, bbox })].map((r) => `${r.partition}:${r.cell}:${r.sum[1]}`).sort();
    const all = await cellsOf();
    // Partition 3 wrote window 0 twice (one block, then three): its three cells count once. Partition 4: once.
    expect(all).toEqual(['3:dr5reg:1', '3:u09tvw:2', '3:u33dc0:1', '4:dr5reg:1', '4:u09tvw:2', '4:u33dc0:1']);
    // A bbox around Paris reads the blocks of its prefix and of the shorter ones ('' and 'u0').
    const paris = await cellsOf([2.2, 48.8, 2.5, 48.9]);
    expect(paris).toEqual(['3:u09tvw:2', '4:u09tvw:2']);
    // The rows are decoded as they are iterated: a second iteration gives them again. A row's segments
    // and their users are read when asked for.
    const rows = await readRollups(db, { from: 0, to: 10_000, windowMs: 10_000 });
    const p3 = [...rows].find((r) => r.partition === 3 && r.cell === 'u09tvw')!;
    const shop = segmentKey('shop', 'c1');
    expect([...p3.segs!.keys()]).toEqual([shop]);
    expect([...p3.segs!.get(shop)!]).toEqual([2, 1, 0, 0, 0, 0, 2.5]);
    expect(p3.segReach!.get(shop)!.users()).toBe(2);
    expect(p3.reach!.users()).toBe(3);
    const berlin = [...rows].find((r) => r.cell === 'u33dc0')!;
    expect([berlin.segs, berlin.segReach]).toEqual([null, null]);
    expect([...rows].length).toBe(6);
    expect([...rows].length).toBe(6);
  });
});
