import { inflateRawSync } from 'node:zlib';
/**
 * The shard host with real worker threads and the real shard logic, over the in-memory ports: the whole
 * runtime without a server. Exactly-once through a kill (a member expiring) and a store outage.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ActorThreads, MemoryCheckpointStore, MemoryDocStore, MemoryLog, MemoryRecordSink, ShardHost, compiledModuleUrl, type MemoryPartitionSource,
} from '../../../runtime/index.js';
import { OPEN_ROLLUPS_COLLECTION, ROLLUPS_COLLECTION, blockRows, plainBlock, type RollupBlock, packEventRecords } from '../../../actors/model/index.js';
import type { ShardConfig } from '../../../actors/shard-logic.js';
import { countsOfRollups, makeEvents, truthOf, type Truth } from '../../support/events.js';
import { waitFor } from '../../support/env.js';

const LOGIC = new URL('../../../actors/shard-logic.ts', import.meta.url).href;
const PARTITIONS = 4;
const CONFIG: ShardConfig = {
  aggregation: { precision: 6, windowMs: 10_000, allowedLatenessMs: 30_000 },
  settings: { checkpointEveryMs: 100, checkpointEveryEvents: 1_000_000, maxUncheckpointedEvents: 400, rollupEveryMs: 100, deltaEveryMs: 100, sinks: true },
  deltasTopic: 'deltas', phase: 0,
};

const open: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.stop()));
});

function host(name: string, log: MemoryLog, checkpoints: MemoryCheckpointStore, docs: MemoryDocStore, sink: MemoryRecordSink) {
  const threads = ActorThreads.start({ threads: 2, tickMs: 20 });
  const source: MemoryPartitionSource = log.source(name);
  const lines: string[] = [];
  const fatal: unknown[] = [];
  const h = new ShardHost({
    source, threads, logicModule: LOGIC, logicConfig: CONFIG, checkpoints, docs, sink, owner: name,
    shardName: (p) => `events/${p}`, onEffect: () => undefined, onFatal: (_p, err) => fatal.push(err), log: (m) => lines.push(m),
  });
  const handle = {
    host: h, source, lines, fatal,
    stop: async () => {
      await h.stop({ flush: false });
      await threads.close();
    },
  };
  open.push(handle);
  return handle;
}

function rollups(docs: MemoryDocStore): Truth {
  const rows = [...docs.documents(ROLLUPS_COLLECTION), ...docs.documents(OPEN_ROLLUPS_COLLECTION)].flatMap((d) => blockRows(plainBlock(d as unknown as RollupBlock, inflateRawSync)) as unknown as Record<string, unknown>[]);
  return countsOfRollups(rows);
}

describe('ShardHost on worker threads over the in-memory ports', () => {
  it('places shards evenly over the threads and counts every event exactly once through a kill and a checkpoint-store outage', { timeout: 60_000 }, async () => {
    // The shard logic runs compiled on the worker threads.
    compiledModuleUrl(LOGIC);
    const log = new MemoryLog({ partitions: PARTITIONS, maxBatchRecords: 5 });
    const checkpoints = new MemoryCheckpointStore();
    const docs = new MemoryDocStore();
    const sink = new MemoryRecordSink({ deltas: PARTITIONS });
    const events = makeEvents({ count: 6000, seed: 5, startTs: Date.UTC(2026, 10, 1), spanMs: 60_000, withIds: 0.2, segments: true });
    const append = (from: number, to: number) => {
      for (const r of packEventRecords(events.slice(from, to), PARTITIONS, 50, Date.now())) log.append(r.partition, Buffer.from(r.value));
    };

    const a = host('a', log, checkpoints, docs, sink);
    await a.host.start();
    await waitFor('a to own every partition', () => a.host.partitions.length === PARTITIONS);
    expect([0, 1, 2, 3].map((p) => a.host.threadOf(p)).sort()).toEqual([0, 0, 1, 1]);
    append(0, 2000);

    // A second process joins; then the first is killed (its session expires, its writes stop mattering).
    const bStore = checkpoints.connect();
    const b = host('b', log, bStore, docs, sink);
    await b.host.start();
    await waitFor('b to own partitions', () => b.host.partitions.length > 0);
    append(2000, 4000);
    await a.source.expire();
    await waitFor('b to own every partition', () => b.host.partitions.length === PARTITIONS);

    // The checkpoint store fails for a while: b holds batches (backpressure) and retries.
    bStore.failNext(6);
    append(4000, 6000);
    const truth = truthOf(events, 6, 10_000);
    await waitFor('rollups to equal the truth', () => rollups(docs).total === truth.total, 40_000);
    expect(new Map([...rollups(docs).counts].sort())).toEqual(new Map([...truth.counts].sort()));
    expect(b.lines.filter((l) => /FENCED/.test(l))).toEqual([]);
    expect(b.fatal).toEqual([]);
    expect(b.lines.some((l) => /checkpoint\/rollup write failed/.test(l))).toBe(true);
  });

  it('keeps the fetch position on the shard\'s: a fetch from a monitoring offset ahead of the checkpoint seeks back, and nothing is skipped or doubled', { timeout: 60_000 }, async () => {
    compiledModuleUrl(LOGIC);
    const log = new MemoryLog({ partitions: 1, maxBatchRecords: 3 });
    const checkpoints = new MemoryCheckpointStore();
    const docs = new MemoryDocStore();
    const sink = new MemoryRecordSink({ deltas: 1 });
    const events = makeEvents({ count: 1200, seed: 9, startTs: Date.UTC(2026, 10, 1), spanMs: 60_000, withIds: 0, segments: false });
    const append = (from: number, to: number) => {
      for (const r of packEventRecords(events.slice(from, to), 1, 50, Date.now())) log.append(r.partition, Buffer.from(r.value));
    };
    // A first process folds 12 records, checkpoints them and stops.
    append(0, 600);
    const a = host('a', log, checkpoints, docs, sink);
    await a.host.start();
    await waitFor('a to checkpoint all 12 records', () => checkpoints.committed('events/0')?.nextOffset === 12 && log.committed(0) === 12, 20_000);
    // The monitoring offset ahead of the checkpoint (committed offsets are never read back for recovery):
    // the next owner's fetch starts past its position.
    await a.source.commitForMonitoring(0, 18);
    await a.stop();
    open.splice(open.indexOf(a), 1);
    append(600, 1200);
    const b = host('b', log, checkpoints.connect(), docs, sink);
    await b.host.start();
    const truth = truthOf(events, 6, 10_000);
    await waitFor('rollups to equal the truth', () => rollups(docs).total === truth.total, 20_000);
    expect(new Map([...rollups(docs).counts].sort())).toEqual(new Map([...truth.counts].sort()));
    expect(b.lines.filter((l) => /gone from the log/.test(l))).toEqual([]);
    expect(b.host.position(0)).toBe(24);
  });
});
