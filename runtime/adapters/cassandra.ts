import cassandraDriver from 'cassandra-driver';
import { FencedError, RuntimeError } from '../core/errors.js';
import type { Acquired, CheckpointStore } from '../ports/ports.js';

const { types } = cassandraDriver;

export interface CassandraOptions {
  readonly contactPoints: readonly string[];
  readonly localDataCenter: string;
  readonly keyspace: string;
  /** Replication of the keyspace when this adapter creates it. */
  readonly replicationFactor?: number;
  /** Chunk size of a checkpoint's state; all chunks go in one conditional batch. */
  readonly chunkBytes?: number;
}

export function cassandraClient(o: Pick<CassandraOptions, 'contactPoints' | 'localDataCenter'>): cassandraDriver.Client {
  return new cassandraDriver.Client({
    contactPoints: [...o.contactPoints],
    localDataCenter: o.localDataCenter,
    socketOptions: { readTimeout: 12_000, connectTimeout: 3000 },
    queryOptions: { consistency: types.consistencies.localQuorum, serialConsistency: types.consistencies.localSerial, prepare: true },
  });
}

export async function ensureKeyspace(client: cassandraDriver.Client, keyspace: string, rf = 1): Promise<void> {
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace)) throw new RuntimeError('RT_BAD_KEYSPACE', `keyspace "${keyspace}" must match [a-z][a-z0-9_]*`, false);
  await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': ${rf}}`);
}

/**
 * Checkpoints in one Cassandra partition per shard: static epoch / next_offset / chunk count, and the
 * state split over clustered chunk rows. A save is ONE conditional batch (`IF epoch = ?`) inside that
 * partition: state and offset land together or not at all, and a former owner is fenced.
 */
export class CassandraCheckpointStore implements CheckpointStore {
  private readonly table: string;
  private readonly chunkBytes: number;

  private constructor(private readonly client: cassandraDriver.Client, keyspace: string, chunkBytes: number) {
    this.table = `${keyspace}.shard_checkpoints`;
    this.chunkBytes = chunkBytes;
  }

  static async open(o: CassandraOptions): Promise<CassandraCheckpointStore> {
    const client = cassandraClient(o);
    await client.connect();
    await ensureKeyspace(client, o.keyspace, o.replicationFactor);
    await client.execute(`CREATE TABLE IF NOT EXISTS ${o.keyspace}.shard_checkpoints (
      shard text, chunk int,
      epoch bigint static, next_offset bigint static, chunks int static, owner text static, saved_at timestamp static,
      data blob,
      PRIMARY KEY (shard, chunk))`);
    return new CassandraCheckpointStore(client, o.keyspace, o.chunkBytes ?? 256 * 1024);
  }

  async acquire(shard: string, owner: string): Promise<Acquired> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await this.client.execute(`SELECT epoch FROM ${this.table} WHERE shard = ? LIMIT 1`, [shard],
        { consistency: types.consistencies.localSerial });
      const row = cur.first();
      const epoch = row?.get('epoch') == null ? null : Number(row.get('epoch'));
      const next = (epoch ?? 0) + 1;
      // The epoch bump is what fences the previous owner: from here on its conditional saves fail.
      const rs = epoch === null
        ? await this.client.execute(`INSERT INTO ${this.table} (shard, epoch, owner, next_offset, chunks) VALUES (?, ?, ?, 0, 0) IF NOT EXISTS`,
          [shard, types.Long.fromNumber(next), owner])
        : await this.client.execute(`UPDATE ${this.table} SET epoch = ?, owner = ? WHERE shard = ? IF epoch = ?`,
          [types.Long.fromNumber(next), owner, shard, types.Long.fromNumber(epoch)]);
      if (!rs.wasApplied()) continue; // another owner raced us; read again
      const state = await this.client.execute(`SELECT chunk, epoch, next_offset, chunks, data FROM ${this.table} WHERE shard = ?`, [shard],
        { consistency: types.consistencies.localSerial });
      const first = state.first();
      if (!first || Number(first.get('epoch')) !== next) throw new FencedError(shard, next, first ? Number(first.get('epoch')) : undefined);
      const chunks = Number(first.get('chunks') ?? 0);
      const parts = new Map<number, Buffer>();
      for (const r of state.rows) {
        const c = r.get('chunk') as number | null;
        if (c !== null && c < chunks) parts.set(c, r.get('data') as Buffer);
      }
      let data: Uint8Array | null = null;
      if (chunks > 0) {
        const list: Buffer[] = [];
        for (let i = 0; i < chunks; i++) {
          const p = parts.get(i);
          if (!p) throw new RuntimeError('RT_CHECKPOINT_CORRUPT', `${shard}: checkpoint chunk ${i} of ${chunks} is missing`, false);
          list.push(p);
        }
        data = Buffer.concat(list);
      }
      return { epoch: next, nextOffset: Number(first.get('next_offset') ?? 0), state: data };
    }
    throw new RuntimeError('RT_ACQUIRE_CONTENDED', `${shard}: could not take ownership after 20 attempts`, true);
  }

  async save(shard: string, epoch: number, nextOffset: number, state: Uint8Array): Promise<void> {
    const buf = Buffer.from(state.buffer, state.byteOffset, state.byteLength);
    const chunks = Math.ceil(buf.length / this.chunkBytes);
    const queries: { query: string; params: unknown[] }[] = [{
      query: `UPDATE ${this.table} SET next_offset = ?, chunks = ?, saved_at = ? WHERE shard = ? IF epoch = ?`,
      params: [types.Long.fromNumber(nextOffset), chunks, new Date(), shard, types.Long.fromNumber(epoch)],
    }];
    for (let i = 0; i < chunks; i++) {
      queries.push({
        query: `INSERT INTO ${this.table} (shard, chunk, data) VALUES (?, ?, ?)`,
        params: [shard, i, buf.subarray(i * this.chunkBytes, (i + 1) * this.chunkBytes)],
      });
    }
    const rs = await this.client.batch(queries, { prepare: true, logged: true });
    if (!rs.wasApplied()) {
      const cur = rs.first()?.get('epoch') as unknown;
      throw new FencedError(shard, epoch, cur == null ? undefined : Number(cur));
    }
  }

  async close(): Promise<void> {
    await this.client.shutdown();
  }
}
