/**
 * Ingest: `POST /v1/events` and `WS /v1/ingest` (docs/gateway.md). Validated events go to the
 * micro-batcher; the answer (200, or an ack) goes out only once Kafka has acknowledged them.
 */
import { WS_CLOSE, type FieldError, type IngestReply } from '../../actors/model/index.js';
import type { GatewayConfig } from '../config.js';
import { GatewayError, KafkaUnavailableError } from '../errors.js';
import { answer, BadFrameError, bodyKind, checkFrame, checkHttpBatch, encodeMsgpack, errorAnswer, type CheckedBatch } from '../ingest.js';
import { keyFromRequest, type KeyRecord } from '../keys.js';
import type { GatewayMetrics } from '../metrics.js';
import type { RateLimiter } from '../rate-limit.js';
import type { HttpRequest, HttpResponse, WebSocket } from '../uws.js';
import { WsFlow } from '../ws-flow.js';
import { reply, retryAfterOf, type Admission, type RequestState } from './http.js';
import type { Route } from './table.js';

export type IngestConfig = Pick<GatewayConfig, 'limits' | 'maxBodyBytes' | 'maxInflightBytes' | 'retryAfterS' | 'wsWindow' | 'wsMaxBackpressure' | 'keyRate'>;

export interface IngestDeps {
  readonly cfg: IngestConfig;
  readonly metrics: GatewayMetrics;
  readonly admission: Admission;
  readonly limiter: Pick<RateLimiter, 'take'>;
  /** Whether Kafka is known to be up (answers 503 at once when not). */
  readonly available: () => boolean;
  /** Hands valid events to Kafka; settles once Kafka answered for them. */
  readonly submit: (events: CheckedBatch['events'], now: number) => Promise<void>;
  readonly log: (message: string) => void;
  readonly clock?: () => number;
}

interface WsUser {
  readonly key: KeyRecord;
  readonly flow: WsFlow<Buffer>;
  tail: Promise<void>;
  closed: boolean;
}

export class IngestRoutes {
  private readonly sockets = new Set<WebSocket<WsUser>>();
  private readonly retryAfterMs: number;
  private readonly now: () => number;

  constructor(private readonly d: IngestDeps) {
    this.retryAfterMs = d.cfg.retryAfterS * 1000;
    this.now = d.clock ?? Date.now;
  }

  routes(): Route[] {
    return [
      { method: 'post', path: '/v1/events', handler: (res, req) => this.post(res, req) },
      { method: 'ws', path: '/v1/ingest', behavior: this.behavior() },
    ];
  }

  /** Ends every ingest socket (shutdown, after the batcher drained). */
  closeAll(): void {
    for (const ws of [...this.sockets]) {
      ws.getUserData().closed = true;
      ws.end(WS_CLOSE.GOING_AWAY, 'gateway shutting down');
    }
  }

  private checkAvailable(): void {
    if (!this.d.available()) throw new KafkaUnavailableError('Kafka is unavailable; nothing was written', this.retryAfterMs);
  }

  /** Rate limit, then Kafka; the promise settles once Kafka has answered for the valid events. */
  private async produce(batch: CheckedBatch, key: KeyRecord, now: number, transport: 'http' | 'ws'): Promise<void> {
    const wait = this.d.limiter.take(key.id, key, batch.total, now);
    if (wait > 0) throw new GatewayError('GW_RATE_LIMITED', `key ${key.id} is over its rate of ${key.rate ?? this.d.cfg.keyRate} events/s`, [], wait);
    if (batch.events.length > 0) {
      this.checkAvailable();
      await this.d.submit(batch.events, now);
    }
    this.d.metrics.accept(transport, batch.events.length);
    this.d.metrics.reject('GW_BAD_EVENT', batch.total - batch.events.length);
  }

  private asGatewayError(err: unknown): GatewayError {
    return err instanceof GatewayError ? err : new GatewayError('GW_KAFKA_UNAVAILABLE', (err as Error).message, [], this.retryAfterMs);
  }

  private post(res: HttpResponse, req: HttpRequest): void {
    const { cfg, metrics } = this.d;
    const state: RequestState = { aborted: false };
    const contentType = req.getHeader('content-type');
    const declared = Number(req.getHeader('content-length') || '0');
    let key: KeyRecord;
    const fail = (err: unknown, events = 0): void => {
      const e = this.asGatewayError(err);
      metrics.request(e.status);
      metrics.reject(e.code, events);
      const { status, body } = errorAnswer(e);
      reply(res, state, status, body, retryAfterOf(e));
    };
    try {
      // Only the header: a key in a URL ends up in proxy and access logs. The query form is for browser
      // WebSocket upgrades, which cannot set headers.
      key = this.d.admission.admit(keyFromRequest(req.getHeader('authorization'), undefined), 'ingest');
      bodyKind(contentType); // 415 before reading the body
      if (declared > cfg.maxBodyBytes) throw new GatewayError('GW_BODY_TOO_LARGE', `body is ${declared} bytes, the limit is ${cfg.maxBodyBytes}`);
      if (metrics.bytesInFlight + declared > cfg.maxInflightBytes) throw new GatewayError('GW_OVERLOADED', 'the gateway has too many bytes in flight; retry later', [], this.retryAfterMs);
      this.checkAvailable();
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
      const now = this.now();
      let batch: CheckedBatch;
      try {
        batch = checkHttpBatch(contentType, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), now, cfg.limits, cfg.maxBodyBytes);
      } catch (err) {
        release();
        fail(err);
        return;
      }
      this.produce(batch, key, now, 'http').then(
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
      ).catch((err: unknown) => this.d.log(`http: ${(err as Error).message}`));
    });
  }

  private send(ws: WebSocket<WsUser>, r: IngestReply): void {
    const user = ws.getUserData();
    if (user.closed) return;
    const max = this.d.cfg.wsMaxBackpressure;
    ws.cork(() => ws.send(encodeMsgpack(r), true));
    const buffered = ws.getBufferedAmount();
    if (buffered > max) {
      user.closed = true;
      ws.end(WS_CLOSE.ACKS_NOT_READ, `client is not reading acks (${buffered} bytes unread)`);
    } else if (buffered > max / 4) {
      user.flow.block();
    }
  }

  private nack(seq: number, err: GatewayError, errors: readonly FieldError[] = err.errors): IngestReply {
    return {
      seq, accepted: 0, acceptedIndexes: [], error: err.toWire(), errors,
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
    };
  }

  private processFrame(ws: WebSocket<WsUser>, frame: Buffer): void {
    const user = ws.getUserData();
    const now = this.now();
    let outcome: Promise<IngestReply>;
    try {
      const batch = checkFrame(frame, true, now, this.d.cfg.limits);
      outcome = this.produce(batch, user.key, now, 'ws').then(
        (): IngestReply => (batch.errors.length === 0
          ? { seq: batch.seq, accepted: batch.events.length }
          : {
            seq: batch.seq, accepted: batch.events.length, acceptedIndexes: batch.acceptedIndexes, errors: batch.errors,
            error: { code: 'GW_BAD_EVENT', message: `${batch.total - batch.events.length} of ${batch.total} events are invalid and were not accepted`, retriable: false },
          }),
        (err: unknown) => {
          const e = this.asGatewayError(err);
          this.d.metrics.reject(e.code, batch.total);
          return this.nack(batch.seq, e);
        },
      );
    } catch (err) {
      if (err instanceof BadFrameError) {
        user.closed = true;
        ws.end(WS_CLOSE.BAD_FRAME, err.message);
        return;
      }
      const e = err as GatewayError & { seq: number };
      this.d.metrics.reject(e.code, 1);
      outcome = Promise.resolve(this.nack(e.seq, e));
    }
    // Answers go out in the order the frames came in.
    user.tail = user.tail.then(() => outcome).then((r) => {
      if (user.closed) return;
      this.send(ws, r);
      if (!user.closed) for (const next of user.flow.done()) this.processFrame(ws, next);
    }).catch((err: unknown) => this.d.log(`ws: ${(err as Error).message}`)); // never an unhandled rejection
  }

  private behavior(): Extract<Route, { method: 'ws' }>['behavior'] {
    const { cfg, metrics } = this.d;
    return {
      maxPayloadLength: cfg.maxBodyBytes,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      // uWS drops sends above maxBackpressure; the gateway closes the socket itself well before that.
      maxBackpressure: cfg.wsMaxBackpressure * 4,
      upgrade: (res, req, context) => {
        const admitted = this.d.admission.request(res, req, 'ingest');
        if (!admitted) return;
        const user: WsUser = { key: admitted.key, flow: new WsFlow(cfg.wsWindow), tail: Promise.resolve(), closed: false };
        res.upgrade(user, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
      },
      open: (ws: WebSocket<WsUser>) => {
        this.sockets.add(ws);
        metrics.openSockets++;
      },
      message: (ws: WebSocket<WsUser>, message, isBinary) => {
        const user = ws.getUserData();
        if (user.closed) return;
        if (!isBinary) {
          user.closed = true;
          ws.end(WS_CLOSE.BAD_FRAME, 'frames must be binary msgpack {seq, events}');
          return;
        }
        const frame = Buffer.from(message.slice(0)); // the ArrayBuffer is neutered after this callback
        const offer = user.flow.offer(frame);
        if (offer === 'process') this.processFrame(ws, frame);
        else if (offer === 'close') {
          user.closed = true;
          ws.end(WS_CLOSE.WINDOW_EXCEEDED, `more than ${2 * cfg.wsWindow} frames without acks: keep at most ${cfg.wsWindow} in flight`);
        }
      },
      drain: (ws: WebSocket<WsUser>) => {
        const user = ws.getUserData();
        if (!user.closed && ws.getBufferedAmount() <= cfg.wsMaxBackpressure / 4) for (const next of user.flow.unblock()) this.processFrame(ws, next);
      },
      close: (ws: WebSocket<WsUser>) => {
        ws.getUserData().closed = true;
        this.sockets.delete(ws);
        metrics.openSockets--;
      },
    };
  }
}
