import { describe, expect, it } from 'vitest';
import { ConfigError, loadStackConfig } from '../../../stack/config.js';
import { kafkaServerProperties, newClusterId } from '../../../stack/kafka.js';
import { parseJavaVersion } from '../../../stack/tools.js';

const ROOT = '/srv/adme';

describe('loadStackConfig', () => {
  it('defaults: local servers on the standard ports, state in the project, cache per user', () => {
    const c = loadStackConfig(ROOT, { XDG_CACHE_HOME: '/home/u/.cache' });
    expect(c.stateDir).toBe('/srv/adme/.adme');
    expect(c.cacheDir).toBe('/home/u/.cache/adme');
    expect(c.kafka).toEqual({ brokers: ['127.0.0.1:9092'], external: false, port: 9092, controllerPort: 9093, heap: '1g' });
    expect(c.cassandra.contactPoints).toEqual(['127.0.0.1:9042']);
    expect(c.cassandra.external).toBe(false);
    expect(c.mongo).toEqual({ url: 'mongodb://127.0.0.1:27017/', external: false, port: 27017 });
    expect(c.bootTimeoutS).toBe(240);
    expect(c.stopTimeoutS).toBe(30);
  });

  it('address variables make a server external', () => {
    const c = loadStackConfig(ROOT, {
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      CASSANDRA_CONTACT_POINTS: 'c1:9042',
      MONGO_URL: 'mongodb://m1:27017/?replicaSet=rs0',
    });
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(c.kafka.external).toBe(true);
    expect(c.cassandra.contactPoints).toEqual(['c1:9042']);
    expect(c.cassandra.external).toBe(true);
    expect(c.mongo.url).toBe('mongodb://m1:27017/?replicaSet=rs0');
    expect(c.mongo.external).toBe(true);
  });

  it('relative directories resolve against the project; ports and heaps are overridable', () => {
    const c = loadStackConfig(ROOT, { ADME_STATE_DIR: 'tmp/state', ADME_CACHE_DIR: '/var/cache/adme', ADME_KAFKA_PORT: '19092', ADME_KAFKA_HEAP: '512m', ADME_CASSANDRA_PORT: '19042', ADME_MONGO_PORT: '37017' });
    expect(c.stateDir).toBe('/srv/adme/tmp/state');
    expect(c.cacheDir).toBe('/var/cache/adme');
    expect(c.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(c.kafka.controllerPort).toBe(19093);
    expect(c.kafka.heap).toBe('512m');
    expect(c.cassandra.contactPoints).toEqual(['127.0.0.1:19042']);
    expect(c.mongo.url).toBe('mongodb://127.0.0.1:37017/');
  });

  it.each([
    ['ADME_KAFKA_PORT', '0', 'ADME_KAFKA_PORT: must be a port number 1-65535, got "0"'],
    ['ADME_KAFKA_PORT', '70000', 'ADME_KAFKA_PORT: must be a port number 1-65535, got "70000"'],
    ['ADME_MONGO_PORT', 'abc', 'ADME_MONGO_PORT: must be a port number 1-65535, got "abc"'],
    ['ADME_CASSANDRA_HEAP', '1.5g', 'ADME_CASSANDRA_HEAP: must look like 512m or 1g, got "1.5g"'],
    ['ADME_BOOT_TIMEOUT', '-1', 'ADME_BOOT_TIMEOUT: must be a positive number of seconds, got "-1"'],
    ['MONGO_URL', 'http://x', 'MONGO_URL: must start with mongodb:// or mongodb+srv://, got "http://x"'],
    ['KAFKA_BROKERS', ' , ', 'KAFKA_BROKERS: must be a comma-separated list of host:port'],
  ])('rejects %s=%s naming the variable', (name, value, message) => {
    expect(() => loadStackConfig(ROOT, { [name]: value })).toThrow(new ConfigError(name, message.slice(name.length + 2)));
    try {
      loadStackConfig(ROOT, { [name]: value });
    } catch (err) {
      expect((err as ConfigError).message).toBe(message);
      expect((err as ConfigError).code).toBe('CFG_BAD_VALUE');
    }
  });
});

describe('kafka settings', () => {
  it('writes a single combined KRaft node on loopback with no initial rebalance delay', () => {
    const props = kafkaServerProperties(loadStackConfig(ROOT, {}), '/d/kafka');
    const map = new Map(props.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
    expect(map.get('process.roles')).toBe('broker,controller');
    expect(map.get('controller.quorum.voters')).toBe('1@127.0.0.1:9093');
    expect(map.get('listeners')).toBe('PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
    expect(map.get('log.dirs')).toBe('/d/kafka');
    expect(map.get('group.initial.rebalance.delay.ms')).toBe('0');
  });

  it('cluster ids are 22-character base64url uuids', () => {
    const id = newClusterId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
  });

  it('never start with "-", which the storage tool would take for an option', () => {
    // 0xf8 encodes as '-' first in base64url: the first draw is refused, the second kept.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x01)];
    expect(newClusterId(() => draws.shift()!)).toBe(Buffer.alloc(16, 0x01).toString('base64url'));
    expect(Buffer.alloc(16, 0xf8).toString('base64url').startsWith('-')).toBe(true);
  });
});

describe('parseJavaVersion', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "25" 2025-09-16', 25],
    ['java version "1.8.0_392"', 8],
    ['bash: java: command not found', undefined],
  ])('%s -> %s', (text, major) => {
    expect(parseJavaVersion(text)).toBe(major);
  });
});
