import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES, LATE_EVENTS_COLLECTION, OPEN_ROLLUPS_COLLECTION, ROLLUPS_COLLECTION } from '../../actors/model/index.js';
import { cellsByKey, restoreCheckpoint } from '../../actors/logic.js';
import { startRuntime, type RuntimeHandle } from '../../actors/runtime-main.js';
import { CassandraCheckpointStore, ensureTopics, kafkaClient } from '../../runtime/index.js';
import { stackConfig, testRuntimeConfig, uniqueName, waitFor } from '../support/env.js';
import { allRollupRows, countsOfRollups, kafkaFor, makeEvents, produceEvents, truthOf } from '../support/events.js';

const stack = stackConfig();
const PARTITIONS = 4;

describe('runtime: a known set of events → exact rollups and restored state', () => {
  const name = uniqueName('rt_agg');
  const config = testRuntimeConfig(name, PARTITIONS);
  // 61 s of event time: the first windows close (watermark = max − 30 s) and are evicted after their
  // final rollup; the last ones stay open in memory.
  const events = makeEvents({ count: 12_000, seed: 7, startTs: Date.UTC(2026, 0, 1, 12), spanMs: 61_000, withIds: 0.3 });
  // A producer retry: the same events with the same ids, sent again (from the still-open windows).
  const retried = events.filter((e) => e.id !== undefined).slice(-500);
  // Stragglers: event times in the first window, long closed when they arrive.
  const late = makeEvents({ count: 50, seed: 8, startTs: Date.UTC(2026, 0, 1, 12), spanMs: 1000 });
  const truth = truthOf([...events, ...retried], config.precision, config.windowMs);
  const mongo = new MongoClient(stack.mongo.url);
  let rt: RuntimeHandle | undefined;

  beforeAll(async () => {
    await mongo.connect();
    const kafka = kafkaFor(stack.kafka.brokers);
    await ensureTopics(kafkaClient({ brokers: stack.kafka.brokers, clientId: 'adme-test' }), [{ topic: config.topic, partitions: PARTITIONS }]);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await produceEvents(producer, config.topic, PARTITIONS, events);
    await produceEvents(producer, config.topic, PARTITIONS, retried);
    await produceEvents(producer, config.topic, PARTITIONS, late);
    await producer.disconnect();
    rt = await startRuntime(config, (m) => { if (process.env.ADME_TEST_VERBOSE) console.error(m); });
  });

  afterAll(async () => {
    await rt?.stop();
    await mongo.db(config.mongo.database).dropDatabase().catch(() => undefined);
    await mongo.close();
  });

  it('MongoDB rollups per (window, cell, type) equal the truth computed from the inputs', async () => {
    const col = mongo.db(config.mongo.database).collection(ROLLUPS_COLLECTION);
    const got = await waitFor('rollups to reach the truth', async () => {
      const c = countsOfRollups(await allRollupRows(mongo.db(config.mongo.database)));
      return c.total === truth.total ? c : undefined;
    }, 30_000, 500);
    expect(got.total).toBe(truth.total);
    expect(new Map([...got.counts].sort())).toEqual(new Map([...truth.counts].sort()));
    expect(rt!.metrics.registry.render()).toMatch(/adme_runtime_duplicate_events_total\{partition="\d"\} \d+/);
    // Late events are kept, with their offsets, and not counted.
    expect(await mongo.db(config.mongo.database).collection(LATE_EVENTS_COLLECTION).countDocuments({})).toBe(late.length);
    // Closed windows are final documents; the open ones are whole-window documents.
    expect(await col.countDocuments({})).toBeGreaterThan(0);
    expect(await mongo.db(config.mongo.database).collection(OPEN_ROLLUPS_COLLECTION).countDocuments({})).toBeGreaterThan(0);
  });

  it('the checkpointed state restores to the same counts (open windows in state, closed ones final in MongoDB)', async () => {
    await rt!.stop();
    rt = undefined;
    const store = await CassandraCheckpointStore.open({ contactPoints: stack.cassandra.contactPoints, localDataCenter: stack.cassandra.localDc, keyspace: config.cassandra.keyspace });
    const restored = new Map<string, number>();
    let duplicates = 0;
    let events = 0;
    let lateCount = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const got = await store.acquire(`${config.topic}/${p}`, 'test');
      expect(got.parts.has('meta')).toBe(true);
      const state = restoreCheckpoint(got.nextOffset, got.parts);
      duplicates += state.totals.duplicates;
      lateCount += state.totals.late;
      events += state.totals.events;
      for (const cw of cellsByKey(state).values()) {
        cw.counts.forEach((n, t) => {
          if (n === 0) return;
          const key = `${cw.window}:${cw.cell}:${EVENT_TYPES[t]}`;
          restored.set(key, (restored.get(key) ?? 0) + n);
        });
      }
    }
    await store.close();
    expect(duplicates).toBe(retried.length);
    expect(lateCount).toBe(late.length);
    expect(events).toBe(truth.total); // duplicates are not counted as events
    const finals = countsOfRollups(await allRollupRows(mongo.db(config.mongo.database), true));
    const merged = new Map(restored);
    for (const [k, n] of finals.counts) {
      // A final window may also still be in state if it closed after its last write; never twice-counted.
      if (!merged.has(k)) merged.set(k, n);
      else expect(merged.get(k)).toBe(n);
    }
    expect(new Map([...merged].sort())).toEqual(new Map([...truth.counts].sort()));
  });
});
