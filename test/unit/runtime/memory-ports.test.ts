import { describe, expect, it } from 'vitest';
import {
  FencedError, ManualClock, MemoryArchiveStore, MemoryCheckpointStore, MemoryDocStore, MemoryLog, MemoryRecordSink, RuntimeError,
  type BatchResult, type LogRecord, type PartitionHandlers, type PartitionSource,
} from '../../../runtime/index.js';
import { archiveStoreConformance } from '../../conformance/archive-store.suite.js';
import { checkpointStoreConformance } from '../../conformance/checkpoint-store.suite.js';
import { docStoreConformance } from '../../conformance/doc-store.suite.js';
import { partitionSourceConformance } from '../../conformance/partition-source.suite.js';
import { recordSinkConformance } from '../../conformance/record-sink.suite.js';

// The same suites the real adapters pass (test/integration/ports-conformance.test.ts).
checkpointStoreConformance('memory', async () => {
  const store = new MemoryCheckpointStore();
  return { open: async () => store.connect(), dispose: async () => undefined };
});

archiveStoreConformance('memory', async () => {
  const store = new MemoryArchiveStore();
  return { open: async () => store.connect(), dispose: async () => undefined };
});

docStoreConformance('memory', async () => {
  const store = new MemoryDocStore();
  return { store, read: async (c) => store.documents(c), dispose: () => store.close() };
});

recordSinkConformance('memory', async () => {
  const sink = new MemoryRecordSink();
  let n = 0;
  return {
    sink,
    createTopic: async (partitions) => {
      const topic = `t${n++}`;
      sink.addTopic(topic, partitions);
      return topic;
    },
    read: async (topic) => new Map(Array.from({ length: sink.log(topic).partitions }, (_, p) => [p, sink.values(topic, p)])),
    dispose: () => sink.close(),
  };
});

partitionSourceConformance('memory', async (partitions) => {
  // Small batches, so that records of one append arrive in several.
  const log = new MemoryLog({ partitions, maxBatchRecords: 16 });
  const members: PartitionSource[] = [];
  return {
    append: async (p, values) => {
      log.append(p, values);
    },
    member: (id) => {
      const m = log.source(id);
      members.push(m);
      return m;
    },
    dispose: async () => {
      await Promise.all(members.map((m) => m.stop()));
      expect(log.handlerErrors).toEqual([]);
    },
  };
}, { timeoutMs: 5000 });

/** Lets every pending promise continuation run (no timer involved). */
const settle = () => new Promise<void>((r) => setImmediate(r));
const codeOf = (err: unknown) => (err instanceof RuntimeError ? [err.code, err.retriable] : ['not a RuntimeError', String(err)]);

describe('memory adapters: fault hooks', () => {
  it('failNext fails the next operations before they take effect, retriable or not', async () => {
    const store = new MemoryCheckpointStore();
    const { epoch } = await store.acquire('s', 'a');
    store.failNext(1, false);
    store.failNext(1);
    expect(codeOf(await store.save('s', epoch, 5, new Map([['m', Uint8Array.of(1)]])).catch((e: unknown) => e))).toEqual(['RT_INJECTED_FAILURE', false]);
    expect(codeOf(await store.save('s', epoch, 6, new Map([['m', Uint8Array.of(2)]])).catch((e: unknown) => e))).toEqual(['RT_INJECTED_FAILURE', true]);
    expect(store.committed('s')!.nextOffset).toBe(0);
    await store.save('s', epoch, 7, new Map([['m', Uint8Array.of(3)]]));
    expect(store.committed('s')).toEqual({ epoch: 1, owner: 'a', nextOffset: 7, parts: new Map([['m', Buffer.of(3)]]) });
  });

  it('a lost answer: the save is committed, the owner sees an error and keeps building on what it knew before', async () => {
    const store = new MemoryCheckpointStore();
    const { epoch } = await store.acquire('s', 'a');
    await store.save('s', epoch, 1, new Map([['w', Uint8Array.of(1)]]));
    store.loseNextAnswers(1);
    expect(codeOf(await store.save('s', epoch, 2, new Map([['w', Uint8Array.of(2)]])).catch((e: unknown) => e))).toEqual(['RT_INJECTED_LOST_ANSWER', true]);
    expect(store.committed('s')!.parts.get('w')).toEqual(Buffer.of(2));
    // As with Cassandra, `null` refers to the last save this owner saw succeed.
    await store.save('s', epoch, 3, new Map([['w', null]]));
    expect(store.committed('s')).toEqual({ epoch: 1, owner: 'a', nextOffset: 3, parts: new Map([['w', Buffer.of(1)]]) });
  });

  it('pause holds a save; a newer owner acquires meanwhile; on resume the held save is fenced and changes nothing', async () => {
    const zombie = new MemoryCheckpointStore();
    const owner = zombie.connect();
    const { epoch } = await zombie.acquire('s', 'zombie');
    await zombie.save('s', epoch, 10, new Map([['w', Uint8Array.of(1)]]));
    zombie.pause();
    let outcome: unknown = 'pending';
    void zombie.save('s', epoch, 20, new Map([['w', Uint8Array.of(2)]])).then(() => (outcome = 'saved'), (e: unknown) => (outcome = e));
    await settle();
    expect([zombie.waiting, outcome]).toEqual([1, 'pending']);
    expect((await owner.acquire('s', 'owner')).epoch).toBe(2);
    zombie.resume();
    await settle();
    expect(outcome).toBeInstanceOf(FencedError);
    expect(zombie.waiting).toBe(0);
    expect(owner.committed('s')).toEqual({ epoch: 2, owner: 'owner', nextOffset: 10, parts: new Map([['w', Buffer.of(1)]]) });
  });

  it('close refuses later operations', async () => {
    const docs = new MemoryDocStore();
    await docs.close();
    expect(codeOf(await docs.insertIdempotent('c', [{ _id: 'a' }]).catch((e: unknown) => e))).toEqual(['RT_CLOSED', false]);
  });

  it('a doc store failure writes nothing; hooks work on the sink too', async () => {
    const docs = new MemoryDocStore();
    docs.failNext(1);
    await expect(docs.upsertVersioned('c', [{ _id: 'a', version: '1', fields: { n: 1 } }])).rejects.toThrow('injected');
    expect(docs.documents('c')).toEqual([]);
    const sink = new MemoryRecordSink({ deltas: 2 });
    sink.pause();
    const sent = sink.send('deltas', [{ partition: 1, value: Buffer.from('x') }]);
    await settle();
    expect([sink.waiting, sink.values('deltas', 1)]).toEqual([1, []]);
    sink.resume();
    await sent;
    expect(sink.values('deltas', 1)).toEqual([Buffer.from('x')]);
  });

  it('the sink refuses an unknown topic or partition, and a refused send appends nothing', async () => {
    const sink = new MemoryRecordSink({ deltas: 2 });
    expect(codeOf(await sink.send('nope', [{ partition: 0, value: Buffer.from('x') }]).catch((e: unknown) => e))).toEqual(['RT_UNKNOWN_TOPIC', false]);
    expect(codeOf(await sink.send('deltas', [{ partition: 0, value: Buffer.from('x') }, { partition: 2, value: Buffer.from('y') }]).catch((e: unknown) => e)))
      .toEqual(['RT_BAD_PARTITION', false]);
    expect(sink.values('deltas', 0)).toEqual([]);
  });

  it('ensureIndexes records index names only', async () => {
    const docs = new MemoryDocStore();
    await docs.ensureIndexes('c', [{ key: { w: 1 }, name: 'w' }, { key: { p: 1, w: 1 }, name: 'p_w', unique: true }]);
    expect(docs.indexNames('c')).toEqual(['p_w', 'w']);
  });
});

/** Handlers whose answers the test gives by hand. */
function manual() {
  const batches: { partition: number; offsets: number[]; answer: (r: BatchResult) => void }[] = [];
  const assignments: number[][] = [];
  let rebalancings = 0;
  const handlers: PartitionHandlers = {
    onAssignment: async (ps) => {
      assignments.push([...ps]);
    },
    onRebalancing: async () => {
      rebalancings++;
    },
    onBatch: (partition: number, records: readonly LogRecord[]) => new Promise<BatchResult>((answer) => {
      batches.push({ partition, offsets: records.map((r) => r.offset), answer });
    }),
  };
  return { handlers, batches, assignments, rebalancings: () => rebalancings };
}

describe('MemoryLog with a manual clock', () => {
  const vals = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(String(i)));

  it('backpressure: a partition gets its next batch only after the previous one was answered', async () => {
    const log = new MemoryLog({ partitions: 1, maxBatchRecords: 4 });
    const h = manual();
    await log.source('a').start(h.handlers);
    log.append(0, vals(6));
    await settle();
    log.append(0, vals(3));
    await settle();
    expect(h.batches.map((b) => b.offsets)).toEqual([[0, 1, 2, 3]]);
    h.batches[0]!.answer({ nextOffset: 4 });
    await settle();
    expect(h.batches.map((b) => b.offsets)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
  });

  it('"not processed" is delivered again only after redeliverMs on the injected clock', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog({ partitions: 1, clock, redeliverMs: 50 });
    const h = manual();
    await log.source('a').start(h.handlers);
    log.append(0, vals(2));
    await settle();
    h.batches[0]!.answer({});
    await settle();
    clock.advance(49);
    await settle();
    expect(h.batches.length).toBe(1);
    clock.advance(1);
    await settle();
    expect(h.batches.map((b) => b.offsets)).toEqual([[0, 1], [0, 1]]);
  });

  it('a rebalance waits for the batch in flight, then every member gets its assignment and fetches from the committed offset', async () => {
    const log = new MemoryLog({ partitions: 2 });
    const a = manual();
    const b = manual();
    const sa = log.source('a');
    await sa.start(a.handlers);
    expect(a.assignments).toEqual([[0, 1]]);
    log.append(0, vals(5));
    log.append(1, vals(5));
    await settle();
    a.batches.find((x) => x.partition === 1)!.answer({ nextOffset: 5 });
    await sa.commitForMonitoring(0, 2);
    let joined = false;
    void log.source('b').start(b.handlers).then(() => (joined = true));
    await settle();
    // Partition 0's batch is still being processed: the join waits for it.
    expect([joined, a.rebalancings(), b.assignments]).toEqual([false, 1, []]);
    a.batches.find((x) => x.partition === 0)!.answer({ nextOffset: 5 });
    await settle();
    expect([joined, a.assignments, b.assignments]).toEqual([true, [[0, 1], [0]], [[1]]]);
    // kafkajs forgets fetch positions when it rejoins: partition 0 from its committed offset, 1 from the start.
    expect(a.batches.slice(2).map((x) => [x.partition, x.offsets[0]])).toEqual([[0, 2]]);
    expect(b.batches.map((x) => [x.partition, x.offsets[0]])).toEqual([[1, 0]]);
    expect([log.ownerOf(0), log.ownerOf(1), log.memberIds]).toEqual(['a', 'b', ['a', 'b']]);
  });

  it('a member stuck in a batch past the rebalance timeout is expelled; its late answer is ignored', async () => {
    const clock = new ManualClock();
    const log = new MemoryLog({ partitions: 1, clock, rebalanceTimeoutMs: 1000 });
    const a = manual();
    const b = manual();
    await log.source('a').start(a.handlers);
    log.append(0, vals(3));
    await settle();
    const joined = log.source('b').start(b.handlers);
    await settle();
    clock.advance(999);
    await settle();
    expect(b.assignments).toEqual([]);
    clock.advance(1);
    await joined;
    expect([log.memberIds, b.assignments]).toEqual([['b'], [[0]]]);
    a.batches[0]!.answer({ nextOffset: 3 });
    await settle();
    expect(b.batches.map((x) => x.offsets)).toEqual([[0, 1, 2]]);
    expect(a.batches.length).toBe(1);
  });

  it('expire(): a killed member is out at once, its partitions move, its answers are ignored', async () => {
    const log = new MemoryLog({ partitions: 2 });
    const a = manual();
    const b = manual();
    const sa = log.source('a');
    await sa.start(a.handlers);
    await log.source('b').start(b.handlers);
    log.append(0, vals(2));
    await settle();
    expect(log.ownerOf(0)).toBe('a');
    await sa.expire();
    expect([log.memberIds, b.assignments.at(-1)]).toEqual([['b'], [0, 1]]);
    a.batches[0]!.answer({ nextOffset: 2 });
    await settle();
    expect(b.batches.map((x) => [x.partition, x.offsets])).toEqual([[0, [0, 1]]]);
    await expect(sa.commitForMonitoring(0, 2)).rejects.toThrow('not a member');
    expect(log.committed(0)).toBeUndefined();
  });

  it('retention: a seek below the start of the log resets to the start', async () => {
    const log = new MemoryLog({ partitions: 1 });
    const h = manual();
    await log.source('a').start(h.handlers);
    log.append(0, vals(10));
    await settle();
    h.batches[0]!.answer({ nextOffset: 10 });
    log.deleteBefore(0, 6);
    log.append(0, vals(1));
    await settle();
    h.batches[1]!.answer({ nextOffset: 2 });
    await settle();
    expect(h.batches.map((b) => b.offsets)).toEqual([range(0, 10), [10], range(6, 11)]);
    expect(log.records(0).map((r) => r.offset)).toEqual(range(6, 11));
  });

  it('rejects bad options and partitions', () => {
    expect(() => new MemoryLog({ partitions: 0 })).toThrow('options.partitions must be a positive integer');
    expect(() => new MemoryLog({ partitions: 1, maxBatchRecords: 0 })).toThrow('options.maxBatchRecords must be a positive integer');
    expect(() => new MemoryLog({ partitions: 2 }).append(2, Buffer.from('x'))).toThrow('partition 2 is not in 0..1');
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
