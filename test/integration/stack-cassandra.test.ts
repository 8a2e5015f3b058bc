import cassandraDriver from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RowBatcher, isBatchTooLarge } from '../../runtime/index.js';
import { stackConfig, uniqueName } from '../support/env.js';

const c = stackConfig();

describe('Cassandra (local stack)', () => {
  const keyspace = uniqueName('adme_test');
  const client = new cassandraDriver.Client({ contactPoints: c.cassandra.contactPoints, localDataCenter: c.cassandra.localDc });

  beforeAll(async () => {
    await client.connect();
    await client.execute(`CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    // The shape of AdME's checkpoint: one partition per Kafka partition, a static epoch and offset,
    // clustered rows holding state chunks.
    await client.execute(`CREATE TABLE ${keyspace}.checkpoints (
      shard int, chunk int, epoch bigint static, next_offset bigint static, data blob,
      PRIMARY KEY (shard, chunk))`);
  });
  afterAll(async () => {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await client.shutdown();
  });

  const write = (epoch: number, expectEpoch: number | null, nextOffset: number, data: string) => {
    const cond = expectEpoch === null ? 'IF NOT EXISTS' : 'IF epoch = ?';
    const head = `INSERT INTO ${keyspace}.checkpoints (shard, epoch, next_offset) VALUES (?, ?, ?) ${cond}`;
    const headUpdate = `UPDATE ${keyspace}.checkpoints SET epoch = ?, next_offset = ? WHERE shard = ? IF epoch = ?`;
    const queries = [
      expectEpoch === null
        ? { query: head, params: [7, epoch, nextOffset] }
        : { query: headUpdate, params: [epoch, nextOffset, 7, expectEpoch] },
      { query: `UPDATE ${keyspace}.checkpoints SET data = ? WHERE shard = ? AND chunk = ?`, params: [Buffer.from(data), 7, 0] },
      { query: `UPDATE ${keyspace}.checkpoints SET data = ? WHERE shard = ? AND chunk = ?`, params: [Buffer.from(data + '!'), 7, 1] },
    ];
    return client.batch(queries, { prepare: true });
  };

  const read = async () => {
    const rs = await client.execute(`SELECT chunk, epoch, next_offset, data FROM ${keyspace}.checkpoints WHERE shard = 7`, [], { prepare: true });
    return rs.rows.map((r) => ({ chunk: r.get('chunk') as number, epoch: Number(r.get('epoch')), next: Number(r.get('next_offset')), data: (r.get('data') as Buffer).toString() }));
  };

  it('a conditional batch inside one partition applies when its condition holds', async () => {
    const first = await write(1, null, 100, 'state-a');
    expect(first.wasApplied()).toBe(true);
    const second = await write(1, 1, 250, 'state-b');
    expect(second.wasApplied()).toBe(true);
    expect(await read()).toEqual([
      { chunk: 0, epoch: 1, next: 250, data: 'state-b' },
      { chunk: 1, epoch: 1, next: 250, data: 'state-b!' },
    ]);
  });

  it('is rejected as a whole when its condition does not hold (a fenced zombie)', async () => {
    // A new owner bumps the epoch to 2 ...
    const bump = await client.execute(`UPDATE ${keyspace}.checkpoints SET epoch = 2 WHERE shard = 7 IF epoch = 1`, [], { prepare: true });
    expect(bump.wasApplied()).toBe(true);
    // ... so the old owner's write, still conditioned on epoch 1, changes nothing.
    const zombie = await write(1, 1, 999, 'zombie');
    expect(zombie.wasApplied()).toBe(false);
    expect(Number(zombie.first().get('epoch'))).toBe(2);
    expect(await read()).toEqual([
      { chunk: 0, epoch: 2, next: 250, data: 'state-b' },
      { chunk: 1, epoch: 2, next: 250, data: 'state-b!' },
    ]);
  });

  it('a batch over the server\'s refusal threshold is split and written whole; the batcher keeps the lower limit', async () => {
    await client.execute(`CREATE TABLE ${keyspace}.blobs (k int PRIMARY KEY, data blob)`);
    // The local stack refuses batches past 4 MiB (stack/cassandra.ts): six rows of 1 MiB in one batch are refused ...
    const rows = Array.from({ length: 6 }, (_, k) => ({ query: `INSERT INTO ${keyspace}.blobs (k, data) VALUES (?, ?)`, params: [k, Buffer.alloc(1 << 20, k)], bytes: 1 << 20 }));
    const refused = await client.batch(rows.map(({ query, params }) => ({ query, params })), { prepare: true, logged: false }).then(() => null, (e: unknown) => e);
    expect(isBatchTooLarge(refused)).toBe(true);
    // ... so the batcher, allowed 8 MiB, splits it until the server takes the halves.
    const batcher = new RowBatcher(client, 8 << 20);
    await batcher.write(rows);
    expect(batcher.maxBytes).toBeLessThan(4 << 20);
    const back = await client.execute(`SELECT k, data FROM ${keyspace}.blobs`, [], { prepare: true });
    expect(back.rows.map((r) => [r.get('k') as number, (r.get('data') as Buffer).length, (r.get('data') as Buffer)[0]]).sort((a, b) => a[0]! - b[0]!))
      .toEqual(rows.map((_, k) => [k, 1 << 20, k]));
  });
});
