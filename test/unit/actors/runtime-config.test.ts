import { describe, expect, it } from 'vitest';
import { RuntimeConfigError, loadRuntimeConfig } from '../../../actors/runtime-config.js';

const servers = { brokers: ['127.0.0.1:1'], contactPoints: ['127.0.0.1:2'], localDc: 'dc1', mongoUrl: 'mongodb://127.0.0.1:3' };

describe('runtime config: the archive', () => {
  it('is on by default with 30 days of retention; ADME_ARCHIVE and ADME_ARCHIVE_TTL_DAYS override it', () => {
    const c = loadRuntimeConfig(servers, {});
    expect([c.archive, c.archiveTtlDays]).toEqual([true, 30]);
    const off = loadRuntimeConfig(servers, { ADME_ARCHIVE: 'off', ADME_ARCHIVE_TTL_DAYS: '0' });
    expect([off.archive, off.archiveTtlDays]).toEqual([false, 0]);
  });

  it('keeps reach per segment by default; ADME_SEGMENT_REACH=off keeps it per cell only', () => {
    expect(loadRuntimeConfig(servers, {}).segmentReach).toBe(true);
    expect(loadRuntimeConfig(servers, { ADME_SEGMENT_REACH: 'off' }).segmentReach).toBe(false);
    expect(() => loadRuntimeConfig(servers, { ADME_SEGMENT_REACH: 'no' })).toThrow(new RuntimeConfigError('ADME_SEGMENT_REACH', 'must be on or off, got "no"'));
  });

  it('names the variable when a value is wrong', () => {
    expect(() => loadRuntimeConfig(servers, { ADME_ARCHIVE: 'true' })).toThrow(new RuntimeConfigError('ADME_ARCHIVE', 'must be on or off, got "true"'));
    expect(() => loadRuntimeConfig(servers, { ADME_ARCHIVE_TTL_DAYS: '-1' })).toThrow(new RuntimeConfigError('ADME_ARCHIVE_TTL_DAYS', 'must be an integer from 0 to 7300, got "-1"'));
  });
});

describe('runtime config: the shard threads', () => {
  it('gives each a 192 MiB young generation by default; ADME_WORKER_YOUNG_MB overrides it, 0 leaves V8 its own', () => {
    expect(loadRuntimeConfig(servers, {}).workerYoungMb).toBe(192);
    expect(loadRuntimeConfig(servers, { ADME_WORKER_YOUNG_MB: '0' }).workerYoungMb).toBe(0);
    expect(loadRuntimeConfig(servers, { ADME_WORKER_YOUNG_MB: '64' }).workerYoungMb).toBe(64);
    expect(() => loadRuntimeConfig(servers, { ADME_WORKER_YOUNG_MB: '1.5' })).toThrow(new RuntimeConfigError('ADME_WORKER_YOUNG_MB', 'must be an integer from 0 to 16384, got "1.5"'));
  });
});
