/**
 * `/healthz` (the process serves), `/readyz` (Kafka answers now and the live horizon has been replayed)
 * and `/metrics` (Prometheus text, every thread's metrics summed when several serve).
 */
import type { LiveAccess } from '../live/access.js';
import { renderMetrics, type MetricsSnapshot } from '../metrics.js';
import { reply, watchAbort } from './http.js';
import type { Route } from './table.js';

export interface HealthDeps {
  /** Kafka answers a metadata request now (within the probe's own timeout). */
  readonly kafkaReachable: () => Promise<boolean>;
  readonly live: Pick<LiveAccess, 'ready'>;
  readonly retryAfterS: number;
  /** This thread's metrics. */
  readonly snapshot: () => MetricsSnapshot;
  /** Every thread's metrics (threads.ts); default: this thread's alone. */
  readonly collect?: (own: MetricsSnapshot) => Promise<MetricsSnapshot[]>;
}

const PROMETHEUS = 'text/plain; version=0.0.4';

export function healthRoutes(d: HealthDeps): Route[] {
  return [
    {
      method: 'get', path: '/healthz', handler: (res) => {
        res.writeHeader('content-type', 'application/json').end('{"status":"ok"}');
      },
    },
    {
      method: 'get', path: '/readyz', handler: (res) => {
        const state = watchAbort(res);
        void d.kafkaReachable().then((ok) => {
          if (!ok) return reply(res, state, 503, { code: 'GW_KAFKA_UNAVAILABLE', message: 'Kafka is not reachable', retriable: true }, d.retryAfterS);
          if (!d.live.ready()) return reply(res, state, 503, { code: 'GW_LIVE_REPLAYING', message: 'the live view is still replaying its horizon from the deltas topic', retriable: true }, d.retryAfterS);
          reply(res, state, 200, { status: 'ready' });
        });
      },
    },
    {
      method: 'get', path: '/metrics', handler: (res) => {
        const own = d.snapshot();
        if (!d.collect) {
          res.writeHeader('content-type', PROMETHEUS).end(renderMetrics([own]));
          return;
        }
        const state = watchAbort(res);
        void d.collect(own).catch(() => [own]).then((all) => {
          if (!state.aborted) res.cork(() => res.writeHeader('content-type', PROMETHEUS).end(renderMetrics(all)));
        });
      },
    },
  ];
}
