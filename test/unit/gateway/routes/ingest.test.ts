import { describe, expect, it } from 'vitest';
import { DEFAULT_EVENT_LIMITS, WS_CLOSE, type AdEvent } from '../../../../actors/model/index.js';
import { decodeMsgpack, encodeMsgpack } from '../../../../gateway/ingest.js';
import { GatewayMetrics } from '../../../../gateway/metrics.js';
import { IngestRoutes, type IngestConfig } from '../../../../gateway/routes/ingest.js';
import { admission, asRes, behavior, FakeRes, fakeReq, FakeWs, handler } from './fake-uws.js';

const NOW = Date.UTC(2026, 0, 1);
const cfg: IngestConfig = {
  limits: DEFAULT_EVENT_LIMITS, maxBodyBytes: 4096, maxInflightBytes: 1 << 20, retryAfterS: 1, wsWindow: 2, wsMaxBackpressure: 1 << 20, keyRate: 1000,
};
const event = (userId: string): AdEvent => ({ userId, type: 'click', ts: NOW, lat: 48.85, lon: 2.35 });
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function setup(o: { available?: boolean; fail?: boolean; tokens?: number } = {}) {
  const submitted: AdEvent[][] = []; // decoded back from the bytes that would go to Kafka
  const metrics = new GatewayMetrics();
  let tokens = o.tokens ?? Infinity;
  const ingest = new IngestRoutes({
    cfg, metrics, admission, log: () => undefined, clock: () => NOW,
    limiter: { take: (_id, _key, n) => ((tokens -= n) >= 0 ? 0 : 500) },
    available: () => o.available ?? true,
    submit: async (events) => {
      if (o.fail) throw new Error('broker gone');
      submitted.push(events.map((e) => decodeMsgpack(e.bytes) as AdEvent));
    },
  });
  return { routes: ingest.routes(), submitted, metrics };
}

const post = async (routes: ReturnType<typeof setup>['routes'], headers: Record<string, string>, body?: string | Buffer) => {
  const res = new FakeRes();
  handler(routes, 'post', '/v1/events')(asRes(res), fakeReq({ headers: { authorization: 'Bearer ingest-key', 'content-type': 'application/json', ...headers } }));
  if (body !== undefined && !res.ended) res.send(body);
  await flush();
  return res;
};

describe('ingest routes: POST /v1/events', () => {
  it('answers 200 with the count once the events were submitted, JSON and msgpack', async () => {
    const s = setup();
    const a = await post(s.routes, {}, JSON.stringify([event('u1'), event('u2')]));
    const b = await post(s.routes, { 'content-type': 'application/msgpack' }, encodeMsgpack(event('u3')));
    expect([a.code, a.json(), b.code, b.json()]).toEqual([200, { accepted: 2 }, 200, { accepted: 1 }]);
    expect(s.submitted.map((evs) => evs.map((e) => e.userId))).toEqual([['u1', 'u2'], ['u3']]);
    expect(s.metrics.accepted.get('http')).toBe(3);
  });

  it('refuses before reading the body: no key, a view key, another type, too large, Kafka down', async () => {
    const cases = [
      await post(setup().routes, { authorization: '' }),
      await post(setup().routes, { authorization: 'Bearer view-key' }),
      await post(setup().routes, { 'content-type': 'text/plain' }),
      await post(setup().routes, { 'content-length': '5000' }),
      await post(setup({ available: false }).routes, {}),
    ];
    expect(cases.map((r) => [r.code, r.json().code])).toEqual([[401, 'GW_UNAUTHENTICATED'], [403, 'GW_FORBIDDEN'], [415, 'GW_UNSUPPORTED_MEDIA_TYPE'], [413, 'GW_BODY_TOO_LARGE'], [503, 'GW_KAFKA_UNAVAILABLE']]);
  });

  it('produces the valid events of a partly bad batch and names the bad ones; 503 when Kafka fails, 429 over the rate', async () => {
    const s = setup();
    const partial = await post(s.routes, {}, JSON.stringify([event('u1'), { ...event('u2'), lat: 200 }]));
    expect([partial.code, partial.json().code, partial.json().accepted, partial.json().acceptedIndexes]).toEqual([400, 'GW_BAD_EVENT', 1, [0]]);
    expect(s.submitted).toEqual([[event('u1')]]);
    const failed = await post(setup({ fail: true }).routes, {}, JSON.stringify(event('u1')));
    expect([failed.code, failed.json().code, failed.json().accepted, failed.headers['retry-after']]).toEqual([503, 'GW_KAFKA_UNAVAILABLE', 0, '1']);
    const limited = await post(setup({ tokens: 1 }).routes, {}, JSON.stringify([event('u1'), event('u2')]));
    expect([limited.code, limited.json().code, limited.json().retryAfterMs]).toEqual([429, 'GW_RATE_LIMITED', 500]);
  });
});

describe('ingest routes: WS /v1/ingest', () => {
  const open = (routes: ReturnType<typeof setup>['routes']) => {
    const b = behavior(routes, '/v1/ingest');
    const res = new FakeRes();
    b.upgrade(asRes(res), fakeReq({ headers: { authorization: 'Bearer ingest-key' } }), {});
    const ws = new FakeWs(res.upgraded);
    const sock = ws;
    b.open(sock);
    const send = (m: unknown, binary = true) => {
      const bytes = encodeMsgpack(m);
      b.message(sock, Uint8Array.from(bytes).buffer, binary);
    };
    return { b, ws, sock, send };
  };

  it('acks every frame in order after Kafka, and closes on a text frame', async () => {
    const s = setup();
    const c = open(s.routes);
    c.send({ seq: 0, events: [event('u1')] });
    c.send({ seq: 1, events: [event('u2'), event('u3')] });
    await flush();
    expect(c.ws.sent.map((m) => decodeMsgpack(m))).toEqual([{ seq: 0, accepted: 1 }, { seq: 1, accepted: 2 }]);
    expect(s.metrics.openSockets).toBe(1);
    c.send({ seq: 2, events: [] }, false);
    expect(c.ws.endedWith?.[0]).toBe(WS_CLOSE.BAD_FRAME);
    c.b.close(c.sock, 1000, new ArrayBuffer(0));
    expect(s.metrics.openSockets).toBe(0);
  });

  it('refuses an upgrade without an ingest key', () => {
    const res = new FakeRes();
    behavior(setup().routes, '/v1/ingest').upgrade(asRes(res), fakeReq({ query: 'key=view-key' }), {});
    expect([res.code, res.json().code, res.upgraded]).toEqual([403, 'GW_FORBIDDEN', undefined]);
  });
});
