import { describe, expect, it } from 'vitest';
import { staticRoutes } from '../../../../gateway/routes/static.js';
import type { StaticFile } from '../../../../gateway/static.js';
import { asRes, FakeRes, fakeReq, handler } from './fake-uws.js';

const page: StaticFile = { type: 'text/html; charset=utf-8', body: Buffer.from('<p>map</p>'), immutable: false };
const asset: StaticFile = { type: 'text/javascript; charset=utf-8', body: Buffer.from('x=1'), immutable: true };

describe('static routes', () => {
  it('serves the built files with their type and cache policy, 404 elsewhere', () => {
    const routes = staticRoutes(new Map([['/', page], ['/assets/a-1.js', asset]]));
    const get = (url: string) => {
      const res = new FakeRes();
      handler(routes, 'get', '/*')(asRes(res), fakeReq({ url }));
      return [res.code, res.headers['content-type'], res.headers['cache-control'], res.body];
    };
    expect(get('/')).toEqual([200, 'text/html; charset=utf-8', 'no-cache', '<p>map</p>']);
    expect(get('/assets/a-1.js')).toEqual([200, 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable', 'x=1']);
    expect(get('/nope')).toEqual([404, 'application/json', undefined, '{"code":"GW_NOT_FOUND","message":"no such endpoint","retriable":false}']);
    const post = new FakeRes();
    handler(routes, 'any', '/*')(asRes(post), fakeReq({ url: '/v1/nope' }));
    expect([post.code, post.json().code]).toEqual([404, 'GW_NOT_FOUND']);
  });

  it('answers / with 503 and how to build the viewer when it is not built', () => {
    const res = new FakeRes();
    handler(staticRoutes(new Map()), 'get', '/*')(asRes(res), fakeReq({ url: '/' }));
    expect(res.code).toBe(503);
    expect(res.body).toContain('The viewer is not built');
  });
});
