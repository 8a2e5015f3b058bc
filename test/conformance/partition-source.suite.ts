/**
 * The PartitionSource contract (runtime/ports/ports.ts), run against every adapter: the memory one in
 * test/unit/runtime/memory-ports.test.ts, the Kafka consumer group in test/integration/ports-conformance.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchResult, LogRecord, PartitionHandlers, PartitionSource } from '../../runtime/index.js';
import { waitFor } from '../support/env.js';

export interface PartitionSourceFixture {
  /** Appends values to a partition (offsets follow on from the previous append). */
  append(partition: number, values: readonly Buffer[]): Promise<void>;
  /** A new member of the fixture's one consumer group. */
  member(id: string): PartitionSource;
  /** Stops the members still running and removes what the fixture created. */
  dispose(): Promise<void>;
}

export interface PartitionSourceConformanceOptions {
  /** How long to wait for deliveries (a real broker needs seconds per rebalance). */
  readonly timeoutMs: number;
}

const value = (p: number, offset: number) => Buffer.from(`${p}:${offset}`);
const values = (p: number, from: number, n: number) => Array.from({ length: n }, (_, i) => value(p, from + i));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

interface Delivery {
  readonly member: string;
  readonly partition: number;
  readonly offsets: readonly number[];
}

/**
 * Owners as a shard is one: each partition's next offset is shared state (a checkpoint), records below it
 * are skipped, a batch starting past it is answered with a seek back. Every breach of the contract is
 * collected in `violations`.
 */
class Owners {
  readonly positions = new Map<number, number>();
  readonly processed = new Map<number, number[]>();
  readonly deliveries: Delivery[] = [];
  readonly violations: string[] = [];
  readonly assignments = new Map<string, number[][]>();
  private readonly busy = new Map<number, string>();
  private readonly gone = new Set<string>();

  handlers(member: string, source: () => PartitionSource, o: { commitEvery?: number } = {}): PartitionHandlers {
    let batches = 0;
    this.assignments.set(member, []);
    return {
      onAssignment: async (ps) => {
        this.assignments.get(member)!.push([...ps]);
      },
      onRebalancing: async () => undefined,
      onBatch: async (p, records) => {
        const check = this.check(member, p, records);
        if (this.busy.has(p)) this.violations.push(`partition ${p} delivered to ${member} while ${this.busy.get(p)} processes it`);
        this.busy.set(p, member);
        try {
          // Processing takes a moment, so that overlapping deliveries would show.
          await new Promise((r) => setTimeout(r, 2));
          if (!check) return {};
          const pos = this.positions.get(p) ?? 0;
          const fresh = records.filter((r) => r.offset >= pos);
          if (fresh.length === 0 || fresh[0]!.offset > pos) return { nextOffset: pos };
          this.processed.set(p, [...(this.processed.get(p) ?? []), ...fresh.map((r) => r.offset)]);
          const next = fresh[fresh.length - 1]!.offset + 1;
          this.positions.set(p, next);
          if (o.commitEvery && ++batches % o.commitEvery === 0) await source().commitForMonitoring(p, next).catch(() => undefined);
          return { nextOffset: next };
        } finally {
          this.busy.delete(p);
        }
      },
    };
  }

  /** After this, `member` must get no batch. */
  stopped(member: string): void {
    this.gone.add(member);
  }

  current(member: string): number[] {
    return this.assignments.get(member)?.at(-1) ?? [];
  }

  private check(member: string, p: number, records: readonly LogRecord[]): boolean {
    this.deliveries.push({ member, partition: p, offsets: records.map((r) => r.offset) });
    const before = this.violations.length;
    if (this.gone.has(member)) this.violations.push(`${member} got partition ${p} after it stopped`);
    if (!this.current(member).includes(p)) this.violations.push(`${member} got partition ${p}, not in its assignment [${this.current(member).join(',')}]`);
    if (records.length === 0) this.violations.push(`${member} got an empty batch of partition ${p}`);
    records.forEach((r, i) => {
      if (i > 0 && r.offset !== records[i - 1]!.offset + 1) this.violations.push(`partition ${p}: offset ${r.offset} follows ${records[i - 1]!.offset}`);
      if (!r.value.equals(value(p, r.offset))) this.violations.push(`partition ${p}: offset ${r.offset} holds ${r.value.toString()}`);
    });
    return this.violations.length === before;
  }
}

export function partitionSourceConformance(name: string, makeFixture: (partitions: number) => Promise<PartitionSourceFixture>, opts: PartitionSourceConformanceOptions): void {
  describe(`PartitionSource conformance: ${name}`, () => {
    let f: PartitionSourceFixture | undefined;
    const fixture = async (partitions: number) => (f = await makeFixture(partitions));
    afterEach(async () => {
      await f?.dispose();
      f = undefined;
    });
    const wait = (what: string, check: () => boolean) => waitFor(what, check, opts.timeoutMs, 10);

    it('one member gets every partition and every record in order, exactly once, from offset 0; high watermarks count the records', async () => {
      const fx = await fixture(3);
      for (let p = 0; p < 3; p++) await fx.append(p, values(p, 0, 50));
      const owners = new Owners();
      const m = fx.member('m1');
      await m.start(owners.handlers('m1', () => m));
      await wait('the first 50 records of each partition', () => [0, 1, 2].every((p) => (owners.positions.get(p) ?? 0) === 50));
      for (let p = 0; p < 3; p++) await fx.append(p, values(p, 50, 20));
      await wait('all 70 records of each partition', () => [0, 1, 2].every((p) => (owners.positions.get(p) ?? 0) === 70));

      expect(owners.violations).toEqual([]);
      expect(owners.assignments.get('m1')).toEqual([[0, 1, 2]]);
      for (let p = 0; p < 3; p++) {
        expect(owners.processed.get(p)).toEqual(range(0, 70));
        expect(owners.deliveries.find((d) => d.partition === p)!.offsets[0]).toBe(0);
      }
      expect(await m.highWatermarks()).toEqual(new Map([[0, 70], [1, 70], [2, 70]]));
    });

    it('a paused partition gets nothing while the others flow on; resumed, it goes on from where it was', async () => {
      const fx = await fixture(2);
      const owners = new Owners();
      const m = fx.member('m1');
      await m.start(owners.handlers('m1', () => m));
      for (let p = 0; p < 2; p++) await fx.append(p, values(p, 0, 10));
      await wait('the first 10 records of each partition', () => [0, 1].every((p) => (owners.positions.get(p) ?? 0) === 10));
      m.pause(1);
      // A fetch sent before the pause may still bring partition 1: records of partition 0 first, so that
      // fetch is over before partition 1 has any.
      await fx.append(0, values(0, 10, 10));
      await wait('partition 0 to 20', () => owners.positions.get(0) === 20);
      await fx.append(1, values(1, 10, 10));
      await fx.append(0, values(0, 20, 10));
      await wait('partition 0 to 30', () => owners.positions.get(0) === 30);
      await fx.append(0, values(0, 30, 10));
      await wait('partition 0 to 40', () => owners.positions.get(0) === 40);
      expect(owners.positions.get(1)).toBe(10);
      m.resume(1);
      await wait('partition 1 to 20 once resumed', () => owners.positions.get(1) === 20);

      expect(owners.violations).toEqual([]);
      expect(owners.processed.get(0)).toEqual(range(0, 40));
      expect(owners.processed.get(1)).toEqual(range(0, 20));
    });

    it('honours the owner\'s next offset: a seek back inside or below the batch re-delivers from there, a seek ahead skips, "not processed" delivers again', async () => {
      const fx = await fixture(1);
      await fx.append(0, values(0, 0, 40));
      const starts: number[] = [];
      const ends: number[] = [];
      // The answer to each delivery, by its index; after the script, the end of the batch.
      const script: ((batch: readonly LogRecord[]) => BatchResult)[] = [
        () => ({ nextOffset: 10 }),
        () => ({}),
        () => ({ nextOffset: 30 }),
        (b) => ({ nextOffset: b[b.length - 1]!.offset + 1 }),
      ];
      let afterScript: (b: readonly LogRecord[]) => BatchResult = (b) => ({ nextOffset: b[b.length - 1]!.offset + 1 });
      const m = fx.member('m1');
      await m.start({
        onAssignment: async () => undefined,
        onRebalancing: async () => undefined,
        onBatch: async (_p, records) => {
          starts.push(records[0]!.offset);
          ends.push(records[records.length - 1]!.offset);
          const answer = script[starts.length - 1] ?? afterScript;
          return answer(records);
        },
      });
      await wait('the scripted deliveries up to offset 39', () => starts.length >= 4 && ends.at(-1) === 39);
      expect(starts.slice(0, 4)).toEqual([0, 10, 10, 30]);
      const seen = starts.length;
      // The next records: the first batch of them is answered with a seek below everything delivered since.
      let sought = false;
      afterScript = (b) => {
        if (!sought) {
          sought = true;
          return { nextOffset: 5 };
        }
        return { nextOffset: b[b.length - 1]!.offset + 1 };
      };
      await fx.append(0, values(0, 40, 10));
      await wait('re-delivery from 5 up to 49', () => starts.length >= seen + 2 && ends.at(-1) === 49);
      expect(starts.slice(seen, seen + 2)).toEqual([40, 5]);
      // From 5 on, batches follow each other without a gap or an overlap.
      for (let i = seen + 2; i < starts.length; i++) expect(starts[i]).toBe(ends[i - 1]! + 1);
    });

    it('a member taking a partition starts at the committed offset, or at 0 when none; it can seek below it', async () => {
      const fx = await fixture(2);
      await fx.append(0, values(0, 0, 20));
      await fx.append(1, values(1, 0, 20));
      const owners = new Owners();
      const a = fx.member('a');
      await a.start(owners.handlers('a', () => a));
      await wait('a to process all', () => owners.positions.get(0) === 20 && owners.positions.get(1) === 20);
      await a.commitForMonitoring(0, 12);
      await a.stop();
      owners.stopped('a');

      const firsts = new Map<number, number[]>();
      const b = fx.member('b');
      await b.start({
        onAssignment: async () => undefined,
        onRebalancing: async () => undefined,
        onBatch: async (p, records) => {
          const l = firsts.get(p) ?? [];
          firsts.set(p, [...l, records[0]!.offset]);
          // Partition 0: seek below the committed offset once.
          if (p === 0 && l.length === 0) return { nextOffset: 3 };
          return { nextOffset: records[records.length - 1]!.offset + 1 };
        },
      });
      await wait('b to read both partitions to the end', () => (firsts.get(0)?.length ?? 0) >= 2 && (firsts.get(1)?.length ?? 0) >= 1);
      expect(firsts.get(0)!.slice(0, 2)).toEqual([12, 3]);
      expect(firsts.get(1)![0]).toBe(0);
      expect(owners.violations).toEqual([]);
    });

    it('under members joining and leaving, every record is processed in order exactly once, only by its partition\'s owner', async () => {
      const P = 4;
      const fx = await fixture(P);
      const owners = new Owners();
      const appended = new Array<number>(P).fill(0);
      const appendAll = async (n: number) => {
        for (let p = 0; p < P; p++) {
          await fx.append(p, values(p, appended[p]!, n));
          appended[p]! += n;
        }
      };
      const all = (n: number) => range(0, P).every((p) => (owners.positions.get(p) ?? 0) === n);
      const members = new Map<string, PartitionSource>();
      const join = async (id: string) => {
        const m = fx.member(id);
        members.set(id, m);
        await m.start(owners.handlers(id, () => m, { commitEvery: 2 }));
      };

      await appendAll(30);
      await join('m1');
      await join('m2');
      await appendAll(30);
      await wait('60 records per partition', () => all(60));
      await join('m3');
      await appendAll(30);
      await wait('90 records per partition', () => all(90));
      await members.get('m1')!.stop();
      owners.stopped('m1');
      await appendAll(30);
      await wait('120 records per partition', () => all(120));
      // The last assignments of the members still in the group split the partitions between them.
      await wait('m2 and m3 to hold every partition', () => [...owners.current('m2'), ...owners.current('m3')].length === P);

      expect(owners.violations).toEqual([]);
      for (let p = 0; p < P; p++) expect(owners.processed.get(p)).toEqual(range(0, 120));
      expect([...owners.current('m2'), ...owners.current('m3')].sort()).toEqual(range(0, P));
      expect([owners.current('m2').length, owners.current('m3').length]).toEqual([2, 2]);
      expect(owners.assignments.get('m3')!.length).toBeGreaterThanOrEqual(2);
      expect(await members.get('m2')!.highWatermarks()).toEqual(new Map(range(0, P).map((p) => [p, 120])));
    });
  });
}
