import { describe, expect, it } from 'vitest';
import { partitionFor, wireEvent, type AdEvent, type EventBatchRecord, type WireEvent } from '../../../actors/model/index.js';
import { MicroBatcher, type ProduceRecord } from '../../../gateway/batcher.js';
import { decodeMsgpack } from '../../../gateway/ingest.js';

const event = (userId: string, i: number): AdEvent => ({ userId, type: 'impression', ts: 1000 + i, lat: 0, lon: 0, id: `${userId}-${i}` });
const ev = (userId: string, i: number): WireEvent => wireEvent(event(userId, i));

function harness(opts: { flushEvents?: number; maxRecordBytes?: number; lingerMs?: number } = {}) {
  const calls: ProduceRecord[][] = [];
  const gates: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const b = new MicroBatcher({
    send: (records) => {
      calls.push(records);
      return new Promise<void>((resolve, reject) => gates.push({ resolve, reject }));
    },
    partitions: () => 4,
    lingerMs: opts.lingerMs ?? 1,
    flushEvents: opts.flushEvents ?? 1000,
    maxRecordBytes: opts.maxRecordBytes ?? 1_000_000,
    now: () => 42,
  });
  return { b, calls, gates };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
};

describe('MicroBatcher', () => {
  it('coalesces concurrent submits into one produce with one record per partition, in order', async () => {
    const { b, calls, gates } = harness();
    const users = ['a', 'b', 'c', 'd', 'e', 'f'];
    const settled: string[] = [];
    const ps = users.map((u, i) => b.submit([ev(u, i), ev(u, i + 100)]).then(() => settled.push(u)));
    await until(() => calls.length === 1);
    const records = calls[0]!;
    const partitions = records.map((r) => r.partition);
    expect(new Set(partitions).size).toBe(partitions.length); // one record per partition
    for (const r of records) {
      const rec = decodeMsgpack(r.value) as EventBatchRecord;
      expect(rec.v).toBe(1);
      expect(rec.at).toBe(42);
      expect(rec.events.every((e) => partitionFor(e.userId, 4) === r.partition)).toBe(true);
      expect(r.count).toBe(rec.events.length);
      // Submission order kept within the partition.
      const mine = users.flatMap((u, i) => (partitionFor(u, 4) === r.partition ? [event(u, i), event(u, i + 100)] : []));
      expect(rec.events).toEqual(mine);
    }
    expect(settled).toEqual([]); // nothing answered before Kafka acks
    gates[0]!.resolve();
    await Promise.all(ps);
    expect(settled.sort()).toEqual([...users].sort());
  });

  it('keeps one produce in flight; what arrives meanwhile goes in the next', async () => {
    const { b, calls, gates } = harness();
    const first = b.submit([ev('a', 1)]);
    await until(() => calls.length === 1);
    const second = b.submit([ev('a', 2)]);
    const third = b.submit([ev('b', 3)]);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls.length).toBe(1);
    gates[0]!.resolve();
    await first;
    await until(() => calls.length === 2);
    expect(calls[1]!.reduce((n, r) => n + r.count, 0)).toBe(2);
    gates[1]!.resolve();
    await Promise.all([second, third]);
  });

  it('rejects every waiter of a failed produce and still serves later ones', async () => {
    const { b, calls, gates } = harness();
    const a = b.submit([ev('a', 1)]);
    const c = b.submit([ev('c', 1)]);
    await until(() => calls.length === 1);
    gates[0]!.reject(new Error('broker down'));
    await expect(a).rejects.toThrow('broker down');
    await expect(c).rejects.toThrow('broker down');
    const d = b.submit([ev('d', 1)]);
    await until(() => calls.length === 2);
    gates[1]!.resolve();
    await expect(d).resolves.toBeUndefined();
    expect(b.waiting).toBe(0);
  });

  it('flushes at once when flushEvents wait, without the linger', async () => {
    const { b, calls, gates } = harness({ flushEvents: 3, lingerMs: 10_000 });
    const p = b.submit([ev('a', 1), ev('a', 2), ev('a', 3)]);
    await until(() => calls.length === 1);
    gates[0]!.resolve();
    await p;
  });

  it('splits a partition whose record would exceed maxRecordBytes, keeping order', async () => {
    const { b, calls, gates } = harness({ maxRecordBytes: 300 });
    const events = Array.from({ length: 20 }, (_, i) => event('same-user', i));
    const p = b.submit(events.map(wireEvent));
    await until(() => calls.length === 1);
    const records = calls[0]!;
    expect(records.length).toBeGreaterThan(1);
    expect(records.every((r) => r.value.length <= 300)).toBe(true);
    expect(records.flatMap((r) => (decodeMsgpack(r.value) as EventBatchRecord).events)).toEqual(events);
    gates[0]!.resolve();
    await p;
  });
});
