/**
 * The DocStore contract (runtime/ports/ports.ts), run against every adapter: the memory one in
 * test/unit/runtime/memory-ports.test.ts, MongoDB/FerretDB in test/integration/ports-conformance.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DocStore } from '../../runtime/index.js';

export interface DocStoreFixture {
  readonly store: DocStore;
  /** Every document of `collection`, ordered by `_id`, read past the store under test. */
  read(collection: string): Promise<Record<string, unknown>[]>;
  /** Closes the store and removes what the fixture created. */
  dispose(): Promise<void>;
}

export function docStoreConformance(name: string, makeFixture: () => Promise<DocStoreFixture>): void {
  describe(`DocStore conformance: ${name}`, () => {
    let f: DocStoreFixture;

    beforeEach(async () => {
      f = await makeFixture();
    });
    afterEach(async () => {
      await f.dispose();
    });

    it('a versioned upsert inserts missing documents with their fields and version', async () => {
      expect(await f.store.upsertVersioned('open', [
        { _id: 'a', version: '0001', fields: { n: 1, cells: 'x,y', nested: { k: [1, 2] } } },
        { _id: 'b', version: '0001', fields: { n: 2 } },
      ])).toEqual({ written: 2, stale: 0 });
      expect(await f.read('open')).toEqual([
        { _id: 'a', version: '0001', n: 1, cells: 'x,y', nested: { k: [1, 2] } },
        { _id: 'b', version: '0001', n: 2 },
      ]);
    });

    it('a newer or equal version applies; an older one is refused, counted stale, and leaves the document as it is', async () => {
      await f.store.upsertVersioned('open', [
        { _id: 'a', version: '0005', fields: { n: 5 } },
        { _id: 'b', version: '0005', fields: { n: 5 } },
        { _id: 'c', version: '0005', fields: { n: 5 } },
      ]);
      expect(await f.store.upsertVersioned('open', [
        { _id: 'a', version: '0006', fields: { n: 6 } },
        { _id: 'b', version: '0005', fields: { n: 55 } },
        { _id: 'c', version: '0004', fields: { n: 4 } },
        { _id: 'd', version: '0001', fields: { n: 1 } },
      ])).toEqual({ written: 3, stale: 1 });
      expect(await f.read('open')).toEqual([
        { _id: 'a', version: '0006', n: 6 },
        { _id: 'b', version: '0005', n: 55 },
        { _id: 'c', version: '0005', n: 5 },
        { _id: 'd', version: '0001', n: 1 },
      ]);
    });

    it('versions compare as strings, not numbers: "10" is older than "9"', async () => {
      await f.store.upsertVersioned('open', [{ _id: 'a', version: '9', fields: { n: 9 } }]);
      expect(await f.store.upsertVersioned('open', [{ _id: 'a', version: '10', fields: { n: 10 } }])).toEqual({ written: 0, stale: 1 });
      expect(await f.read('open')).toEqual([{ _id: 'a', version: '9', n: 9 }]);
    });

    it('an upsert sets the fields it names and keeps the others', async () => {
      await f.store.upsertVersioned('open', [{ _id: 'a', version: '1', fields: { n: 1, m: 1 } }]);
      await f.store.upsertVersioned('open', [{ _id: 'a', version: '2', fields: { n: 2 } }]);
      expect(await f.read('open')).toEqual([{ _id: 'a', version: '2', n: 2, m: 1 }]);
    });

    it('inserts are idempotent: ids already present are counted existing and left as they are', async () => {
      expect(await f.store.insertIdempotent('finals', [{ _id: 'w1:p0', n: 1 }, { _id: 'w1:p1', n: 2 }])).toEqual({ inserted: 2, existing: 0 });
      expect(await f.store.insertIdempotent('finals', [{ _id: 'w1:p1', n: 99 }, { _id: 'w2:p0', n: 3 }, { _id: 'w2:p0', n: 98 }])).toEqual({ inserted: 1, existing: 2 });
      expect(await f.read('finals')).toEqual([{ _id: 'w1:p0', n: 1 }, { _id: 'w1:p1', n: 2 }, { _id: 'w2:p0', n: 3 }]);
    });

    it('counts exactly over many documents, some already present', async () => {
      const docs = Array.from({ length: 700 }, (_, i) => ({ _id: `d${String(i).padStart(4, '0')}`, i }));
      expect(await f.store.insertIdempotent('finals', docs.slice(450, 550))).toEqual({ inserted: 100, existing: 0 });
      expect(await f.store.insertIdempotent('finals', docs)).toEqual({ inserted: 600, existing: 100 });
      const stored = await f.read('finals');
      expect(stored.length).toBe(700);
      expect(stored.every((d, i) => d._id === docs[i]!._id && d.i === i)).toBe(true);
    });

    it('deleteIds removes the named documents only, ignores missing ids, and an empty list does nothing', async () => {
      await f.store.insertIdempotent('finals', [{ _id: 'a', n: 1 }, { _id: 'b', n: 2 }, { _id: 'c', n: 3 }]);
      await f.store.insertIdempotent('other', [{ _id: 'a', n: 10 }]);
      await f.store.deleteIds('finals', ['a', 'c', 'zz']);
      await f.store.deleteIds('finals', []);
      expect(await f.read('finals')).toEqual([{ _id: 'b', n: 2 }]);
      expect(await f.read('other')).toEqual([{ _id: 'a', n: 10 }]);
      // A deleted id can be inserted again.
      expect(await f.store.insertIdempotent('finals', [{ _id: 'a', n: 4 }])).toEqual({ inserted: 1, existing: 0 });
    });

    it('empty writes answer zero counts; collections are independent', async () => {
      expect(await f.store.upsertVersioned('open', [])).toEqual({ written: 0, stale: 0 });
      expect(await f.store.insertIdempotent('finals', [])).toEqual({ inserted: 0, existing: 0 });
      await f.store.upsertVersioned('x', [{ _id: 'k', version: '5', fields: { n: 1 } }]);
      expect(await f.store.upsertVersioned('y', [{ _id: 'k', version: '1', fields: { n: 2 } }])).toEqual({ written: 1, stale: 0 });
      expect([await f.read('x'), await f.read('y')]).toEqual([[{ _id: 'k', version: '5', n: 1 }], [{ _id: 'k', version: '1', n: 2 }]]);
    });

    it('ensureIndexes may be repeated; writes behave the same after it', async () => {
      const ix: { key: Record<string, 1 | -1>; name: string }[] = [{ key: { window: 1 }, name: 'window' }, { key: { prefix: 1, window: -1 }, name: 'prefix_window' }];
      await f.store.ensureIndexes('finals', ix);
      await f.store.ensureIndexes('finals', ix);
      expect(await f.store.insertIdempotent('finals', [{ _id: 'a', window: 1, prefix: 'u09' }, { _id: 'b', window: 1, prefix: 'u09' }, { _id: 'a', window: 2, prefix: 'x' }]))
        .toEqual({ inserted: 2, existing: 1 });
      expect(await f.read('finals')).toEqual([{ _id: 'a', window: 1, prefix: 'u09' }, { _id: 'b', window: 1, prefix: 'u09' }]);
    });
  });
}
