/** The gateway's Prometheus metrics (text exposition format 0.0.4), kept in plain counters. */

const BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

export class Histogram {
  readonly counts = new Array<number>(BUCKETS_MS.length).fill(0);
  sum = 0;
  count = 0;
  observe(ms: number): void {
    this.sum += ms;
    this.count++;
    for (let i = 0; i < BUCKETS_MS.length; i++) if (ms <= BUCKETS_MS[i]!) this.counts[i]!++;
  }
}

export class GatewayMetrics {
  readonly accepted = new Map<string, number>();
  readonly rejected = new Map<string, number>();
  readonly requests = new Map<string, number>();
  readonly produce = new Histogram();
  produceFailures = 0;
  produceResends = 0;
  bytesInFlight = 0;
  openSockets = 0;

  private static inc(m: Map<string, number>, key: string, n: number): void {
    m.set(key, (m.get(key) ?? 0) + n);
  }

  accept(transport: 'http' | 'ws', n: number): void {
    if (n > 0) GatewayMetrics.inc(this.accepted, transport, n);
  }

  /** `reason` is a stable error code (GW_BAD_EVENT, GW_RATE_LIMITED, ...). */
  reject(reason: string, n: number): void {
    if (n > 0) GatewayMetrics.inc(this.rejected, reason, n);
  }

  request(status: number): void {
    GatewayMetrics.inc(this.requests, String(status), 1);
  }

  /** Plain data of every metric: what crosses threads to be merged (see threads.ts). */
  snapshot(extra: Record<string, number> = {}): MetricsSnapshot {
    return {
      accepted: [...this.accepted], rejected: [...this.rejected], requests: [...this.requests],
      produce: { counts: [...this.produce.counts], sum: this.produce.sum, count: this.produce.count },
      produceFailures: this.produceFailures, produceResends: this.produceResends, bytesInFlight: this.bytesInFlight, openSockets: this.openSockets, extra,
    };
  }

  render(extra: Record<string, number> = {}): string {
    return renderMetrics([this.snapshot(extra)]);
  }
}

/**
 * This thread's V8 heap and off-heap buffers (gauges summed over threads), and with `withRss` the
 * process's resident set (once per process).
 */
export function memoryGauges(withRss: boolean): Record<string, number> {
  const m = process.memoryUsage();
  return {
    adme_gateway_heap_used_bytes: m.heapUsed,
    adme_gateway_heap_total_bytes: m.heapTotal,
    adme_gateway_external_bytes: m.external,
    ...(withRss ? { adme_gateway_rss_bytes: m.rss } : {}),
  };
}

export interface MetricsSnapshot {
  readonly accepted: [string, number][];
  readonly rejected: [string, number][];
  readonly requests: [string, number][];
  readonly produce: { readonly counts: number[]; readonly sum: number; readonly count: number };
  readonly produceFailures: number;
  readonly produceResends: number;
  readonly bytesInFlight: number;
  readonly openSockets: number;
  /** Gauges, summed over threads (`*_available` gauges take the minimum). */
  readonly extra: Record<string, number>;
}

function merged(entries: [string, number][][]): Map<string, number> {
  const m = new Map<string, number>();
  for (const list of entries) for (const [k, v] of list) m.set(k, (m.get(k) ?? 0) + v);
  return m;
}

/** Prometheus text of one or several threads' metrics, summed. */
export function renderMetrics(snaps: readonly MetricsSnapshot[]): string {
  const out: string[] = [];
  const sum = (f: (s: MetricsSnapshot) => number) => snaps.reduce((n, s) => n + f(s), 0);
  const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  family('adme_gateway_events_accepted_total', 'counter', 'Events acknowledged by Kafka and answered as accepted.');
  for (const [t, n] of merged(snaps.map((s) => s.accepted))) out.push(`adme_gateway_events_accepted_total{transport="${t}"} ${n}`);
  family('adme_gateway_events_rejected_total', 'counter', 'Events not accepted, by reason (error code).');
  for (const [r, n] of merged(snaps.map((s) => s.rejected))) out.push(`adme_gateway_events_rejected_total{reason="${r}"} ${n}`);
  family('adme_gateway_http_requests_total', 'counter', 'HTTP ingest requests by status.');
  for (const [st, n] of merged(snaps.map((s) => s.requests))) out.push(`adme_gateway_http_requests_total{status="${st}"} ${n}`);
  family('adme_gateway_produce_duration_seconds', 'histogram', 'Kafka produce latency (acks=all), per produce call.');
  BUCKETS_MS.forEach((b, i) => out.push(`adme_gateway_produce_duration_seconds_bucket{le="${b / 1000}"} ${sum((s) => s.produce.counts[i] ?? 0)}`));
  out.push(`adme_gateway_produce_duration_seconds_bucket{le="+Inf"} ${sum((s) => s.produce.count)}`);
  out.push(`adme_gateway_produce_duration_seconds_sum ${sum((s) => s.produce.sum) / 1000}`);
  out.push(`adme_gateway_produce_duration_seconds_count ${sum((s) => s.produce.count)}`);
  family('adme_gateway_produce_failures_total', 'counter', 'Produce calls Kafka did not acknowledge.');
  out.push(`adme_gateway_produce_failures_total ${sum((s) => s.produceFailures)}`);
  family('adme_gateway_produce_resends_total', 'counter', 'Partitions sent again because Kafka\'s answer to a produce left them out (a leader change during the call).');
  out.push(`adme_gateway_produce_resends_total ${sum((s) => s.produceResends)}`);
  family('adme_gateway_bytes_in_flight', 'gauge', 'Request bytes received and not yet answered.');
  out.push(`adme_gateway_bytes_in_flight ${sum((s) => s.bytesInFlight)}`);
  family('adme_gateway_open_sockets', 'gauge', 'Open WebSocket connections.');
  out.push(`adme_gateway_open_sockets ${sum((s) => s.openSockets)}`);
  const names = [...new Set(snaps.flatMap((s) => Object.keys(s.extra)))];
  for (const name of names) {
    const values = snaps.map((s) => s.extra[name] ?? 0);
    family(name, 'gauge', `${name.replace(/^adme_gateway_/, '').replace(/_/g, ' ')}.`);
    out.push(`${name} ${name.endsWith('_available') ? Math.min(...values) : values.reduce((a, b) => a + b, 0)}`);
  }
  family('adme_gateway_threads', 'gauge', 'Gateway threads whose metrics are summed here.');
  out.push(`adme_gateway_threads ${snaps.length}`);
  return `${out.join('\n')}\n`;
}
