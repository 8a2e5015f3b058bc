/**
 * The ingestion gateway: one uWebSockets.js app serving `POST /v1/events`, `WS /v1/ingest`, `/healthz`,
 * `/readyz` and `/metrics` (docs/gateway.md). Success is answered only after Kafka acknowledged.
 */
import type { FieldError, IngestReply } from '../actors/model/index.js';
import { MicroBatcher } from './batcher.js';
import type { GatewayConfig } from './config.js';
import { GatewayError, KafkaUnavailableError } from './errors.js';
import { answer, BadFrameError, bodyKind, checkFrame, checkHttpBatch, encodeMsgpack, errorAnswer, type CheckedBatch } from './ingest.js';
import { EventProducer } from './kafka.js';
import { KeyStore, keyFromRequest, type KeyRecord, type Scope } from './keys.js';
import { GatewayMetrics, renderMetrics, type MetricsSnapshot } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import { App, closeListenSocket, listenPort, type HttpRequest, type HttpResponse, type WebSocket, type us_listen_socket } from './uws.js';
import { WsFlow } from './ws-flow.js';
import { inBbox, WS_CLOSE } from '../actors/model/index.js';
import { DeltaFeed } from './live/feed.js';
import { StreamHub, type Viewer } from './live/hub.js';
import { QueryApi, QUERY_PATHS } from './query/api.js';
import type { StoredRow } from './query/rollups.js';
import { loadStatic, NOT_BUILT } from './static.js';

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: '200 OK', 400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found',
  413: '413 Payload Too Large', 415: '415 Unsupported Media Type', 429: '429 Too Many Requests',
  503: '503 Service Unavailable',
};

export interface RunningGateway {
  readonly port: number;
  readonly metrics: GatewayMetrics;
  readonly producer: EventProducer;
  readonly keys: KeyStore;
  /** This thread's metrics as plain data. */
  snapshot(): MetricsSnapshot;
  close(): Promise<void>;
}

/** A `/v1/stream` socket: its viewer in the hub, once open. */
interface StreamUser {
  viewer: Viewer | undefined;
  readonly key: KeyRecord;
  open: boolean;
}

interface WsUser {
  readonly key: KeyRecord;
  flow: WsFlow<Buffer>;
  tail: Promise<void>;
  closed: boolean;
}

/** Writes a JSON answer, corked, unless the client went away. */
function reply(res: HttpResponse, state: { aborted: boolean }, status: number, body: unknown, retryAfterS?: number): void {
  if (state.aborted) return;
  state.aborted = true; // a response is finished once
  res.cork(() => {
    res.writeStatus(STATUS_TEXT[status] ?? String(status));
    res.writeHeader('content-type', 'application/json');
    if (retryAfterS !== undefined) res.writeHeader('retry-after', String(retryAfterS));
    res.end(JSON.stringify(body));
  });
}

const retryAfterOf = (err: GatewayError): number | undefined =>
  err.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(err.retryAfterMs / 1000));

/** Starts the gateway with its own Kafka producer; resolves once it listens. */
export interface GatewayHooks {
  /** Every thread's metrics, for `/metrics` when several threads serve (threads.ts); default: this one's. */
  readonly collectMetrics?: (own: MetricsSnapshot) => Promise<MetricsSnapshot[]>;
}

export async function startGateway(cfg: GatewayConfig, log: (message: string) => void = () => undefined, hooks: GatewayHooks = {}): Promise<RunningGateway> {
  const metrics = new GatewayMetrics();
  const retryAfterMs = cfg.retryAfterS * 1000;
  const producer = new EventProducer({
    brokers: cfg.brokers, clientId: cfg.kafkaClientId, topic: cfg.topic, partitions: cfg.partitions, replication: cfg.replication,
    produceTimeoutMs: cfg.produceTimeoutMs, retryAfterMs, log,
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
  const limiter = new RateLimiter({ rate: cfg.keyRate, burst: cfg.keyBurst });
  const batcher = new MicroBatcher({
    send: (records) => producer.send(records),
    encode: (record) => encodeMsgpack(record),
    partitions: () => producer.partitions,
    lingerMs: cfg.lingerMs,
    flushEvents: cfg.flushEvents,
    maxRecordBytes: cfg.maxRecordBytes,
    onProduce: (ms, _records, ok) => {
      metrics.produce.observe(ms);
      if (!ok) metrics.produceFailures++;
    },
  });
  const sockets = new Set<WebSocket<WsUser>>();

  /** Throws the answer for a request that may not be taken now (auth, scope, overload, Kafka down). */
  const admit = (key: string | undefined, scope: Scope = 'ingest'): KeyRecord => {
    const auth = keys.authenticate(key);
    if (!auth.ok) {
      throw new GatewayError('GW_UNAUTHENTICATED', auth.reason === 'missing'
        ? 'an API key is required: Authorization: Bearer <key>'
        : 'unknown or revoked API key');
    }
    if (!auth.key.scopes.includes(scope)) throw new GatewayError('GW_FORBIDDEN', `key ${auth.key.id} has no ${scope} scope (it has: ${auth.key.scopes.join(', ')})`);
    return auth.key;
  };

  /**
   * For requests whose key may come from the query string (WebSocket upgrades, the browser's GETs):
   * watches for an abort and admits the key, or answers the refusal (passing its status to `refused`)
   * and returns undefined.
   */
  const admitRequest = (res: HttpResponse, req: HttpRequest, scope: Scope, refused: (status: number) => void = () => undefined): { key: KeyRecord; state: { aborted: boolean } } | undefined => {
    const state = { aborted: false };
    res.onAborted(() => {
      state.aborted = true;
    });
    try {
      return { key: admit(keyFromRequest(req.getHeader('authorization'), req.getQuery('key')), scope), state };
    } catch (err) {
      const e = err as GatewayError;
      refused(e.status);
      const { status, body } = errorAnswer(e);
      reply(res, state, status, body);
      return undefined;
    }
  };

  const available = (): void => {
    if (!producer.available) throw new KafkaUnavailableError('Kafka is unavailable; nothing was written', retryAfterMs);
  };

  const rateLimit = (key: KeyRecord, n: number, now: number): void => {
    const wait = limiter.take(key.id, key, n, now);
    if (wait > 0) throw new GatewayError('GW_RATE_LIMITED', `key ${key.id} is over its rate of ${key.rate ?? cfg.keyRate} events/s`, [], wait);
  };

  /** Sends the valid events; the promise settles once Kafka has answered for them. */
  const produce = async (batch: CheckedBatch, key: KeyRecord, now: number, transport: 'http' | 'ws'): Promise<void> => {
    rateLimit(key, batch.total, now);
    if (batch.events.length > 0) {
      available();
      await batcher.submit(batch.events, now);
    }
    metrics.accept(transport, batch.events.length);
    metrics.reject('GW_BAD_EVENT', batch.total - batch.events.length);
  };

  const app = App();

  app.post('/v1/events', (res, req) => {
    const state = { aborted: false };
    const contentType = req.getHeader('content-type');
    const declared = Number(req.getHeader('content-length') || '0');
    let key: KeyRecord;
    const fail = (err: unknown, events = 0): void => {
      const e = err instanceof GatewayError ? err : new GatewayError('GW_KAFKA_UNAVAILABLE', (err as Error).message, [], retryAfterMs);
      metrics.request(e.status);
      metrics.reject(e.code, events);
      const { status, body } = errorAnswer(e);
      reply(res, state, status, body, retryAfterOf(e));
    };
    try {
      // Only the header: a key in a URL ends up in proxy and access logs. The query form is for browser
      // WebSocket upgrades, which cannot set headers.
      key = admit(keyFromRequest(req.getHeader('authorization'), undefined));
      bodyKind(contentType); // 415 before reading the body
      if (declared > cfg.maxBodyBytes) throw new GatewayError('GW_BODY_TOO_LARGE', `body is ${declared} bytes, the limit is ${cfg.maxBodyBytes}`);
      if (metrics.bytesInFlight + declared > cfg.maxInflightBytes) throw new GatewayError('GW_OVERLOADED', 'the gateway has too many bytes in flight; retry later', [], retryAfterMs);
      available();
    } catch (err) {
      fail(err);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let counted = 0;
    const release = () => {
      metrics.bytesInFlight -= counted;
      counted = 0;
    };
    res.onAborted(() => {
      state.aborted = true;
      release();
    });
    res.onData((chunk, isLast) => {
      if (state.aborted) return;
      size += chunk.byteLength;
      if (size > cfg.maxBodyBytes) {
        release();
        fail(new GatewayError('GW_BODY_TOO_LARGE', `body is over the limit of ${cfg.maxBodyBytes} bytes`));
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0))); // the ArrayBuffer is neutered after this callback
      metrics.bytesInFlight += chunk.byteLength;
      counted += chunk.byteLength;
      if (!isLast) return;
      const now = Date.now();
      let batch: CheckedBatch;
      try {
        batch = checkHttpBatch(contentType, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), now, cfg.limits, cfg.maxBodyBytes);
      } catch (err) {
        release();
        fail(err);
        return;
      }
      produce(batch, key, now, 'http').then(
        () => {
          release();
          const { status, body } = answer(batch);
          metrics.request(status);
          reply(res, state, status, body);
        },
        (err: unknown) => {
          release();
          fail(err, batch.total);
        },
      ).catch((err: unknown) => log(`http: ${(err as Error).message}`));
    });
  });

  const wsSend = (ws: WebSocket<WsUser>, r: IngestReply): void => {
    const user = ws.getUserData();
    if (user.closed) return;
    ws.cork(() => ws.send(encodeMsgpack(r), true));
    const buffered = ws.getBufferedAmount();
    if (buffered > cfg.wsMaxBackpressure) {
      user.closed = true;
      ws.end(WS_CLOSE.ACKS_NOT_READ, `client is not reading acks (${buffered} bytes unread)`);
    } else if (buffered > cfg.wsMaxBackpressure / 4) {
      user.flow.block();
    }
  };

  const nack = (seq: number, err: GatewayError, batch?: CheckedBatch, errors: readonly FieldError[] = err.errors): IngestReply => ({
    seq,
    accepted: 0,
    acceptedIndexes: [],
    error: err.toWire(),
    errors: batch ? batch.errors : errors,
    ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
  });

  const processFrame = (ws: WebSocket<WsUser>, frame: Buffer): void => {
    const user = ws.getUserData();
    const now = Date.now();
    let outcome: Promise<IngestReply>;
    try {
      const batch = checkFrame(frame, true, now, cfg.limits);
      outcome = produce(batch, user.key, now, 'ws').then(
        (): IngestReply => (batch.errors.length === 0
          ? { seq: batch.seq, accepted: batch.events.length }
          : {
            seq: batch.seq, accepted: batch.events.length, acceptedIndexes: batch.acceptedIndexes, errors: batch.errors,
            error: { code: 'GW_BAD_EVENT', message: `${batch.total - batch.events.length} of ${batch.total} events are invalid and were not accepted`, retriable: false },
          }),
        (err: unknown) => {
          const e = err instanceof GatewayError ? err : new GatewayError('GW_KAFKA_UNAVAILABLE', (err as Error).message, [], retryAfterMs);
          metrics.reject(e.code, batch.total);
          return nack(batch.seq, e);
        },
      );
    } catch (err) {
      if (err instanceof BadFrameError) {
        user.closed = true;
        ws.end(WS_CLOSE.BAD_FRAME, err.message);
        return;
      }
      const e = err as GatewayError & { seq: number };
      metrics.reject(e.code, 1);
      outcome = Promise.resolve(nack(e.seq, e));
    }
    // Answers go out in the order the frames came in.
    user.tail = user.tail.then(() => outcome).then((r) => {
      if (user.closed) return;
      wsSend(ws, r);
      if (!user.closed) for (const next of user.flow.done()) processFrame(ws, next);
    }).catch((err: unknown) => log(`ws: ${(err as Error).message}`)); // never an unhandled rejection
  };

  app.ws<WsUser>('/v1/ingest', {
    maxPayloadLength: cfg.maxBodyBytes,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    // uWS drops sends above maxBackpressure; the gateway closes the socket itself well before that.
    maxBackpressure: cfg.wsMaxBackpressure * 4,
    upgrade: (res, req, context) => {
      const admitted = admitRequest(res, req, 'ingest');
      if (!admitted) return;
      const { key } = admitted;
      const user: WsUser = { key, flow: new WsFlow(cfg.wsWindow), tail: Promise.resolve(), closed: false };
      res.upgrade(user, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      sockets.add(ws);
      metrics.openSockets++;
    },
    message: (ws, message, isBinary) => {
      const user = ws.getUserData();
      if (user.closed) return;
      if (!isBinary) {
        user.closed = true;
        ws.end(WS_CLOSE.BAD_FRAME, 'frames must be binary msgpack {seq, events}');
        return;
      }
      const frame = Buffer.from(message.slice(0)); // the ArrayBuffer is neutered after this callback
      const offer = user.flow.offer(frame);
      if (offer === 'process') processFrame(ws, frame);
      else if (offer === 'close') {
        user.closed = true;
        ws.end(WS_CLOSE.WINDOW_EXCEEDED, `more than ${2 * cfg.wsWindow} frames without acks: keep at most ${cfg.wsWindow} in flight`);
      }
    },
    drain: (ws) => {
      const user = ws.getUserData();
      if (!user.closed && ws.getBufferedAmount() <= cfg.wsMaxBackpressure / 4) for (const next of user.flow.unblock()) processFrame(ws, next);
    },
    close: (ws) => {
      ws.getUserData().closed = true;
      sockets.delete(ws);
      metrics.openSockets--;
    },
  });

  app.get('/healthz', (res) => {
    res.writeHeader('content-type', 'application/json').end('{"status":"ok"}');
  });
  app.get('/readyz', (res) => {
    const state = { aborted: false };
    res.onAborted(() => {
      state.aborted = true;
    });
    void producer.reachable().then((ok) => reply(res, state, ok ? 200 : 503, ok ? { status: 'ready' } : { code: 'GW_KAFKA_UNAVAILABLE', message: 'Kafka is not reachable', retriable: true }, ok ? undefined : cfg.retryAfterS));
  });
  const snapshot = () => metrics.snapshot({
    adme_gateway_kafka_available: producer.available ? 1 : 0,
    adme_gateway_events_waiting: batcher.waiting,
    adme_stream_viewers: hub.viewerCount,
    adme_stream_ticks_total: hub.stats.ticks,
    adme_stream_news_ticks_total: hub.stats.newsTicks,
    adme_stream_frames_total: hub.stats.frames,
    adme_stream_frame_bytes_total: hub.stats.bytes,
    adme_stream_snapshots_total: hub.stats.snapshots,
    adme_stream_frame_encodings_total: hub.stats.encodings,
    adme_stream_busy_skips_total: hub.stats.skippedBusy,
    adme_stream_bad_messages_total: hub.stats.badMessages,
    adme_stream_deltas_total: hub.store.stats.deltas,
    adme_stream_delta_gaps_total: hub.store.stats.gaps,
    adme_stream_owner_changes_total: hub.store.stats.ownerChanges,
    adme_stream_zombie_deltas_total: hub.store.stats.zombie,
    adme_stream_stale_deltas_total: hub.store.stats.stale,
    adme_stream_live_rows: hub.store.size,
  });
  app.get('/metrics', (res) => {
    const own = snapshot();
    if (!hooks.collectMetrics) {
      res.writeHeader('content-type', 'text/plain; version=0.0.4').end(renderMetrics([own]));
      return;
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void hooks.collectMetrics(own).catch(() => [own]).then((all) => {
      if (!aborted) res.cork(() => res.writeHeader('content-type', 'text/plain; version=0.0.4').end(renderMetrics(all)));
    });
  });

  // ---- the live view and the query API (docs/api.md) ----------------------------------------------
  const queries = new QueryApi({
    mongoUrl: cfg.mongoUrl, database: cfg.mongoDb, windowMs: cfg.stream.windowMs, maxRows: cfg.queryMaxRows, cacheMs: cfg.queryCacheMs,
    // Ranges the live store holds completely (windows after the replay start, still in the horizon)
    // are answered from memory: the same numbers as the rollups, seconds fresher, no MongoDB read.
    live: {
      completeFrom: () => Math.max(feed.completeFrom + cfg.stream.windowMs, hub.store.firstKept),
      rows: (from, to, box) => {
        const out: StoredRow[] = [];
        for (const { window, cell, base } of hub.store.rows(from, to)) {
          if (box && !inBbox(box, base.lat, base.lon)) continue;
          // Segments are summed only for the answers that read them (filters, /v1/segments).
          out.push({ window, partition: -1, cell, sum: base.sum, get segs() { return hub.store.segmentSums(base); } });
        }
        return out;
      },
    },
  });
  const hub: StreamHub = new StreamHub(cfg.stream, (partition, why) => {
    if (why !== 'gap') return; // an owner change re-sends its whole state itself
    log(`live view: delta gap on partition ${partition}; repairing it from the MongoDB rollups`);
    const st = hub.store;
    void queries.partitionRows(partition, st.firstKept, st.newest + cfg.stream.windowMs).then((rows) => {
      for (const r of rows) st.repair(partition, r.window, r.cell, r.sum, r.segs ?? null);
      hub.resnapshotAll();
    }, (err: unknown) => log(`live view: repair of partition ${partition} failed: ${(err as Error).message}`));
  });
  const feed = new DeltaFeed({
    brokers: cfg.brokers, clientId: `${cfg.kafkaClientId}-view`, topic: cfg.stream.deltasTopic, partitions: cfg.partitions, replication: cfg.replication,
    replayMs: cfg.stream.horizonMs + cfg.stream.windowMs, log,
    onDeltas: (ds) => {
      try {
        hub.applyDeltas(ds);
      } catch (err) {
        log(`live view: ${(err as Error).message}`);
      }
    },
  });
  feed.start();
  // The frame clock keeps to multiples of minFrameMs: a tick delayed by a busy event loop does not push
  // the next ones back (setInterval would drift), and ticks that could not run at all are skipped.
  let clock: NodeJS.Timeout | undefined;
  const period = cfg.stream.minFrameMs;
  const scheduleTick = () => {
    clock = setTimeout(() => {
      if (closing) return;
      hub.tick(Date.now());
      scheduleTick();
    }, period - (Date.now() % period));
  };
  scheduleTick();
  const viewerSockets = new Set<WebSocket<StreamUser>>();

  app.ws<StreamUser>('/v1/stream', {
    maxPayloadLength: 64 * 1024,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    maxBackpressure: cfg.stream.maxBuffered * 4,
    upgrade: (res, req, context) => {
      const admitted = admitRequest(res, req, 'view', (status) => metrics.request(status));
      if (!admitted) return;
      const { key } = admitted;
      res.upgrade({ viewer: undefined, key, open: true } satisfies StreamUser, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => {
      viewerSockets.add(ws);
      const user = ws.getUserData();
      user.viewer = hub.open({
        send: (frame) => user.open && (ws.send(frame, true), true),
        buffered: () => (user.open ? ws.getBufferedAmount() : 0),
      });
    },
    message: (ws, message, isBinary) => {
      const v = ws.getUserData().viewer;
      if (!v) return;
      if (!isBinary) {
        ws.end(WS_CLOSE.BAD_FRAME, 'stream messages must be binary msgpack (docs/api.md)');
        return;
      }
      hub.message(v, new Uint8Array(message.slice(0)));
    },
    close: (ws) => {
      const user = ws.getUserData();
      user.open = false;
      if (user.viewer) hub.close(user.viewer);
      user.viewer = undefined;
      viewerSockets.delete(ws);
    },
  });

  for (const path of QUERY_PATHS) {
    app.get(path, (res, req) => {
      const admitted = admitRequest(res, req, 'view', (status) => metrics.request(status));
      if (!admitted) return;
      const { state } = admitted;
      void queries.answer(path, req.getQuery() ?? '').then((a) => {
        metrics.request(a.status);
        reply(res, state, a.status, a.body);
      });
    });
  }

  const files = loadStatic(cfg.vizDir);
  if (files.size === 0) log(`no viewer build in ${cfg.vizDir}: / explains how to build it`);
  app.get('/*', (res, req) => {
    const f = files.get(req.getUrl());
    if (f) {
      res.cork(() => {
        res.writeHeader('content-type', f.type);
        res.writeHeader('cache-control', f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
        res.end(f.body);
      });
    } else if (req.getUrl() === '/' || req.getUrl() === '/index.html') {
      res.writeStatus('503 Service Unavailable').writeHeader('content-type', 'text/html; charset=utf-8').end(NOT_BUILT);
    } else {
      reply(res, { aborted: false }, 404, { code: 'GW_NOT_FOUND', message: 'no such endpoint', retriable: false });
    }
  });
  app.any('/*', (res) => {
    reply(res, { aborted: false }, 404, { code: 'GW_NOT_FOUND', message: 'no such endpoint', retriable: false });
  });

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(cfg.host, cfg.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${cfg.host}:${cfg.port} (in use?)`))));
  });
  const port = listenPort(listenSocket);
  log(`listening on http://${cfg.host}:${port} (topic ${cfg.topic}, ${producer.partitions} partitions, keys ${cfg.keysFile})`);

  let closing: Promise<void> | undefined;
  return {
    port, metrics, producer, keys, snapshot,
    close: () => (closing ??= (async () => {
      closeListenSocket(listenSocket);
      clearTimeout(clock);
      for (const ws of [...viewerSockets]) ws.end(WS_CLOSE.GOING_AWAY, 'gateway shutting down');
      await feed.stop();
      await queries.close();
      await batcher.drain();
      for (const ws of [...sockets]) {
        ws.getUserData().closed = true;
        ws.end(WS_CLOSE.GOING_AWAY, 'gateway shutting down');
      }
      keys.close();
      await producer.close();
    })()),
  };
}
