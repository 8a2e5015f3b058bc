import { describe, expect, it } from 'vitest';
import { GatewayMetrics, renderMetrics } from '../../../gateway/metrics.js';

const line = (text: string, name: string) => text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));

describe('gateway metrics', () => {
  it('renders Prometheus text with labels and a cumulative histogram', () => {
    const m = new GatewayMetrics();
    m.accept('http', 10);
    m.accept('ws', 5);
    m.reject('GW_BAD_EVENT', 2);
    m.request(200);
    m.produce.observe(3);
    m.produce.observe(40);
    const text = m.render({ adme_gateway_kafka_available: 1 });
    expect(text).toContain('adme_gateway_events_accepted_total{transport="http"} 10\n');
    expect(text).toContain('adme_gateway_events_rejected_total{reason="GW_BAD_EVENT"} 2\n');
    expect(text).toContain('adme_gateway_produce_duration_seconds_bucket{le="0.005"} 1\n');
    expect(text).toContain('adme_gateway_produce_duration_seconds_bucket{le="0.05"} 2\n');
    expect(text).toContain('adme_gateway_produce_duration_seconds_count 2\n');
    expect(line(text, 'adme_gateway_produce_duration_seconds_sum')).toBe('adme_gateway_produce_duration_seconds_sum 0.043');
  });

  it('sums threads, and a Kafka-available gauge is the minimum', () => {
    const a = new GatewayMetrics();
    const b = new GatewayMetrics();
    a.accept('http', 3);
    b.accept('http', 4);
    b.accept('ws', 1);
    a.openSockets = 2;
    b.openSockets = 5;
    const text = renderMetrics([
      a.snapshot({ adme_gateway_kafka_available: 1, adme_gateway_events_waiting: 7 }),
      b.snapshot({ adme_gateway_kafka_available: 0, adme_gateway_events_waiting: 1 }),
    ]);
    expect(line(text, 'adme_gateway_events_accepted_total{transport="http"}')).toBe('adme_gateway_events_accepted_total{transport="http"} 7');
    expect(line(text, 'adme_gateway_events_accepted_total{transport="ws"}')).toBe('adme_gateway_events_accepted_total{transport="ws"} 1');
    expect(line(text, 'adme_gateway_open_sockets')).toBe('adme_gateway_open_sockets 7');
    expect(line(text, 'adme_gateway_kafka_available')).toBe('adme_gateway_kafka_available 0');
    expect(line(text, 'adme_gateway_events_waiting')).toBe('adme_gateway_events_waiting 8');
    expect(line(text, 'adme_gateway_threads')).toBe('adme_gateway_threads 2');
  });
});
