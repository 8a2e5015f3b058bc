import cassandraDriver from 'cassandra-driver';
import { Packr } from 'msgpackr';
import { FencedError, RuntimeError } from '../core/errors.js';
import type { Acquired, ArchiveBlock, ArchiveBlockHead, ArchiveStore, CheckpointStore } from '../ports/ports.js';

const { types } = cassandraDriver;
const packr = new Packr({ useRecords: false });

export interface CassandraOptions {
  readonly contactPoints: readonly string[];
  readonly localDataCenter: string;
  readonly keyspace: string;
  /**
   * Replication of the keyspace when this adapter creates it. Default: min(3, nodes of the data centre
   * the driver sees, up or down).
   */
  readonly replicationFactor?: number;
  /**
   * `quorum`: SimpleStrategy, checkpoints at QUORUM and their conditional commit at SERIAL (one data
   * centre). `local_quorum`: NetworkTopologyStrategy with the replicas in `localDataCenter`, at
   * LOCAL_QUORUM / LOCAL_SERIAL, so no request waits on another data centre. Default `local_quorum`.
   */
  readonly consistency?: CheckpointConsistency;
  /** Size of the rows a part is split into. */
  readonly chunkBytes?: number;
  /** Most blob bytes in one unlogged batch ({@link RowBatcher}); default {@link DEFAULT_BATCH_BYTES}. */
  readonly batchBytes?: number;
}

/**
 * Blob bytes per unlogged batch by default: the local stack refuses batches past 4 MiB
 * (stack/cassandra.ts). A cluster with Cassandra's own 50 KiB refusal threshold still works: see
 * {@link RowBatcher}.
 */
export const DEFAULT_BATCH_BYTES = 1024 * 1024;
const MIN_BATCH_BYTES = 16 * 1024;
const BATCH_ROWS = 1000;
const WRITES_IN_FLIGHT = 16;

/** A row to write: its statement, its parameters, and its blob bytes (what a batch's size is counted in). */
interface Row {
  readonly query: string;
  readonly params: unknown[];
  readonly bytes: number;
}

/**
 * Writes rows in unlogged batches of at most `maxBytes` of blobs (and 1000 rows), a few in flight. On
 * this box Cassandra's cost is per request far more than per row or byte: a round's archive blocks as
 * batches of 10 rows cost Cassandra ~2–3 µs per event, as batches of up to 1 MiB ~0.7–1.4 (and the
 * driver on the runtime's main thread half as much; docs/BENCHMARKS.md, issue 11). A batch the server
 * refuses as too large (a cluster keeping Cassandra's default `batch_size_fail_threshold`) is split in
 * two and sent again, and this batcher's limit stays at the half from then on: the rows are
 * idempotent inserts of the same keys and bytes.
 */
export class RowBatcher {
  constructor(private readonly client: cassandraDriver.Client, public maxBytes = DEFAULT_BATCH_BYTES) {}

  async write(rows: readonly Row[]): Promise<void> {
    const jobs: (() => Promise<void>)[] = [];
    for (let i = 0; i < rows.length;) {
      const start = i;
      let bytes = rows[i++]!.bytes;
      while (i < rows.length && i - start < BATCH_ROWS && bytes + rows[i]!.bytes <= this.maxBytes) bytes += rows[i++]!.bytes;
      const batch = rows.slice(start, i);
      jobs.push(() => this.send(batch, bytes));
    }
    await inParallel(jobs, WRITES_IN_FLIGHT);
  }

  private async send(batch: readonly Row[], bytes: number): Promise<void> {
    try {
      if (batch.length === 1) await this.client.execute(batch[0]!.query, batch[0]!.params, { prepare: true });
      else await this.client.batch(batch.map(({ query, params }) => ({ query, params })), { prepare: true, logged: false });
    } catch (err) {
      if (batch.length === 1 || !isBatchTooLarge(err)) throw err;
      this.maxBytes = Math.max(MIN_BATCH_BYTES, Math.min(this.maxBytes, Math.floor(bytes / 2)));
      const half = Math.ceil(batch.length / 2);
      const first = batch.slice(0, half);
      const firstBytes = first.reduce((n, r) => n + r.bytes, 0);
      await this.send(first, firstBytes);
      await this.send(batch.slice(half), bytes - firstBytes);
    }
  }
}

/** Cassandra's refusal of a batch over its `batch_size_fail_threshold` (an Invalid request, "Batch too large"). */
export function isBatchTooLarge(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === types.responseErrorCodes.invalid && typeof e.message === 'string' && /batch too large/i.test(e.message);
}

export type CheckpointConsistency = 'quorum' | 'local_quorum';

const LEVELS = {
  quorum: { write: types.consistencies.quorum, serial: types.consistencies.serial },
  local_quorum: { write: types.consistencies.localQuorum, serial: types.consistencies.localSerial },
} as const;

/**
 * The driver reaches every peer it discovers on one native port (it does not read `system.peers_v2`):
 * when all contact points name the same port, that is the port.
 */
function nativePort(contactPoints: readonly string[]): number | undefined {
  const ports = new Set(contactPoints.map((p) => /:(\d+)$/.exec(p)?.[1]));
  const [only] = ports;
  return ports.size === 1 && only !== undefined ? Number(only) : undefined;
}

export function cassandraClient(o: Pick<CassandraOptions, 'contactPoints' | 'localDataCenter' | 'consistency'>): cassandraDriver.Client {
  const levels = LEVELS[o.consistency ?? 'local_quorum'];
  const port = nativePort(o.contactPoints);
  return new cassandraDriver.Client({
    contactPoints: [...o.contactPoints],
    localDataCenter: o.localDataCenter,
    ...(port === undefined ? {} : { protocolOptions: { port } }),
    socketOptions: { readTimeout: 12_000, connectTimeout: 3000 },
    // The driver's default reconnection waits grow to 10 min: after an outage of a minute a node that is
    // back could stay unused for another minute. Checkpoints wait on it, so try at least every 5 s.
    policies: { reconnection: new cassandraDriver.policies.reconnection.ExponentialReconnectionPolicy(500, 5000, false) },
    queryOptions: { consistency: levels.write, serialConsistency: levels.serial, prepare: true },
  });
}

/**
 * Creates the keyspace when missing: `rf` replicas (default min(3, nodes in the local data centre)),
 * SimpleStrategy for `quorum`, NetworkTopologyStrategy in the local data centre for `local_quorum`.
 */
export async function ensureKeyspace(client: cassandraDriver.Client, keyspace: string, rf?: number, consistency: CheckpointConsistency = 'local_quorum', localDc = 'datacenter1'): Promise<void> {
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace)) throw new RuntimeError('RT_BAD_KEYSPACE', `keyspace "${keyspace}" must match [a-z][a-z0-9_]*`, false);
  if (!/^[A-Za-z0-9_.-]+$/.test(localDc)) throw new RuntimeError('RT_BAD_KEYSPACE', `data centre "${localDc}" must match [A-Za-z0-9_.-]+`, false);
  const factor = rf ?? Math.max(1, Math.min(3, client.hosts.values().filter((h) => h.datacenter === localDc).length));
  const replication = consistency === 'quorum'
    ? `{'class': 'SimpleStrategy', 'replication_factor': ${factor}}`
    : `{'class': 'NetworkTopologyStrategy', '${localDc}': ${factor}}`;
  await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${replication}`);
}

/** Which stored rows make up each part: [epoch, seq, chunks]. */
interface Manifest {
  readonly seq: number;
  readonly parts: Record<string, [number, number, number]>;
}

/**
 * Checkpoints in one Cassandra partition per shard. Part rows are written first, keyed by the writer's
 * epoch and a sequence number, so they are invisible until committed and a zombie's rows can never
 * collide with the new owner's. The commit is ONE conditional write of the shard's static head —
 * `next_offset` and the manifest naming the rows — `IF owner_epoch = ?`: state and offset become
 * visible together or not at all, and a fenced owner's commit is refused. Keeping the conditional
 * write small matters: Paxos writes its payload several times.
 */
export class CassandraCheckpointStore implements CheckpointStore {
  private readonly table: string;
  private readonly chunkBytes: number;
  /** The last committed manifest per shard, as this owner knows it. */
  private readonly manifests = new Map<string, Manifest>();
  /** The last row sequence number used per shard, committed or not. */
  private readonly lastSeq = new Map<string, number>();

  private readonly serial: cassandraDriver.types.consistencies;
  private readonly batcher: RowBatcher;

  private constructor(private readonly client: cassandraDriver.Client, keyspace: string, chunkBytes: number, consistency: CheckpointConsistency, batchBytes: number) {
    this.table = `${keyspace}.checkpoints`;
    this.chunkBytes = chunkBytes;
    this.serial = LEVELS[consistency].serial;
    this.batcher = new RowBatcher(client, batchBytes);
  }

  static async open(o: CassandraOptions): Promise<CassandraCheckpointStore> {
    const client = cassandraClient(o);
    await client.connect();
    await ensureKeyspace(client, o.keyspace, o.replicationFactor, o.consistency, o.localDataCenter);
    await client.execute(`CREATE TABLE IF NOT EXISTS ${o.keyspace}.checkpoints (
      shard text, part text, epoch bigint, seq bigint, chunk int,
      owner_epoch bigint static, next_offset bigint static, manifest blob static, owner text static, saved_at timestamp static,
      data blob,
      PRIMARY KEY (shard, part, epoch, seq, chunk))`);
    return new CassandraCheckpointStore(client, o.keyspace, o.chunkBytes ?? 512 * 1024, o.consistency ?? 'local_quorum', o.batchBytes ?? DEFAULT_BATCH_BYTES);
  }

  async acquire(shard: string, owner: string): Promise<Acquired> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await this.client.execute(`SELECT owner_epoch FROM ${this.table} WHERE shard = ? LIMIT 1`, [shard], { consistency: this.serial });
      const row = cur.first();
      const epoch = row?.get('owner_epoch') == null ? null : Number(row.get('owner_epoch'));
      const next = (epoch ?? 0) + 1;
      // The epoch bump is what fences the previous owner: from here on its commits fail.
      const rs = epoch === null
        ? await this.client.execute(`INSERT INTO ${this.table} (shard, owner_epoch, owner, next_offset) VALUES (?, ?, ?, 0) IF NOT EXISTS`, [shard, types.Long.fromNumber(next), owner])
        : await this.client.execute(`UPDATE ${this.table} SET owner_epoch = ?, owner = ? WHERE shard = ? IF owner_epoch = ?`, [types.Long.fromNumber(next), owner, shard, types.Long.fromNumber(epoch)]);
      if (!rs.wasApplied()) continue; // another owner raced us; read again
      const head = (await this.client.execute(`SELECT owner_epoch, next_offset, manifest FROM ${this.table} WHERE shard = ? LIMIT 1`, [shard], { consistency: this.serial })).first();
      if (!head || Number(head.get('owner_epoch')) !== next) throw new FencedError(shard, next, head ? Number(head.get('owner_epoch')) : undefined);
      const raw = head.get('manifest') as Buffer | null;
      const manifest: Manifest = raw ? (packr.unpack(raw) as Manifest) : { seq: 0, parts: {} };
      const parts = new Map<string, Uint8Array>();
      await Promise.all(Object.entries(manifest.parts).map(async ([part, [e, seq, chunks]]) => {
        const rows = await this.client.execute(`SELECT chunk, data FROM ${this.table} WHERE shard = ? AND part = ? AND epoch = ? AND seq = ?`,
          [shard, part, types.Long.fromNumber(e), types.Long.fromNumber(seq)]);
        const got = rows.rows.map((r) => ({ chunk: r.get('chunk') as number, data: r.get('data') as Buffer })).sort((a, b) => a.chunk - b.chunk);
        if (got.length !== chunks || got.some((g, i) => g.chunk !== i)) {
          throw new RuntimeError('RT_CHECKPOINT_CORRUPT', `${shard}: part ${part} has ${got.length} of ${chunks} chunks`, false);
        }
        parts.set(part, Buffer.concat(got.map((g) => g.data)));
      }));
      this.manifests.set(shard, manifest);
      return { epoch: next, nextOffset: Number(head.get('next_offset') ?? 0), parts };
    }
    throw new RuntimeError('RT_ACQUIRE_CONTENDED', `${shard}: could not take ownership after 20 attempts`, true);
  }

  async save(shard: string, epoch: number, nextOffset: number, parts: ReadonlyMap<string, Uint8Array | null>, beforeCommit?: Promise<unknown>): Promise<{ bytesWritten: number }> {
    const prev = this.manifests.get(shard) ?? { seq: 0, parts: {} };
    // Never reuse the sequence number of a failed save: its commit may have landed with the answer
    // lost, and rewriting rows that a committed manifest names would change a committed state.
    const seq = Math.max(prev.seq, this.lastSeq.get(shard) ?? 0) + 1;
    this.lastSeq.set(shard, seq);
    const manifest: Manifest = { seq, parts: {} };
    const rows: Row[] = [];
    let bytesWritten = 0;
    for (const [part, bytes] of parts) {
      if (bytes === null) {
        const kept = prev.parts[part];
        if (!kept) throw new RuntimeError('RT_CHECKPOINT_PART', `${shard}: part ${part} passed as unchanged but was never saved`, false);
        manifest.parts[part] = kept;
        continue;
      }
      const chunks = Math.max(1, Math.ceil(bytes.byteLength / this.chunkBytes));
      manifest.parts[part] = [epoch, seq, chunks];
      bytesWritten += bytes.byteLength;
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < chunks; i++) {
        const data = buf.subarray(i * this.chunkBytes, (i + 1) * this.chunkBytes);
        rows.push({ query: `INSERT INTO ${this.table} (shard, part, epoch, seq, chunk, data) VALUES (?, ?, ?, ?, ?, ?)`,
          params: [shard, part, types.Long.fromNumber(epoch), types.Long.fromNumber(seq), i, data], bytes: data.byteLength });
      }
    }
    // The rows are invisible until committed: what the commit waits for runs beside them. All are in the
    // shard's one Cassandra partition, so a batch of them is one mutation, one request.
    const writes = this.batcher.write(rows);
    await Promise.all(beforeCommit ? [writes, beforeCommit] : [writes]);
    const rs = await this.client.execute(`UPDATE ${this.table} SET next_offset = ?, manifest = ?, saved_at = ? WHERE shard = ? IF owner_epoch = ?`,
      [types.Long.fromNumber(nextOffset), packr.pack(manifest), new Date(), shard, types.Long.fromNumber(epoch)]);
    if (!rs.wasApplied()) {
      const cur = rs.first()?.get('owner_epoch') as unknown;
      throw new FencedError(shard, epoch, cur == null ? undefined : Number(cur));
    }
    this.manifests.set(shard, manifest);
    // Rows no longer named by the manifest are garbage now; removing them is best effort.
    const stale = Object.entries(prev.parts).filter(([part, [e, s]]) => {
      const now = manifest.parts[part];
      return !now || now[0] !== e || now[1] !== s;
    });
    await this.batcher.write(stale.map(([part, [e, s]]) => ({ query: `DELETE FROM ${this.table} WHERE shard = ? AND part = ? AND epoch = ? AND seq = ?`,
      params: [shard, part, types.Long.fromNumber(e), types.Long.fromNumber(s)], bytes: 0 }))).catch(() => undefined);
    return { bytesWritten };
  }

  async close(): Promise<void> {
    await this.client.shutdown();
  }
}

export interface ArchiveOptions extends CassandraOptions {
  /** Retention of the blocks, seconds (Cassandra's TTL); 0 keeps them forever. */
  readonly ttlSeconds: number;
  /** Create the keyspace and tables when missing (writers do; a reader need not). Default true. */
  readonly create?: boolean;
}

/** How long a bucket's listing outlives the blocks it lists: a block written late in its bucket's life. */
const LISTING_MARGIN_S = 2 * 86_400;

/**
 * Archive blocks in Cassandra (docs/runtime.md, "The raw-event archive"). One Cassandra partition per
 * (area, bucket, partition), clustered by first offset: the blocks a reader of one area and hour wants
 * are a few partitions, each bounded by one log partition's hour. A listing table names, per bucket,
 * the (area, partition) pairs holding blocks, written once per pair by each writer; it expires two
 * days after the blocks so that no block outlives its listing.
 */
export class CassandraArchiveStore implements ArchiveStore {
  private readonly listed = new Set<string>();
  private listedSince = Date.now();

  private readonly batcher: RowBatcher;

  private constructor(private readonly client: cassandraDriver.Client, private readonly keyspace: string, private readonly ttl: number, batchBytes: number) {
    this.batcher = new RowBatcher(client, batchBytes);
  }

  static async open(o: ArchiveOptions): Promise<CassandraArchiveStore> {
    const client = cassandraClient(o);
    await client.connect();
    if (o.create !== false) {
      await ensureKeyspace(client, o.keyspace, o.replicationFactor, o.consistency, o.localDataCenter);
      await client.execute(`CREATE TABLE IF NOT EXISTS ${o.keyspace}.events_archive (
        area text, bucket bigint, kpart int, first_offset bigint,
        end_offset bigint, count int, min_ts bigint, max_ts bigint, data blob,
        PRIMARY KEY ((area, bucket, kpart), first_offset))`);
      await client.execute(`CREATE TABLE IF NOT EXISTS ${o.keyspace}.events_archive_listing (
        bucket bigint, area text, kpart int,
        PRIMARY KEY (bucket, area, kpart))`);
    }
    return new CassandraArchiveStore(client, o.keyspace, o.ttlSeconds, o.batchBytes ?? DEFAULT_BATCH_BYTES);
  }

  async write(blocks: readonly ArchiveBlock[]): Promise<{ bytesWritten: number }> {
    if (Date.now() - this.listedSince > 3_600_000 || this.listed.size > 100_000) {
      this.listed.clear();
      this.listedSince = Date.now();
    }
    const ttl = this.ttl > 0 ? ` USING TTL ${this.ttl}` : '';
    const listingTtl = this.ttl > 0 ? ` USING TTL ${this.ttl + LISTING_MARGIN_S}` : '';
    const rows: Row[] = [];
    const newlyListed = new Set<string>();
    let bytesWritten = 0;
    for (const b of blocks) {
      bytesWritten += b.data.byteLength;
      rows.push({
        query: `INSERT INTO ${this.keyspace}.events_archive (area, bucket, kpart, first_offset, end_offset, count, min_ts, max_ts, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)${ttl}`,
        params: [b.area, types.Long.fromNumber(b.bucket), b.partition, types.Long.fromNumber(b.firstOffset), types.Long.fromNumber(b.endOffset), b.count,
          types.Long.fromNumber(b.minTs), types.Long.fromNumber(b.maxTs), Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)],
        bytes: b.data.byteLength,
      });
      const key = `${b.bucket}/${b.area}/${b.partition}`;
      if (!this.listed.has(key) && !newlyListed.has(key)) {
        newlyListed.add(key);
        rows.push({ query: `INSERT INTO ${this.keyspace}.events_archive_listing (bucket, area, kpart) VALUES (?, ?, ?)${listingTtl}`, params: [types.Long.fromNumber(b.bucket), b.area, b.partition], bytes: 0 });
      }
    }
    // One block per Cassandra partition: the batches span many partitions, which is what makes them
    // cheap here (one request for a round's blocks of many areas).
    await this.batcher.write(rows);
    for (const k of newlyListed) this.listed.add(k);
    return { bytesWritten };
  }

  async list(bucket: number, area?: string): Promise<{ area: string; partition: number }[]> {
    const out: { area: string; partition: number }[] = [];
    const where = area === undefined ? '' : ' AND area = ?';
    const params = area === undefined ? [types.Long.fromNumber(bucket)] : [types.Long.fromNumber(bucket), area];
    let pageState: string | undefined;
    do {
      const rs = await this.client.execute(`SELECT area, kpart FROM ${this.keyspace}.events_archive_listing WHERE bucket = ?${where}`, params, { prepare: true, fetchSize: 5000, pageState });
      for (const r of rs.rows) out.push({ area: r.get('area') as string, partition: r.get('kpart') as number });
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    return out;
  }

  async heads(area: string, bucket: number, partition: number): Promise<ArchiveBlockHead[]> {
    const rows = await this.select('first_offset, end_offset, count, min_ts, max_ts', area, bucket, partition);
    return rows.map((r) => head(r, area, bucket, partition));
  }

  async read(area: string, bucket: number, partition: number, firstOffsets?: readonly number[]): Promise<ArchiveBlock[]> {
    const rows = await this.select('first_offset, end_offset, count, min_ts, max_ts, data', area, bucket, partition, firstOffsets);
    return rows.map((r) => ({ ...head(r, area, bucket, partition), data: r.get('data') as Buffer }));
  }

  private async select(columns: string, area: string, bucket: number, partition: number, firstOffsets?: readonly number[]): Promise<cassandraDriver.types.Row[]> {
    if (firstOffsets && firstOffsets.length === 0) return [];
    const where = firstOffsets ? ` AND first_offset IN (${firstOffsets.map(() => '?').join(', ')})` : '';
    const params: unknown[] = [area, types.Long.fromNumber(bucket), partition, ...(firstOffsets ?? []).map((o) => types.Long.fromNumber(o))];
    const rows: cassandraDriver.types.Row[] = [];
    // Paged: a partition may hold thousands of blocks.
    let pageState: string | undefined;
    do {
      const rs = await this.client.execute(`SELECT ${columns} FROM ${this.keyspace}.events_archive WHERE area = ? AND bucket = ? AND kpart = ?${where}`, params, { prepare: true, fetchSize: 500, pageState });
      for (const r of rs.rows) rows.push(r);
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    return rows;
  }

  async close(): Promise<void> {
    await this.client.shutdown();
  }
}

function head(r: cassandraDriver.types.Row, area: string, bucket: number, partition: number): ArchiveBlockHead {
  return {
    area, bucket, partition, firstOffset: Number(r.get('first_offset')), endOffset: Number(r.get('end_offset')), count: r.get('count') as number,
    minTs: Number(r.get('min_ts')), maxTs: Number(r.get('max_ts')),
  };
}

/** Runs the jobs with at most `limit` in flight; rejects with the first failure (after those in flight settle; no new ones start). */
async function inParallel(jobs: readonly (() => Promise<unknown>)[], limit: number): Promise<void> {
  let next = 0;
  const failed: Error[] = [];
  const lane = async () => {
    while (next < jobs.length && failed.length === 0) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch (err) {
        failed.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
  if (failed.length > 0) throw failed[0]!;
}
