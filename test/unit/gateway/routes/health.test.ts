import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../../../../gateway/metrics.js';
import { healthRoutes } from '../../../../gateway/routes/health.js';
import { asRes, FakeRes, fakeReq, handler } from './fake-uws.js';

const flush = () => new Promise((r) => setImmediate(r));

function routes(o: { kafka?: boolean; ready?: boolean; collect?: boolean } = {}) {
  const m = new GatewayMetrics();
  m.accept('http', 5);
  return healthRoutes({
    kafkaReachable: async () => o.kafka ?? true,
    live: { ready: () => o.ready ?? true },
    retryAfterS: 2,
    snapshot: () => m.snapshot({ adme_stream_viewers: 3 }),
    collect: o.collect ? async (own) => [own, own] : undefined,
  });
}

describe('health routes', () => {
  it('/healthz answers ok', () => {
    const res = new FakeRes();
    handler(routes(), 'get', '/healthz')(asRes(res), fakeReq());
    expect([res.code, res.json()]).toEqual([200, { status: 'ok' }]);
  });

  it('/readyz is 200 only with Kafka reachable and the live horizon replayed', async () => {
    const answers = [];
    for (const o of [{}, { kafka: false }, { ready: false }]) {
      const res = new FakeRes();
      handler(routes(o), 'get', '/readyz')(asRes(res), fakeReq());
      await flush();
      answers.push([res.code, res.json().code ?? res.json().status, res.headers['retry-after']]);
    }
    expect(answers).toEqual([[200, 'ready', undefined], [503, 'GW_KAFKA_UNAVAILABLE', '2'], [503, 'GW_LIVE_REPLAYING', '2']]);
  });

  it('/readyz writes nothing once the client went away', async () => {
    const res = new FakeRes();
    handler(routes(), 'get', '/readyz')(asRes(res), fakeReq());
    res.clientGone();
    await flush();
    expect(res.ended).toBe(false);
  });

  it('/metrics renders this thread alone, or the sum of every thread', async () => {
    const one = new FakeRes();
    handler(routes(), 'get', '/metrics')(asRes(one), fakeReq());
    expect(one.body).toContain('adme_gateway_events_accepted_total{transport="http"} 5\n');
    expect(one.body).toContain('adme_stream_viewers 3\n');
    expect(one.body).toContain('adme_gateway_threads 1\n');
    const two = new FakeRes();
    handler(routes({ collect: true }), 'get', '/metrics')(asRes(two), fakeReq());
    await flush();
    expect(two.body).toContain('adme_gateway_events_accepted_total{transport="http"} 10\n');
    expect(two.body).toContain('adme_gateway_threads 2\n');
  });
});
