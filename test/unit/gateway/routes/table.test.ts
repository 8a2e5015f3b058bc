import { describe, expect, it } from 'vitest';
import { describeRoutes, mount, type Route } from '../../../../gateway/routes/table.js';
import type { TemplatedApp } from '../../../../gateway/uws.js';

describe('route table', () => {
  it('mounts every route on the app with its method, in table order', () => {
    const calls: string[] = [];
    const app = Object.fromEntries(['get', 'post', 'any', 'ws'].map((m) => [m, (path: string) => calls.push(`${m} ${path}`)])) as unknown as TemplatedApp;
    const h = () => undefined;
    const routes: Route[] = [
      { method: 'post', path: '/v1/events', handler: h },
      { method: 'ws', path: '/v1/ingest', behavior: {} },
      { method: 'get', path: '/healthz', handler: h },
      { method: 'any', path: '/*', handler: h },
    ];
    mount(app, routes);
    expect(calls).toEqual(['post /v1/events', 'ws /v1/ingest', 'get /healthz', 'any /*']);
    expect(describeRoutes(routes)).toEqual(['POST /v1/events', 'WS /v1/ingest', 'GET /healthz', 'ANY /*']);
  });
});
