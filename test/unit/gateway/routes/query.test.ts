import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../../../../gateway/metrics.js';
import { QUERY_PATHS } from '../../../../gateway/query/api.js';
import { queryRoutes } from '../../../../gateway/routes/query.js';
import { admission, asRes, FakeRes, fakeReq, handler } from './fake-uws.js';

const flush = () => new Promise((r) => setImmediate(r));

describe('query routes', () => {
  it('registers every query path and answers with the live view\'s answer for a view key', async () => {
    const asked: string[] = [];
    const metrics = new GatewayMetrics();
    const routes = queryRoutes({ admission, metrics, live: { query: async (path, qs) => (asked.push(`${path}?${qs}`), { status: 200, body: { path } }) } });
    expect(routes.map((r) => r.path)).toEqual([...QUERY_PATHS]);
    const res = new FakeRes();
    handler(routes, 'get', '/v1/summary')(asRes(res), fakeReq({ headers: { authorization: 'Bearer view-key' }, query: 'app=a&app=b' }));
    await flush();
    expect([res.code, res.json()]).toEqual([200, { path: '/v1/summary' }]);
    expect(asked).toEqual(['/v1/summary?app=a&app=b']);
    expect(metrics.requests.get('200')).toBe(1);
  });

  it('refuses a missing, unknown or ingest-only key without asking the live view, and takes ?key=', async () => {
    const asked: string[] = [];
    const metrics = new GatewayMetrics();
    const routes = queryRoutes({ admission, metrics, live: { query: async (path) => (asked.push(path), { status: 200, body: {} }) } });
    const codes = [];
    for (const req of [fakeReq(), fakeReq({ headers: { authorization: 'Bearer nope' } }), fakeReq({ headers: { authorization: 'Bearer ingest-key' } }), fakeReq({ query: 'key=view-key' })]) {
      const res = new FakeRes();
      handler(routes, 'get', '/v1/top')(asRes(res), req);
      await flush();
      codes.push([res.code, res.json().code ?? 'answered']);
    }
    expect(codes).toEqual([[401, 'GW_UNAUTHENTICATED'], [401, 'GW_UNAUTHENTICATED'], [403, 'GW_FORBIDDEN'], [200, 'answered']]);
    expect(asked).toEqual(['/v1/top']);
    expect(Object.fromEntries(metrics.requests)).toEqual({ 401: 2, 403: 1, 200: 1 });
  });
});
