/** Wiring of an `adme runtime` process: pool, stores, consumer group, shard actors, HTTP metrics. */
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  CassandraCheckpointStore, FencedError, KafkaGroupSource, KafkaRecordSink, MongoDocStore, ShardHost, WorkerPool,
  ensureTopics, kafkaClient, systemClock,
} from '../runtime/index.js';
import { LATE_EVENTS_COLLECTION, OPEN_ROLLUPS_COLLECTION, ROLLUPS_COLLECTION } from './model/index.js';
import { ShardMetrics } from './metrics.js';
import type { RuntimeConfig } from './runtime-config.js';
import { ShardActor } from './shard-actor.js';

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
    replicationFactor: c.replication.factor, consistency: c.replication.consistency,
  });
  const docs = await MongoDocStore.open(c.mongo.url, c.mongo.database);
  await docs.ensureIndexes(ROLLUPS_COLLECTION, [
    { key: { window: 1, prefix: 1 }, name: 'window_prefix' },
    { key: { prefix: 1, window: 1 }, name: 'prefix_window' },
  ]);
  await docs.ensureIndexes(OPEN_ROLLUPS_COLLECTION, [{ key: { window: 1 }, name: 'window' }]);
  await docs.ensureIndexes(LATE_EVENTS_COLLECTION, [{ key: { partition: 1, offset: 1 }, name: 'partition_offset' }]);
  // Deltas are a view stream (readers detect gaps by seq): acks=1, coalesced, for latency.
  const deltas = await KafkaRecordSink.open({ brokers: c.brokers, clientId: `adme-runtime-deltas-${process.pid}`, durable: false });
  const pool = new WorkerPool({ threads: c.threads });
  const metrics = new ShardMetrics();
  const source = new KafkaGroupSource({
    brokers: c.brokers, clientId: `adme-runtime-${process.pid}`, topic: c.topic, groupId: c.groupId,
    sessionTimeoutMs: c.sessionTimeoutMs, heartbeatIntervalMs: Math.min(1000, Math.floor(c.sessionTimeoutMs / 5)),
    maxBytesPerPartition: 4 * 1024 * 1024, maxBytes: 64 * 1024 * 1024, maxWaitMs: 50,
  });

  let resolveFatal: (code: number) => void = () => undefined;
  const fatal = new Promise<number>((r) => {
    resolveFatal = r;
  });
  const shards = new Map<number, ShardActor>();
  const host = new ShardHost({
    // Ticks at a fifth of the delta interval: a delta falls due at most one short tick late. Ticking at the
    // interval itself missed every other delta by a millisecond of timer jitter (deltas every ~160 ms,
    // not 100: the live view's frame rate follows this cadence, docs/BENCHMARKS.md).
    source, clock: systemClock, tickMs: Math.max(5, Math.min(c.deltaEveryMs / 5, 100)), mailboxCapacity: c.mailboxCapacity, log,
    createShard: (partition) => {
      const s = new ShardActor({
        partition, topic: c.topic, deltasTopic: c.deltasTopic, owner,
        config: { precision: c.precision, windowMs: c.windowMs, allowedLatenessMs: c.allowedLatenessMs },
        settings: c,
        checkpoints, docs, deltas, pool, clock: systemClock, metrics, log,
        commitForMonitoring: (p, o) => source.commitForMonitoring(p, o),
      });
      shards.set(partition, s);
      return s;
    },
    onFatal: (partition, err) => {
      const fenced = err instanceof FencedError;
      log(`fatal: partition ${partition}: ${(err as Error).message}${fenced ? ' — another process owns it; this one stops so the group can rebalance cleanly' : ''}`);
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
  metrics.gauge('adme_runtime_event_loop_delay_seconds', 'Event-loop delay of the actor thread since the previous scrape (quantile=0.5|0.99|1).', (g) => {
    g.set({ quantile: '0.5' }, loopDelay.percentile(50) / 1e9);
    g.set({ quantile: '0.99' }, loopDelay.percentile(99) / 1e9);
    g.set({ quantile: '1' }, loopDelay.max / 1e9);
    loopDelay.reset();
  });
  metrics.gauge('adme_runtime_partitions_owned', 'Partitions this process owns.', (g) => g.set({}, host.partitions.length));
  metrics.gauge('adme_runtime_partition_lag', 'Records in the log not yet processed, by partition.', (g) => {
    g.reset();
    for (const p of host.partitions) {
      const s = shards.get(p);
      const hw = highWatermarks.get(p);
      if (s && hw !== undefined) g.set({ partition: p }, Math.max(0, hw - s.position));
    }
  });
  metrics.gauge('adme_runtime_mailbox_depth', 'Messages waiting in a shard actor mailbox.', (g) => {
    g.reset();
    for (const p of host.partitions) g.set({ partition: p }, host.mailboxDepth(p));
  });
  metrics.gauge('adme_runtime_live_cells', 'Cell-windows held in memory, by partition.', (g) => {
    g.reset();
    for (const p of host.partitions) g.set({ partition: p }, shards.get(p)?.cellCount ?? 0);
  });

  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metrics.registry.render());
    } else if (req.url === '/healthz') {
      const body = JSON.stringify({ status: 'ok', owner, partitions: host.partitions, positions: Object.fromEntries(host.partitions.map((p) => [p, shards.get(p)?.position ?? null])) });
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
      await host.stop();
      await Promise.allSettled([pool.close(), deltas.close(), checkpoints.close(), docs.close()]);
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
