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

  render(extra: Record<string, number> = {}): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family('adme_gateway_events_accepted_total', 'counter', 'Events acknowledged by Kafka and answered as accepted.');
    for (const [t, n] of this.accepted) out.push(`adme_gateway_events_accepted_total{transport="${t}"} ${n}`);
    family('adme_gateway_events_rejected_total', 'counter', 'Events not accepted, by reason (error code).');
    for (const [r, n] of this.rejected) out.push(`adme_gateway_events_rejected_total{reason="${r}"} ${n}`);
    family('adme_gateway_http_requests_total', 'counter', 'HTTP ingest requests by status.');
    for (const [s, n] of this.requests) out.push(`adme_gateway_http_requests_total{status="${s}"} ${n}`);
    family('adme_gateway_produce_duration_seconds', 'histogram', 'Kafka produce latency (acks=all), per produce call.');
    BUCKETS_MS.forEach((b, i) => out.push(`adme_gateway_produce_duration_seconds_bucket{le="${b / 1000}"} ${this.produce.counts[i]}`));
    out.push(`adme_gateway_produce_duration_seconds_bucket{le="+Inf"} ${this.produce.count}`);
    out.push(`adme_gateway_produce_duration_seconds_sum ${this.produce.sum / 1000}`);
    out.push(`adme_gateway_produce_duration_seconds_count ${this.produce.count}`);
    family('adme_gateway_produce_failures_total', 'counter', 'Produce calls Kafka did not acknowledge.');
    out.push(`adme_gateway_produce_failures_total ${this.produceFailures}`);
    family('adme_gateway_bytes_in_flight', 'gauge', 'Request bytes received and not yet answered.');
    out.push(`adme_gateway_bytes_in_flight ${this.bytesInFlight}`);
    family('adme_gateway_open_sockets', 'gauge', 'Open WebSocket connections.');
    out.push(`adme_gateway_open_sockets ${this.openSockets}`);
    for (const [name, v] of Object.entries(extra)) {
      family(name, 'gauge', name.replace(/^adme_gateway_/, '').replace(/_/g, ' ') + '.');
      out.push(`${name} ${v}`);
    }
    return `${out.join('\n')}\n`;
  }
}
