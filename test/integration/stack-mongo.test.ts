import { MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackConfig, uniqueName } from '../support/env.js';

const c = stackConfig();

describe('MongoDB-compatible store (local stack, official driver)', () => {
  const client = new MongoClient(c.mongo.url);
  const db = client.db(uniqueName('adme_test'));
  const rollups = db.collection<{ cell: string; window: number; type: string; count: number; offset: number }>('rollups');

  beforeAll(async () => {
    await client.connect();
    await rollups.createIndex({ cell: 1, window: 1, type: 1 }, { unique: true, name: 'cell_window_type' });
  });
  afterAll(async () => {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });

  /** AdME's rollup write: absolute values, applied only when newer than what is stored. */
  const upsert = (docs: { cell: string; window: number; type: string; count: number; offset: number }[]) =>
    rollups.bulkWrite(docs.map((d) => ({
      updateOne: {
        filter: { cell: d.cell, window: d.window, type: d.type, offset: { $lt: d.offset } },
        update: { $set: { count: d.count, offset: d.offset } },
        upsert: true,
      },
    })), { ordered: false });

  it('bulk upserts with $set guarded by a version filter apply newer values only', async () => {
    const r1 = await upsert([
      { cell: 'u09tv', window: 1000, type: 'click', count: 5, offset: 10 },
      { cell: 'u09tv', window: 1000, type: 'impression', count: 50, offset: 10 },
      { cell: 'gcpvj', window: 1000, type: 'click', count: 3, offset: 10 },
    ]);
    expect(r1.upsertedCount).toBe(3);

    const r2 = await upsert([{ cell: 'u09tv', window: 1000, type: 'click', count: 8, offset: 20 }]);
    expect(r2.modifiedCount).toBe(1);

    // A replay of an older version matches no document, so it tries to insert and hits the unique index:
    // the stored, newer value survives.
    const stale = await upsert([{ cell: 'u09tv', window: 1000, type: 'click', count: 6, offset: 15 }]).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(MongoServerError);
    expect((stale as MongoServerError).code === 11000 || JSON.stringify(stale).includes('11000')).toBe(true);

    const doc = await rollups.findOne({ cell: 'u09tv', window: 1000, type: 'click' }, { projection: { _id: 0 } });
    expect(doc).toEqual({ cell: 'u09tv', window: 1000, type: 'click', count: 8, offset: 20 });
  });

  it('the compound unique index rejects a duplicate key', async () => {
    const err = await rollups.insertOne({ cell: 'gcpvj', window: 1000, type: 'click', count: 1, offset: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect((err as MongoServerError).code).toBe(11000);
    const names = (await rollups.indexes()).map((i) => i.name).sort();
    expect(names).toEqual(['_id_', 'cell_window_type']);
  });

  it('aggregates with $match / $group / $sum', async () => {
    // One accumulator per $group: FerretDB 1.24 computes only the first $sum of a $group and returns 0
    // for the others (docs/stack.md), so AdME's queries never put two in one stage.
    const totals = await rollups.aggregate<{ _id: string; total: number }>([
      { $match: { window: 1000 } },
      { $group: { _id: '$type', total: { $sum: '$count' } } },
      { $sort: { _id: 1 } },
    ]).toArray();
    expect(totals).toEqual([{ _id: 'click', total: 11 }, { _id: 'impression', total: 50 }]);

    const docs = await rollups.aggregate<{ _id: string; n: number }>([
      { $match: { window: 1000, cell: { $in: ['u09tv', 'gcpvj'] } } },
      { $group: { _id: '$type', n: { $sum: 1 } } },
      { $sort: { _id: 1 } },
    ]).toArray();
    expect(docs).toEqual([{ _id: 'click', n: 2 }, { _id: 'impression', n: 1 }]);
  });
});
