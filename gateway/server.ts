/**
 * One gateway app: a uWS app whose routes are a table built from the route modules (routes/): ingest
 * (`POST /v1/events`, `WS /v1/ingest`), the live stream (`WS /v1/stream`), the query API, health and
 * metrics, and the viewer's files (docs/gateway.md, docs/api.md). Success is answered only after Kafka
 * acknowledged. The live view is the process's one {@link LiveService}: created here when this app is
 * the process's only one, or reached on the main thread when the app runs on a worker thread.
 */
import { MicroBatcher } from './batcher.js';
import type { GatewayConfig } from './config.js';
import { EventProducer } from './kafka.js';
import { KeyStore } from './keys.js';
import type { LiveAccess } from './live/access.js';
import { LiveService } from './live/service.js';
import { GatewayMetrics, memoryGauges, type MetricsSnapshot } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import { healthRoutes } from './routes/health.js';
import { Admission } from './routes/http.js';
import { IngestRoutes } from './routes/ingest.js';
import { queryRoutes } from './routes/query.js';
import { staticRoutes } from './routes/static.js';
import { StreamRoutes } from './routes/stream.js';
import { mount, type Route } from './routes/table.js';
import { loadStatic } from './static.js';
import { App, closeListenSocket, listenPort, type us_listen_socket } from './uws.js';

export interface RunningGateway {
  readonly port: number;
  readonly metrics: GatewayMetrics;
  readonly producer: EventProducer;
  readonly keys: KeyStore;
  /** The route table this app serves (method and path). */
  readonly routes: readonly Route[];
  /** This thread's metrics as plain data. */
  snapshot(): MetricsSnapshot;
  close(): Promise<void>;
}

export interface GatewayHooks {
  /** Every thread's metrics, for `/metrics` when several threads serve (threads.ts); default: this one's. */
  readonly collectMetrics?: (own: MetricsSnapshot) => Promise<MetricsSnapshot[]>;
  /** The process's live view when it lives on another thread; default: this app starts its own. */
  readonly live?: LiveAccess;
}

/** Starts the gateway with its own Kafka producer; resolves once it listens. */
export async function startGateway(cfg: GatewayConfig, log: (message: string) => void = () => undefined, hooks: GatewayHooks = {}): Promise<RunningGateway> {
  const metrics = new GatewayMetrics();
  const producer = new EventProducer({
    brokers: cfg.brokers, clientId: cfg.kafkaClientId, topic: cfg.topic, partitions: cfg.partitions, replication: cfg.replication,
    produceTimeoutMs: cfg.produceTimeoutMs, retryAfterMs: cfg.retryAfterS * 1000, log,
    onResend: (partitions) => { metrics.produceResends += partitions.length; },
  });
  try {
    await producer.start();
  } catch (err) {
    await producer.close();
    throw err;
  }
  const keys = new KeyStore(cfg.keysFile, (err) => log(`keys: ${err.message} (keeping the previous keys)`));
  keys.watch();
  if (keys.size === 0) log(`no API keys in ${cfg.keysFile}: create one with "adme keys create --scope ingest"`);
  const batcher = new MicroBatcher({
    send: (records) => producer.send(records),
    partitions: () => producer.partitions,
    lingerMs: cfg.lingerMs,
    flushEvents: cfg.flushEvents,
    maxRecordBytes: cfg.maxRecordBytes,
    onProduce: (ms, _records, ok) => {
      metrics.produce.observe(ms);
      if (!ok) metrics.produceFailures++;
    },
  });
  let own: LiveService | undefined;
  const live = hooks.live ?? (own = new LiveService(cfg, log));
  own?.start();

  const admission = new Admission(keys);
  const ingest = new IngestRoutes({
    cfg, metrics, admission, log,
    limiter: new RateLimiter({ rate: cfg.keyRate, burst: cfg.keyBurst }),
    available: () => producer.available,
    submit: (events, now) => batcher.submit(events, now),
  });
  const stream = new StreamRoutes({ live, admission, metrics, maxBuffered: cfg.stream.maxBuffered });
  const snapshot = () => metrics.snapshot({
    adme_gateway_kafka_available: producer.available ? 1 : 0,
    adme_gateway_events_waiting: batcher.waiting,
    ...live.metrics(),
    ...memoryGauges(hooks.collectMetrics === undefined),
  });
  const files = loadStatic(cfg.vizDir);
  if (files.size === 0) log(`no viewer build in ${cfg.vizDir}: / explains how to build it`);

  const routes: Route[] = [
    ...ingest.routes(),
    ...healthRoutes({ kafkaReachable: () => producer.reachable(), live, retryAfterS: cfg.retryAfterS, snapshot, collect: hooks.collectMetrics }),
    ...stream.routes(),
    ...queryRoutes({ live, admission, metrics }),
    ...staticRoutes(files),
  ];
  const app = App();
  mount(app, routes);

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(cfg.host, cfg.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${cfg.host}:${cfg.port} (in use?)`))));
  });
  const port = listenPort(listenSocket);
  log(`listening on http://${cfg.host}:${port} (topic ${cfg.topic}, ${producer.partitions} partitions, keys ${cfg.keysFile})`);

  let closing: Promise<void> | undefined;
  return {
    port, metrics, producer, keys, routes, snapshot,
    close: () => (closing ??= (async () => {
      closeListenSocket(listenSocket);
      stream.closeAll();
      await own?.close();
      await batcher.drain();
      ingest.closeAll();
      keys.close();
      await producer.close();
    })()),
  };
}
