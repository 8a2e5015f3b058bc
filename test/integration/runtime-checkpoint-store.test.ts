import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CassandraCheckpointStore, FencedError, cassandraClient } from '../../runtime/index.js';
import { stackConfig, uniqueName } from '../support/env.js';

const stack = stackConfig();

describe('CassandraCheckpointStore against the local Cassandra', () => {
  const keyspace = uniqueName('rt_ckpt_store');
  const open = () => CassandraCheckpointStore.open({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc, keyspace, chunkBytes: 1024 });
  const client = cassandraClient({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc });
  const stores: CassandraCheckpointStore[] = [];
  // Parts over several 1 KiB chunks, and a part of one byte.
  const cells = new Uint8Array(randomBytes(5000));
  const noise = new Uint8Array(randomBytes(3000));
  const storedBytes = async (part: string) => {
    const rs = await client.execute(`SELECT data FROM ${keyspace}.checkpoints WHERE shard = ? AND part = ?`, ['s/0', part], { prepare: true });
    return rs.rows.reduce((a, r) => a + (r.get('data') as Buffer).byteLength, 0);
  };

  beforeAll(async () => {
    await client.connect();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await client.shutdown();
  });

  it('commits parts with the offset; reuses unchanged parts, deletes dropped ones, fences the old owner', async () => {
    const a = await open();
    stores.push(a);
    expect(await a.acquire('s/0', 'a')).toEqual({ epoch: 1, nextOffset: 0, parts: new Map() });
    const first = await a.save('s/0', 1, 10, new Map([['meta', Uint8Array.of(1)], ['w:0', cells], ['c:0:1', noise]]));
    expect(first.bytesWritten).toBe(1 + 5000 + 3000);
    expect([await storedBytes('meta'), await storedBytes('w:0'), await storedBytes('c:0:1')]).toEqual([1, 5000, 3000]);

    const b = await open();
    stores.push(b);
    const got = await b.acquire('s/0', 'b');
    expect(got.epoch).toBe(2);
    expect(got.nextOffset).toBe(10);
    expect(new Map([...got.parts].map(([k, v]) => [k, Buffer.from(v).toString('hex')]))).toEqual(new Map([
      ['meta', '01'], ['w:0', Buffer.from(cells).toString('hex')], ['c:0:1', Buffer.from(noise).toString('hex')],
    ]));
    // The former owner is fenced: nothing it saves becomes visible.
    await expect(a.save('s/0', 1, 99, new Map([['meta', Uint8Array.of(9)]]))).rejects.toBeInstanceOf(FencedError);

    // w:0 unchanged (null), c:0:1 left out: dropped from the manifest and its rows deleted.
    await b.save('s/0', 2, 20, new Map([['meta', Uint8Array.of(2)], ['w:0', null]]));
    expect(await storedBytes('c:0:1')).toBe(0);
    const c = await open();
    stores.push(c);
    const again = await c.acquire('s/0', 'c');
    expect([again.epoch, again.nextOffset, [...again.parts.keys()].sort()]).toEqual([3, 20, ['meta', 'w:0']]);
    expect(Buffer.from(again.parts.get('w:0')!).equals(Buffer.from(cells))).toBe(true);
    expect([...again.parts.get('meta')!]).toEqual([2]);
  });
});
