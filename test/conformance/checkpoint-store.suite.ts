/**
 * The CheckpointStore contract (runtime/ports/ports.ts), run against every adapter: the memory one in
 * test/unit/runtime/memory-ports.test.ts, Cassandra in test/integration/ports-conformance.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FencedError, RuntimeError, type Acquired, type CheckpointStore } from '../../runtime/index.js';

export interface CheckpointStoreFixture {
  /** A new client of the same store (each call stands for another process). */
  open(): Promise<CheckpointStore>;
  /** Closes the clients and removes what the fixture created. */
  dispose(): Promise<void>;
}

const hex = (a: Acquired) => ({
  epoch: a.epoch,
  nextOffset: a.nextOffset,
  parts: Object.fromEntries([...a.parts].sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => [k, Buffer.from(v).toString('hex')])),
});
const h = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function checkpointStoreConformance(name: string, makeFixture: () => Promise<CheckpointStoreFixture>): void {
  describe(`CheckpointStore conformance: ${name}`, () => {
    let f: CheckpointStoreFixture;
    // Parts over several chunks of the real store's smallest row size, a part of one byte, an empty one.
    const big = new Uint8Array(randomBytes(5000));
    const other = new Uint8Array(randomBytes(3000));

    beforeEach(async () => {
      f = await makeFixture();
    });
    afterEach(async () => {
      await f.dispose();
    });

    it('a shard never checkpointed is acquired at epoch 1, offset 0, no parts; every acquire bumps the epoch', async () => {
      const a = await f.open();
      expect(hex(await a.acquire('s/0', 'a'))).toEqual({ epoch: 1, nextOffset: 0, parts: {} });
      expect((await a.acquire('s/0', 'a')).epoch).toBe(2);
      const b = await f.open();
      expect(hex(await b.acquire('s/0', 'b'))).toEqual({ epoch: 3, nextOffset: 0, parts: {} });
      // Shards are independent.
      expect(hex(await b.acquire('s/1', 'b'))).toEqual({ epoch: 1, nextOffset: 0, parts: {} });
    });

    it('acquire returns exactly what was committed: offset and every part, byte for byte', async () => {
      const a = await f.open();
      const { epoch } = await a.acquire('s/0', 'a');
      const saved = await a.save('s/0', epoch, 10, new Map([['meta', Uint8Array.of(1)], ['w:0', big], ['c:0:1', other], ['empty', new Uint8Array(0)]]));
      expect(saved.bytesWritten).toBe(1 + 5000 + 3000);
      const b = await f.open();
      expect(hex(await b.acquire('s/0', 'b'))).toEqual({ epoch: 2, nextOffset: 10, parts: { 'c:0:1': h(other), empty: '', meta: '01', 'w:0': h(big) } });
    });

    it('a save commits only after what it was given to wait for, and commits nothing if that fails', async () => {
      const a = await f.open();
      const { epoch } = await a.acquire('s/0', 'a');
      let release: () => void = () => undefined;
      const archived = new Promise<void>((r) => (release = r));
      let done = false;
      const saving = a.save('s/0', epoch, 5, new Map([['meta', Uint8Array.of(5)]]), archived).then(() => (done = true));
      await new Promise((r) => setTimeout(r, 200));
      expect(done).toBe(false);
      release();
      await saving;
      const refused = new RuntimeError('RT_ARCHIVE', 'archive write failed', true);
      await expect(a.save('s/0', epoch, 9, new Map([['meta', Uint8Array.of(9)]]), Promise.reject(refused))).rejects.toBe(refused);
      const b = await f.open();
      expect(hex(await b.acquire('s/0', 'b'))).toEqual({ epoch: 2, nextOffset: 5, parts: { meta: '05' } });
    });

    it('the bytes are copied: changing a saved buffer afterwards changes nothing committed', async () => {
      const a = await f.open();
      const { epoch } = await a.acquire('s/0', 'a');
      const meta = Uint8Array.of(1, 2, 3);
      await a.save('s/0', epoch, 3, new Map([['meta', meta]]));
      meta[0] = 9;
      expect(hex(await (await f.open()).acquire('s/0', 'b')).parts).toEqual({ meta: '010203' });
    });

    it('a part passed as null is kept as last saved; a part left out is dropped; only new bytes count', async () => {
      const a = await f.open();
      const { epoch } = await a.acquire('s/0', 'a');
      await a.save('s/0', epoch, 10, new Map([['meta', Uint8Array.of(1)], ['w:0', big], ['c:0:1', other]]));
      const second = await a.save('s/0', epoch, 20, new Map([['meta', Uint8Array.of(2)], ['w:0', null]]));
      expect(second.bytesWritten).toBe(1);
      // Unchanged again, over a save that itself kept it.
      const third = await a.save('s/0', epoch, 30, new Map([['meta', Uint8Array.of(3)], ['w:0', null], ['c:0:2', Uint8Array.of(7, 7)]]));
      expect(third.bytesWritten).toBe(3);
      const b = await f.open();
      expect(hex(await b.acquire('s/0', 'b'))).toEqual({ epoch: 2, nextOffset: 30, parts: { 'c:0:2': '0707', meta: '03', 'w:0': h(big) } });
    });

    it('a new owner may pass as null the parts it restored', async () => {
      const a = await f.open();
      await a.save('s/0', (await a.acquire('s/0', 'a')).epoch, 10, new Map([['meta', Uint8Array.of(1)], ['w:0', big]]));
      const b = await f.open();
      const got = await b.acquire('s/0', 'b');
      expect((await b.save('s/0', got.epoch, 11, new Map([['meta', Uint8Array.of(2)], ['w:0', null]]))).bytesWritten).toBe(1);
      expect(hex(await (await f.open()).acquire('s/0', 'c'))).toEqual({ epoch: 3, nextOffset: 11, parts: { meta: '02', 'w:0': h(big) } });
    });

    it('a part passed as null that this owner never saved is refused (RT_CHECKPOINT_PART) and nothing changes', async () => {
      const a = await f.open();
      const { epoch } = await a.acquire('s/0', 'a');
      await a.save('s/0', epoch, 5, new Map([['meta', Uint8Array.of(1)]]));
      const err = await a.save('s/0', epoch, 6, new Map([['meta', Uint8Array.of(2)], ['w:9', null]])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RuntimeError);
      expect([(err as RuntimeError).code, (err as RuntimeError).retriable]).toEqual(['RT_CHECKPOINT_PART', false]);
      expect(hex(await (await f.open()).acquire('s/0', 'b'))).toEqual({ epoch: 2, nextOffset: 5, parts: { meta: '01' } });
    });

    it('fences a zombie: its save after a newer acquire throws FencedError and changes nothing', async () => {
      const a = await f.open();
      const { epoch } = await a.acquire('s/0', 'a');
      await a.save('s/0', epoch, 10, new Map([['meta', Uint8Array.of(1)], ['w:0', big]]));
      const b = await f.open();
      const taken = await b.acquire('s/0', 'b');
      expect(taken.epoch).toBe(2);

      const err = await a.save('s/0', epoch, 99, new Map([['meta', Uint8Array.of(9)], ['w:0', null], ['x', Uint8Array.of(9)]])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FencedError);
      expect([(err as FencedError).code, (err as FencedError).ownEpoch, (err as FencedError).currentEpoch, (err as FencedError).retriable]).toEqual(['RT_FENCED', 1, 2, false]);

      // The new owner's saves work; the zombie stays fenced after them.
      await b.save('s/0', taken.epoch, 20, new Map([['meta', Uint8Array.of(2)], ['w:0', null]]));
      await expect(a.save('s/0', epoch, 30, new Map([['meta', Uint8Array.of(3)]]))).rejects.toBeInstanceOf(FencedError);
      expect(hex(await (await f.open()).acquire('s/0', 'c'))).toEqual({ epoch: 3, nextOffset: 20, parts: { meta: '02', 'w:0': h(big) } });
    });

    it('a save with an epoch never acquired is fenced', async () => {
      const a = await f.open();
      const err = await a.save('s/7', 1, 5, new Map([['meta', Uint8Array.of(1)]])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FencedError);
      expect((err as FencedError).currentEpoch).toBeUndefined();
      const { epoch } = await a.acquire('s/7', 'a');
      await expect(a.save('s/7', epoch + 1, 5, new Map([['meta', Uint8Array.of(1)]]))).rejects.toBeInstanceOf(FencedError);
      expect(hex(await a.acquire('s/7', 'a'))).toEqual({ epoch: 2, nextOffset: 0, parts: {} });
    });

    it('many rounds: every acquire sees the last commit, never a mix of two', async () => {
      const a = await f.open();
      const { epoch } = await a.acquire('s/0', 'a');
      for (let round = 1; round <= 5; round++) {
        const parts = new Map<string, Uint8Array | null>([['meta', Uint8Array.of(round)], ['w:0', round === 1 ? big : null]]);
        if (round % 2 === 0) parts.set(`c:0:${round}`, Uint8Array.of(round, round));
        await a.save('s/0', epoch, round * 100, parts);
      }
      const b = await f.open();
      expect(hex(await b.acquire('s/0', 'b'))).toEqual({ epoch: 2, nextOffset: 500, parts: { meta: '05', 'w:0': h(big) } });
    });
  });
}
