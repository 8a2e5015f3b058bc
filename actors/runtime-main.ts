/** Wiring of an `adme runtime` process: pool, stores, consumer group, shard actors, HTTP metrics. */
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  ActorThreads, CassandraArchiveStore, CassandraCheckpointStore, FencedError, KafkaGroupSource, KafkaRecordSink, MongoDocStore, ShardHost,
  ensureTopics, kafkaClient, type ThreadStats,
} from '../runtime/index.js';
import { INVALID_EVENTS_COLLECTION, LATE_EVENTS_COLLECTION, OPEN_ROLLUPS_COLLECTION, ROLLUPS_COLLECTION } from './model/index.js';
import { ShardMetrics } from './metrics.js';
import type { RuntimeConfig } from './runtime-config.js';
import type { ShardConfig, ShardMetricEffect } from './shard-logic.js';

const SHARD_LOGIC = new URL(import.meta.url.endsWith('.ts') ? './shard-logic.ts' : './shard-logic.js', import.meta.url).href;

export interface RuntimeHandle {
  readonly port: number;
  readonly metrics: ShardMetrics;
  readonly host: ShardHost;
  /** Resolves with an exit code when a shard fails for good (3 when fenced as a zombie). */
  readonly fatal: Promise<number>;
  stop(): Promise<void>;
}

export async function startRuntime(c: RuntimeConfig, log: (m: string) => void): Promise<RuntimeHandle> {
  const owner = `${hostname()}:${process.pid}`;
  const kafka = kafkaClient({ brokers: c.brokers, clientId: `adme-runtime-${process.pid}` });
  await ensureTopics(kafka, [{ topic: c.topic, partitions: c.partitions }, { topic: c.deltasTopic, partitions: c.partitions }],
    { replicationFactor: c.replication.factor, minInsyncReplicas: c.replication.minInsync });
  const checkpoints = await CassandraCheckpointStore.open({
    contactPoints: c.cassandra.contactPoints, localDataCenter: c.cassandra.localDc, keyspace: c.cassandra.keyspace,
    replicationFactor: c.replication.factor, consistency: c.replication.consistency, batchBytes: c.cassandra.batchBytes,
  });
  const archive = c.sinks && c.archive ? await CassandraArchiveStore.open({
    contactPoints: c.cassandra.contactPoints, localDataCenter: c.cassandra.localDc, keyspace: c.cassandra.keyspace,
    replicationFactor: c.replication.factor, consistency: c.replication.consistency, ttlSeconds: c.archiveTtlDays * 86_400,
    batchBytes: c.cassandra.batchBytes,
  }) : null;
  const docs = await MongoDocStore.open(c.mongo.url, c.mongo.database);
  await docs.ensureIndexes(ROLLUPS_COLLECTION, [
    { key: { window: 1, prefix: 1 }, name: 'window_prefix' },
    { key: { prefix: 1, window: 1 }, name: 'prefix_window' },
  ]);
  await docs.ensureIndexes(OPEN_ROLLUPS_COLLECTION, [{ key: { window: 1 }, name: 'window' }]);
  await docs.ensureIndexes(LATE_EVENTS_COLLECTION, [{ key: { partition: 1, offset: 1 }, name: 'partition_offset' }]);
  await docs.ensureIndexes(INVALID_EVENTS_COLLECTION, [{ key: { partition: 1, offset: 1 }, name: 'partition_offset' }]);
  // Deltas are a view stream (readers detect gaps by seq): acks=1, coalesced, for latency.
  const deltas = await KafkaRecordSink.open({ brokers: c.brokers, clientId: `adme-runtime-deltas-${process.pid}`, durable: false });
  // Ticks at a fifth of the delta interval: a delta falls due at most one short tick late. Ticking at the
  // interval itself missed every other delta by a millisecond of timer jitter (docs/BENCHMARKS.md).
  const threads = ActorThreads.start({ threads: c.threads, youngGenerationMb: c.workerYoungMb, tickMs: Math.max(5, Math.min(c.deltaEveryMs / 5, 100)) });
  const metrics = new ShardMetrics();
  const source = new KafkaGroupSource({
    brokers: c.brokers, clientId: `adme-runtime-${process.pid}`, topic: c.topic, groupId: c.groupId,
    sessionTimeoutMs: c.sessionTimeoutMs, heartbeatIntervalMs: Math.max(100, Math.min(1000, Math.floor(c.sessionTimeoutMs / 5))),
    maxBytesPerPartition: c.fetchPartitionBytes, maxBytes: 64 * 1024 * 1024, maxWaitMs: 50,
  });

  let isFenced = false;
  let resolveFatal: (code: number) => void = () => undefined;
  const fatal = new Promise<number>((r) => {
    resolveFatal = r;
  });
  const aggregation = { precision: c.precision, windowMs: c.windowMs, allowedLatenessMs: c.allowedLatenessMs, maxSegmentsPerCell: c.maxSegmentsPerCell, segmentReach: c.segmentReach };
  const settings = {
    checkpointEveryMs: c.checkpointEveryMs, checkpointEveryEvents: c.checkpointEveryEvents, maxUncheckpointedEvents: c.maxUncheckpointedEvents,
    rollupEveryMs: c.rollupEveryMs, openRollupEveryMs: c.openRollupEveryMs, deltaEveryMs: c.deltaEveryMs, encodeSliceCells: c.encodeSliceCells, sinks: c.sinks, archive: c.archive,
  };
  const host = new ShardHost({
    source, threads, log, owner, sink: deltas, sessionTimeoutMs: c.sessionTimeoutMs,
    logicModule: SHARD_LOGIC,
    // The phase spreads the partitions' checkpoints over the interval, so they do not all encode at once.
    logicConfig: { aggregation, settings, deltasTopic: c.deltasTopic, phase: Math.random() } satisfies ShardConfig,
    checkpoints: c.sinks ? checkpoints : null,
    docs: c.sinks ? docs : null,
    archive,
    shardName: (p) => `${c.topic}/${p}`,
    onEffect: (p, e) => metrics.apply(p, e as ShardMetricEffect),
    onFatal: (partition, err) => {
      const fenced = err instanceof FencedError;
      log(`fatal: partition ${partition}: ${(err as Error).message}${fenced ? ' — another process owns it; this one stops so the group can rebalance cleanly' : ''}`);
      if (fenced) isFenced = true;
      resolveFatal(fenced ? 3 : 1);
    },
  });

  let highWatermarks = new Map<number, number>();
  const lagTimer = setInterval(() => {
    source.highWatermarks().then((m) => {
      highWatermarks = m;
    }).catch(() => undefined);
  }, 2000);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  metrics.gauge('adme_runtime_event_loop_delay_seconds', 'Event-loop delay of the main (I/O) thread since the previous scrape (quantile=0.5|0.99|1).', (g) => {
    g.set({ quantile: '0.5' }, loopDelay.percentile(50) / 1e9);
    g.set({ quantile: '0.99' }, loopDelay.percentile(99) / 1e9);
    g.set({ quantile: '1' }, loopDelay.max / 1e9);
    loopDelay.reset();
  });
  metrics.gauge('adme_runtime_partitions_owned', 'Partitions this process owns.', (g) => g.set({}, host.partitions.length));
  metrics.gauge('adme_runtime_partition_lag', 'Records in the log not yet processed, by partition.', (g) => {
    g.reset();
    for (const p of host.partitions) {
      const pos = host.position(p);
      const hw = highWatermarks.get(p);
      if (pos !== undefined && hw !== undefined) g.set({ partition: p }, Math.max(0, hw - pos));
    }
  });
  metrics.gauge('adme_runtime_live_cells', 'Cell-windows held in memory, by partition (as last reported by the shard).', (g) => {
    g.reset();
    for (const p of host.partitions) g.set({ partition: p }, metrics.cells.get(p) ?? 0);
  });
  metrics.gauge('adme_runtime_partition_thread', 'The worker thread a partition\'s shard lives on.', (g) => {
    g.reset();
    for (const p of host.partitions) g.set({ partition: p }, host.threadOf(p) ?? -1);
  });
  // Worker threads answer asynchronously: a scrape shows the statistics gathered by the previous one.
  let threadStats: ThreadStats[] = [];
  const threadLoop = metrics.registry.gauge('adme_runtime_worker_event_loop_delay_seconds', 'Event-loop delay of each worker thread since the previous scrape (thread, quantile=0.5|0.99|1).');
  const threadBusy = metrics.registry.gauge('adme_runtime_worker_busy_ratio', 'Fraction of time each worker thread spent in shard steps since the previous scrape.');
  const refreshThreads = async () => {
    threadStats = await threads.stats();
    threadLoop.reset();
    threadBusy.reset();
    for (const t of threadStats) {
      threadLoop.set({ thread: t.thread, quantile: '0.5' }, t.loop.p50Ms / 1000);
      threadLoop.set({ thread: t.thread, quantile: '0.99' }, t.loop.p99Ms / 1000);
      threadLoop.set({ thread: t.thread, quantile: '1' }, t.loop.maxMs / 1000);
      threadBusy.set({ thread: t.thread }, t.loop.busy);
    }
  };

  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void refreshThreads().catch(() => undefined).then(() => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(metrics.registry.render());
      });
    } else if (req.url === '/healthz') {
      const body = JSON.stringify({ status: 'ok', owner, partitions: host.partitions, positions: Object.fromEntries(host.partitions.map((p) => [p, host.position(p) ?? null])), threads: Object.fromEntries(host.partitions.map((p) => [p, host.threadOf(p) ?? null])) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'RT_NOT_FOUND', message: `no route ${req.url ?? ''}`, retriable: false }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(c.port, c.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : c.port;
  log(`runtime ${owner} listening on http://${c.host}:${port} (metrics, healthz); joining group ${c.groupId} on ${c.topic}`);
  await host.start();

  return {
    port, metrics, host, fatal,
    stop: async () => {
      clearInterval(lagTimer);
      loopDelay.disable();
      await host.stop({ flush: !isFenced });
      await Promise.allSettled([threads.close(), deltas.close(), checkpoints.close(), docs.close(), archive?.close()]);
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
