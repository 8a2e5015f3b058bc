import { MongoBulkWriteError, MongoClient, type Db } from 'mongodb';
import type { DocStore, InsertResult, UpsertResult, VersionedDoc } from '../ports/ports.js';

const DUPLICATE_KEY = 11000;
const INSERT_CHUNK = 500;

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

  /**
   * One `updateOne` per document, not a bulk write: FerretDB 1.24 hangs on an update command with 100
   * or more statements (docs/stack.md), and these documents are few and large anyway.
   */
  async upsertVersioned(collection: string, docs: readonly VersionedDoc[]): Promise<UpsertResult> {
    const col = this.db.collection(collection);
    let stale = 0;
    for (const d of docs) {
      try {
        // A stored version newer than ours makes the filter miss; the upsert's insert then hits the
        // _id index: that duplicate-key error is how a stale write is refused.
        await col.updateOne({ _id: d._id as never, version: { $lte: d.version } }, { $set: { ...d.fields, version: d.version } }, { upsert: true });
      } catch (err) {
        if ((err as { code?: number }).code !== DUPLICATE_KEY) throw err;
        stale++;
      }
    }
    return { written: docs.length - stale, stale };
  }

  async insertIdempotent(collection: string, docs: readonly (Record<string, unknown> & { _id: string })[]): Promise<InsertResult> {
    const col = this.db.collection(collection);
    let existing = 0;
    for (let i = 0; i < docs.length; i += INSERT_CHUNK) {
      const chunk = docs.slice(i, i + INSERT_CHUNK).map((d) => ({ ...d })) as never[];
      try {
        await col.insertMany(chunk, { ordered: false });
      } catch (err) {
        if (!(err instanceof MongoBulkWriteError)) throw err;
        const errors = (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) as { code?: number }[];
        if (!errors.every((e) => e.code === DUPLICATE_KEY)) throw err;
        existing += errors.length;
      }
    }
    return { inserted: docs.length - existing, existing };
  }

  async deleteIds(collection: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.collection(collection).deleteMany({ _id: { $in: [...ids] as never[] } });
  }

  async ensureIndexes(collection: string, indexes: readonly { key: Record<string, 1 | -1>; name: string; unique?: boolean }[]): Promise<void> {
    const col = this.db.collection(collection);
    for (const ix of indexes) await col.createIndex(ix.key, { name: ix.name, unique: ix.unique ?? false });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
