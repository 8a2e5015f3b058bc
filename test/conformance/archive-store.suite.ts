/**
 * The ArchiveStore contract (runtime/ports/ports.ts), run against every adapter: the memory one in
 * test/unit/runtime/memory-ports.test.ts, Cassandra in test/integration/ports-conformance.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveBlock, ArchiveStore } from '../../runtime/index.js';

export interface ArchiveStoreFixture {
  /** A client of the fixture's archive; a second call gives another client of the same data. */
  open(): Promise<ArchiveStore>;
  dispose(): Promise<void>;
}

const H = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % H);

function block(area: string, partition: number, firstOffset: number, data: number[], bucket = T0): ArchiveBlock {
  return { area, bucket, partition, firstOffset, endOffset: firstOffset + 10, count: data.length, minTs: bucket + firstOffset, maxTs: bucket + firstOffset + 9, data: Uint8Array.from(data) };
}

const bytesOf = (bs: readonly ArchiveBlock[]) => bs.map((b) => [b.firstOffset, [...b.data]]);

export function archiveStoreConformance(name: string, makeFixture: () => Promise<ArchiveStoreFixture>): void {
  describe(`ArchiveStore conformance: ${name}`, () => {
    let f: ArchiveStoreFixture;
    let store: ArchiveStore;

    beforeEach(async () => {
      f = await makeFixture();
      store = await f.open();
    });
    afterEach(async () => {
      await f.dispose();
    });

    it('blocks come back by first offset, with their heads and data; the listing names each (area, partition) of a bucket once', async () => {
      await store.write([block('u09t', 2, 40, [4, 4]), block('u09t', 2, 10, [1]), block('u09t', 5, 10, [5]), block('xn76', 2, 10, [7])]);
      await store.write([block('u09t', 2, 20, [2, 2, 2])]);
      expect(bytesOf(await store.read('u09t', T0, 2))).toEqual([[10, [1]], [20, [2, 2, 2]], [40, [4, 4]]]);
      expect(await store.heads('u09t', T0, 2)).toEqual([10, 20, 40].map((o, i) => ({
        area: 'u09t', bucket: T0, partition: 2, firstOffset: o, endOffset: o + 10, count: [1, 3, 2][i], minTs: T0 + o, maxTs: T0 + o + 9,
      })));
      expect(await store.list(T0)).toEqual([{ area: 'u09t', partition: 2 }, { area: 'u09t', partition: 5 }, { area: 'xn76', partition: 2 }]);
      expect(await store.list(T0, 'u09t')).toEqual([{ area: 'u09t', partition: 2 }, { area: 'u09t', partition: 5 }]);
      expect(await store.list(T0 + H)).toEqual([]);
      expect(await store.read('u09t', T0 + H, 2)).toEqual([]);
    });

    it('reads the blocks asked for by first offset only', async () => {
      await store.write([block('u09t', 1, 10, [1]), block('u09t', 1, 20, [2]), block('u09t', 1, 30, [3])]);
      expect(bytesOf(await store.read('u09t', T0, 1, [30, 10]))).toEqual([[10, [1]], [30, [3]]]);
      expect(await store.read('u09t', T0, 1, [])).toEqual([]);
      expect(await store.read('u09t', T0, 1, [15])).toEqual([]);
    });

    it('writing a key again replaces the block: a replay of a round overwrites, it does not add', async () => {
      await store.write([block('u09t', 1, 10, [1, 1])]);
      const again = { ...block('u09t', 1, 10, [9, 9, 9]), endOffset: 30 };
      await store.write([again]);
      const got = await store.read('u09t', T0, 1);
      expect(bytesOf(got)).toEqual([[10, [9, 9, 9]]]);
      expect(got[0]!.endOffset).toBe(30);
      expect(await store.list(T0)).toEqual([{ area: 'u09t', partition: 1 }]);
    });

    it('another client sees what one wrote, in every bucket', async () => {
      await store.write([block('u09t', 0, 0, [1]), block('u09t', 0, 0, [2], T0 + H)]);
      const other = await f.open();
      expect(bytesOf(await other.read('u09t', T0 + H, 0))).toEqual([[0, [2]]]);
      expect(await other.list(T0 + H)).toEqual([{ area: 'u09t', partition: 0 }]);
    });

    it('a block of a few hundred KiB round-trips byte for byte', async () => {
      const big = Array.from({ length: 300_000 }, (_, i) => (i * 31) & 0xff);
      await store.write([block('u09t', 3, 0, big)]);
      const [got] = await store.read('u09t', T0, 3);
      expect(got!.data.byteLength).toBe(big.length);
      expect(Buffer.compare(Buffer.from(got!.data), Buffer.from(big))).toBe(0);
    });
  });
}
