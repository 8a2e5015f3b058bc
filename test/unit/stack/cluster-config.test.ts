import { describe, expect, it } from 'vitest';
import { initialToken, cassandraYaml } from '../../../stack/cassandra.js';
import { ConfigError, loadStackConfig } from '../../../stack/config.js';
import { kafkaServerProperties } from '../../../stack/kafka.js';
import { ROOT } from '../../support/env.js';

const props = (text: string) => new Map(text.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
const cluster = (env: Record<string, string> = {}) => loadStackConfig(ROOT, { ADME_STATE_DIR: '/s', ADME_NODES: '3', ...env });

describe('a local cluster (ADME_NODES=3)', () => {
  it('defaults: brokers on consecutive ports, controllers after them, Cassandra on 127.0.0.1-3, smaller heaps', () => {
    const c = cluster();
    expect(c.nodes).toBe(3);
    expect(c.kafka.brokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093', '127.0.0.1:9094']);
    expect(c.kafka.controllerPort).toBe(9095);
    expect(c.cassandra.contactPoints).toEqual(['127.0.0.1:9042', '127.0.0.2:9042', '127.0.0.3:9042']);
    expect([c.kafka.heap, c.cassandra.heap]).toEqual(['512m', '768m']);
    // One node: unchanged.
    const one = loadStackConfig(ROOT, { ADME_STATE_DIR: '/s' });
    expect([one.nodes, one.kafka.brokers, one.kafka.controllerPort, one.cassandra.contactPoints, one.kafka.heap]).toEqual([1, ['127.0.0.1:9092'], 9093, ['127.0.0.1:9042'], '1g']);
  });

  it('every per-node port follows the base ports', () => {
    const c = cluster({ ADME_KAFKA_PORT: '29092', ADME_CASSANDRA_PORT: '29042', ADME_CASSANDRA_STORAGE_PORT: '27000' });
    expect(c.kafka.brokers).toEqual(['127.0.0.1:29092', '127.0.0.1:29093', '127.0.0.1:29094']);
    const p2 = props(kafkaServerProperties(c, '/d', 2));
    expect(p2.get('node.id')).toBe('2');
    expect(p2.get('listeners')).toBe('PLAINTEXT://127.0.0.1:29093,CONTROLLER://127.0.0.1:29096');
    expect(p2.get('controller.quorum.voters')).toBe('1@127.0.0.1:29095,2@127.0.0.1:29096,3@127.0.0.1:29097');
    expect([p2.get('default.replication.factor'), p2.get('min.insync.replicas'), p2.get('offsets.topic.replication.factor')]).toEqual(['3', '2', '3']);
    const yaml = cassandraYaml(c, '/d', 3);
    expect(yaml).toContain('listen_address: 127.0.0.3\n');
    expect(yaml).toContain('native_transport_port: 29042\n');
    expect(yaml).toContain('seeds: "127.0.0.1:27000,127.0.0.2:27000,127.0.0.3:27000"');
  });

  it('tokens split the Murmur3 ring evenly; one node keeps token 0', () => {
    expect(initialToken(1, 1)).toBe('0');
    const t = [1, 2, 3].map((n) => BigInt(initialToken(3, n)));
    expect(t[0]).toBe(-(2n ** 63n));
    expect(t[1]! - t[0]!).toBe(t[2]! - t[1]!);
    expect(t[2]! < 2n ** 63n - 1n).toBe(true);
  });

  it('refuses node counts and port ranges that cannot work', () => {
    expect(() => cluster({ ADME_NODES: '0' })).toThrow(new ConfigError('ADME_NODES', 'must be an integer from 1 to 9, got "0"'));
    expect(() => cluster({ ADME_KAFKA_CONTROLLER_PORT: '9093' })).toThrow(/ADME_KAFKA_CONTROLLER_PORT: 9093-9095 overlaps the broker ports 9092-9094/);
    expect(() => cluster({ ADME_KAFKA_PORT: '65534' })).toThrow(/ADME_KAFKA_PORT: 65534 \+ 2 more nodes goes past port 65535/);
  });
});
