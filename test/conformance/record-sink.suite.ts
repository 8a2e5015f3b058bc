/**
 * The RecordSink contract (runtime/ports/ports.ts), run against every adapter: the memory one in
 * test/unit/runtime/memory-ports.test.ts, Kafka in test/integration/ports-conformance.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordSink } from '../../runtime/index.js';

export interface RecordSinkFixture {
  readonly sink: RecordSink;
  /** A new topic of its own with `partitions` partitions. */
  createTopic(partitions: number): Promise<string>;
  /** Every record of `topic`, by partition, in log order, read past the sink under test. */
  read(topic: string): Promise<Map<number, Buffer[]>>;
  /** Closes the sink and removes what the fixture created. */
  dispose(): Promise<void>;
}

export interface RecordSinkConformanceOptions {
  /**
   * `sends`: records of one partition land in the order of the sends. `within-send`: only the records of
   * one send keep their order; overlapping sends may land in any order (the Kafka view stream, two
   * requests in flight).
   */
  readonly order: 'sends' | 'within-send';
}

const texts = (m: Map<number, Buffer[]>) => new Map([...m].map(([p, vs]) => [p, vs.map((v) => v.toString())]));

export function recordSinkConformance(name: string, makeFixture: () => Promise<RecordSinkFixture>, opts: RecordSinkConformanceOptions = { order: 'sends' }): void {
  describe(`RecordSink conformance: ${name}`, () => {
    let f: RecordSinkFixture;

    beforeEach(async () => {
      f = await makeFixture();
    });
    afterEach(async () => {
      await f.dispose();
    });

    it(`records land in their partition exactly once, in order (${opts.order}), also when sends overlap`, async () => {
      const topic = await f.createTopic(3);
      const sends: Promise<void>[] = [];
      // Thirty sends without waiting in between, each to several partitions.
      for (let i = 0; i < 30; i++) {
        sends.push(f.sink.send(topic, [
          { partition: i % 3, value: Buffer.from(`a${i}`) },
          { partition: (i + 1) % 3, value: Buffer.from(`b${i}`) },
          { partition: i % 3, value: Buffer.from(`c${i}`) },
        ]));
      }
      await Promise.all(sends);
      const expected = new Map<number, string[]>();
      for (let p = 0; p < 3; p++) expected.set(p, []);
      for (let i = 0; i < 30; i++) {
        const recs = [{ p: i % 3, v: `a${i}` }, { p: (i + 1) % 3, v: `b${i}` }, { p: i % 3, v: `c${i}` }];
        for (const r of recs) expected.get(r.p)!.push(r.v);
      }
      expect([...expected.values()].map((v) => v.length)).toEqual([30, 30, 30]);
      const got = texts(await f.read(topic));
      if (opts.order === 'sends') {
        expect(got).toEqual(expected);
      } else {
        expect(new Map([...got].map(([p, vs]) => [p, [...vs].sort()]))).toEqual(new Map([...expected].map(([p, vs]) => [p, [...vs].sort()])));
        // a<i> and c<i> went in one send to one partition: a<i> lands first.
        for (const vs of got.values()) for (const v of vs.filter((x) => x.startsWith('a'))) expect(vs.indexOf(v)).toBeLessThan(vs.indexOf(`c${v.slice(1)}`));
      }
    });

    it('bytes arrive as sent, including an empty value; an empty send writes nothing', async () => {
      const topic = await f.createTopic(2);
      const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await f.sink.send(topic, []);
      await f.sink.send(topic, [{ partition: 1, value: bin }, { partition: 1, value: Buffer.alloc(0) }, { partition: 0, value: Buffer.from('x') }]);
      const got = await f.read(topic);
      expect([...got.keys()].sort()).toEqual([0, 1]);
      expect(got.get(0)!.map((b) => b.toString('hex'))).toEqual(['78']);
      expect(got.get(1)!.map((b) => b.toString('hex'))).toEqual([bin.toString('hex'), '']);
    });

    it('sends of more bytes to one partition than a broker takes in one batch (1 MiB) land whole, in order', async () => {
      const topic = await f.createTopic(2);
      // As a restored shard's first deltas: 2.1 MB over seven records of one partition, in one send,
      // while a second send to both partitions queues behind it.
      const big = Array.from({ length: 7 }, (_, i) => Buffer.alloc(300_000, 65 + i));
      await Promise.all([
        f.sink.send(topic, big.map((value) => ({ partition: 0, value }))),
        f.sink.send(topic, [{ partition: 0, value: Buffer.from('after') }, { partition: 1, value: Buffer.alloc(900_000, 90) }]),
      ]);
      const got = await f.read(topic);
      const p0 = got.get(0)!;
      const after = p0.findIndex((b) => b.toString() === 'after');
      expect(after).toBeGreaterThanOrEqual(0);
      if (opts.order === 'sends') expect(after).toBe(7);
      const bigs = p0.filter((_, i) => i !== after);
      expect(bigs.map((b) => [b.byteLength, b[0]])).toEqual(big.map((b) => [b.byteLength, b[0]]));
      expect(bigs.every((b, i) => b.equals(big[i]!))).toBe(true);
      expect(got.get(1)!.map((b) => b.byteLength)).toEqual([900_000]);
    });

    it('sends to two topics stay apart', async () => {
      const t1 = await f.createTopic(1);
      const t2 = await f.createTopic(1);
      await Promise.all([
        f.sink.send(t1, [{ partition: 0, value: Buffer.from('1a') }]),
        f.sink.send(t2, [{ partition: 0, value: Buffer.from('2a') }]),
        f.sink.send(t1, [{ partition: 0, value: Buffer.from('1b') }]),
      ]);
      expect(texts(await f.read(t1))).toEqual(new Map([[0, ['1a', '1b']]]));
      expect(texts(await f.read(t2))).toEqual(new Map([[0, ['2a']]]));
    });
  });
}
