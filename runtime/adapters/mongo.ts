import { MongoBulkWriteError, MongoClient, type AnyBulkWriteOperation, type Db, type Document } from 'mongodb';
import type { DocStore, UpsertResult, VersionedDoc } from '../ports/ports.js';

const DUPLICATE_KEY = 11000;

/**
 * MongoDB (or FerretDB) adapter. Every write is an absolute `$set` guarded by a version filter, never an
 * `$inc`: replays and zombies cannot double-count, and stores without isolated read-modify-write
 * (FerretDB) stay correct as long as each document has one writer.
 */
export class MongoDocStore implements DocStore {
  private constructor(private readonly client: MongoClient, private readonly db: Db) {}

  static async open(url: string, database: string): Promise<MongoDocStore> {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000, maxPoolSize: 8 });
    await client.connect();
    return new MongoDocStore(client, client.db(database));
  }

  get database(): Db {
    return this.db;
  }

  async upsertVersioned(collection: string, docs: readonly VersionedDoc[]): Promise<UpsertResult> {
    if (docs.length === 0) return { written: 0, stale: 0 };
    const ops: AnyBulkWriteOperation<Document>[] = docs.map((d) => ({
      updateOne: {
        // A stored version newer than ours makes the filter miss; the upsert's insert then hits the
        // _id index: that duplicate-key error is how a stale write is refused.
        filter: { _id: d._id as never, version: { $lte: d.version } },
        update: { $set: { ...d.fields, version: d.version } },
        upsert: true,
      },
    }));
    try {
      await this.db.collection(collection).bulkWrite(ops, { ordered: false });
      return { written: docs.length, stale: 0 };
    } catch (err) {
      if (err instanceof MongoBulkWriteError) {
        const errors = (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) as { code?: number }[];
        const other = errors.filter((e) => e.code !== DUPLICATE_KEY);
        if (other.length === 0) return { written: docs.length - errors.length, stale: errors.length };
      }
      throw err;
    }
  }

  async insertIdempotent(collection: string, docs: readonly (Record<string, unknown> & { _id: string })[]): Promise<number> {
    if (docs.length === 0) return 0;
    try {
      const r = await this.db.collection(collection).insertMany(docs.map((d) => ({ ...d })) as never[], { ordered: false });
      return r.insertedCount;
    } catch (err) {
      if (err instanceof MongoBulkWriteError) {
        const errors = (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) as { code?: number }[];
        if (errors.every((e) => e.code === DUPLICATE_KEY)) return docs.length - errors.length;
      }
      throw err;
    }
  }

  async ensureIndexes(collection: string, indexes: readonly { key: Record<string, 1 | -1>; name: string; unique?: boolean }[]): Promise<void> {
    const col = this.db.collection(collection);
    for (const ix of indexes) await col.createIndex(ix.key, { name: ix.name, unique: ix.unique ?? false });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
