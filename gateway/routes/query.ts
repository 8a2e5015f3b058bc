/** The query API's GET endpoints (docs/api.md): admitted with a `view` key, answered by the live view's QueryApi. */
import type { LiveAccess } from '../live/access.js';
import type { GatewayMetrics } from '../metrics.js';
import { QUERY_PATHS } from '../query/api.js';
import { reply, wantsMsgpack, type Admission } from './http.js';
import type { Route } from './table.js';

export function queryRoutes(d: { readonly live: Pick<LiveAccess, 'query'>; readonly admission: Admission; readonly metrics: Pick<GatewayMetrics, 'request'> }): Route[] {
  return QUERY_PATHS.map((path): Route => ({
    method: 'get',
    path,
    handler: (res, req) => {
      const admitted = d.admission.request(res, req, 'view', (status) => d.metrics.request(status));
      if (!admitted) return;
      const { state } = admitted;
      // Read before the await: uWS's request object is valid only during the handler.
      const qs = req.getQuery() ?? '';
      const msgpack = wantsMsgpack(req.getHeader('accept'));
      void d.live.query(path, qs).then((a) => {
        d.metrics.request(a.status);
        reply(res, state, a.status, a.body, undefined, msgpack);
      });
    },
  }));
}
