/** The viewer's files (viz/dist) at `/`, and 404 for every other path. */
import type { StaticFile } from '../static.js';
import { NOT_BUILT } from '../static.js';
import { NOT_FOUND, reply } from './http.js';
import type { Route } from './table.js';

export function staticRoutes(files: ReadonlyMap<string, StaticFile>): Route[] {
  return [
    {
      method: 'get', path: '/*', handler: (res, req) => {
        const url = req.getUrl();
        const f = files.get(url);
        if (f) {
          res.cork(() => {
            res.writeHeader('content-type', f.type);
            res.writeHeader('cache-control', f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
            res.end(f.body);
          });
        } else if (url === '/' || url === '/index.html') {
          res.writeStatus('503 Service Unavailable').writeHeader('content-type', 'text/html; charset=utf-8').end(NOT_BUILT);
        } else {
          reply(res, { aborted: false }, 404, NOT_FOUND);
        }
      },
    },
    { method: 'any', path: '/*', handler: (res) => reply(res, { aborted: false }, 404, NOT_FOUND) },
  ];
}
