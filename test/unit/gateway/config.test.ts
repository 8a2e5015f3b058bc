import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { GatewayConfigError } from '../../../gateway/errors.js';
import { defaultGatewayThreads, loadGatewayConfig } from '../../../gateway/config.js';

const base = { brokers: ['127.0.0.1:1'], stateDir: '/state' };

describe('gateway config', () => {
  it('reads the archive from the stack\'s Cassandra, keyspace ADME_KEYSPACE; ADME_ARCHIVE=off or no Cassandra turns /v1/events off', () => {
    const withCassandra = { ...base, cassandra: { contactPoints: ['127.0.0.1:9042'], localDc: 'dc1' } };
    expect(loadGatewayConfig(withCassandra, {}).archive).toEqual({ contactPoints: ['127.0.0.1:9042'], localDc: 'dc1', keyspace: 'adme' });
    expect(loadGatewayConfig(withCassandra, { ADME_KEYSPACE: 'ks_2' }).archive?.keyspace).toBe('ks_2');
    expect(loadGatewayConfig(withCassandra, { ADME_ARCHIVE: 'off' }).archive).toBeUndefined();
    expect(loadGatewayConfig(base, {}).archive).toBeUndefined();
    expect(loadGatewayConfig(base, {}).archiveCache).toEqual({ headsMs: 2000, maxEvents: 500_000 });
    expect(() => loadGatewayConfig(withCassandra, { ADME_ARCHIVE: 'yes' })).toThrow(new GatewayConfigError('ADME_ARCHIVE', 'must be on or off, got "yes"'));
    expect(() => loadGatewayConfig(withCassandra, { ADME_KEYSPACE: 'Bad-Name' })).toThrow(new GatewayConfigError('ADME_KEYSPACE', '"Bad-Name" must match [a-z][a-z0-9_]{0,47}'));
  });

  it('has documented defaults', () => {
    const c = loadGatewayConfig(base, {});
    expect([c.host, c.port, c.topic, c.partitions, c.keysFile, c.threads, c.maxBodyBytes, c.limits.maxBatch, c.wsWindow]).toEqual(['127.0.0.1', 8080, 'adme.events.v1', 12, '/state/keys.json', Math.max(1, availableParallelism() - 1), 1048576, 1000, 16]);
  });

  it('runs one uWS app per core but one by default (the main thread keeps a core for the live view), at least one', () => {
    expect([1, 2, 3, 4, 16].map((cores) => defaultGatewayThreads(cores))).toEqual([1, 1, 2, 3, 15]);
    expect(loadGatewayConfig(base, { ADME_GATEWAY_THREADS: '2' }).threads).toBe(2);
    expect(loadGatewayConfig(base, {}, { threads: '3' }).threads).toBe(3);
  });

  it('bounds the heap\'s room: 30 % over the live heap and at least 48 MiB by default, 0 leaves V8\'s own, ADME_GATEWAY_HEAP_GROWING_PERCENT 0-1000', () => {
    expect([loadGatewayConfig(base, {}).heapGrowingPercent, loadGatewayConfig(base, {}).heapMinRoomMb]).toEqual([30, 48]);
    expect(loadGatewayConfig(base, { ADME_GATEWAY_HEAP_MIN_ROOM_MB: '200' }).heapMinRoomMb).toBe(200);
    expect(loadGatewayConfig(base, { ADME_GATEWAY_HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
    expect(() => loadGatewayConfig(base, { ADME_GATEWAY_HEAP_GROWING_PERCENT: '-5' })).toThrow(new GatewayConfigError('ADME_GATEWAY_HEAP_GROWING_PERCENT', 'must be an integer 0-1000, got "-5"'));
  });

  it('bounds the live store\'s segments per cell: 64 by default, ADME_MAX_SEGMENTS_PER_CELL ≥ 1', () => {
    expect(loadGatewayConfig(base, {}).stream.maxSegmentsPerCell).toBe(64);
    expect(loadGatewayConfig(base, { ADME_MAX_SEGMENTS_PER_CELL: '8' }).stream.maxSegmentsPerCell).toBe(8);
    expect(() => loadGatewayConfig(base, { ADME_MAX_SEGMENTS_PER_CELL: '0' })).toThrow(new GatewayConfigError('ADME_MAX_SEGMENTS_PER_CELL', 'must be an integer 1-65536, got "0"'));
  });

  it('freezes live windows the runtime can no longer change: lateness + 3 windows by default, never less than lateness + 2', () => {
    expect(loadGatewayConfig(base, {}).stream.freezeMs).toBe(60_000); // 30 s lateness, 10 s windows
    expect(loadGatewayConfig(base, {}).stream.horizonMs).toBe(900_000); // the longest live window
    expect(loadGatewayConfig(base, { ADME_LATENESS_MS: '90000', ADME_WINDOW_MS: '5000' }).stream.freezeMs).toBe(105_000);
    expect(loadGatewayConfig(base, { ADME_LIVE_FREEZE_S: '300' }).stream.freezeMs).toBe(300_000);
    expect(loadGatewayConfig(base, { ADME_LIVE_FREEZE_S: '50' }).stream.freezeMs).toBe(50_000);
    expect(() => loadGatewayConfig(base, { ADME_LIVE_FREEZE_S: '49' })).toThrow(new GatewayConfigError('ADME_LIVE_FREEZE_S', 'must be at least the runtime\'s lateness plus two windows (ADME_LATENESS_MS + 2 × ADME_WINDOW_MS = 50 s): deltas may still change a younger window'));
    expect(() => loadGatewayConfig(base, { ADME_LATENESS_MS: '120000', ADME_LIVE_FREEZE_S: '120' })).toThrow(GatewayConfigError);
  });

  it('has a privacy floor of 10 unique users by default; ADME_PRIVACY_K or --privacy-k sets it, 0 turns it off', () => {
    expect(loadGatewayConfig(base, {}).privacyK).toBe(10);
    expect(loadGatewayConfig(base, { ADME_PRIVACY_K: '0' }).privacyK).toBe(0);
    expect(loadGatewayConfig(base, { ADME_PRIVACY_K: '0' }, { 'privacy-k': '25' }).privacyK).toBe(25);
    expect(() => loadGatewayConfig(base, { ADME_PRIVACY_K: '-1' })).toThrow(new GatewayConfigError('ADME_PRIVACY_K', 'must be an integer 0-1000000, got "-1"'));
  });

  it('flags win over env vars', () => {
    const c = loadGatewayConfig(base, { ADME_PORT: '9000', ADME_HOST: '0.0.0.0', ADME_PARTITIONS: '3' }, { port: '9001' });
    expect([c.port, c.host, c.partitions]).toEqual([9001, '0.0.0.0', 3]);
  });

  it('names the variable or flag of a bad value', () => {
    expect(() => loadGatewayConfig(base, { ADME_PORT: '70000' })).toThrow(new GatewayConfigError('ADME_PORT', 'must be an integer 0-65535, got "70000"'));
    expect(() => loadGatewayConfig(base, {}, { partitions: 'x' })).toThrow('--partitions: must be an integer');
    expect(() => loadGatewayConfig(base, { ADME_EVENTS_TOPIC: 'bad topic' })).toThrow('ADME_EVENTS_TOPIC');
  });
});
