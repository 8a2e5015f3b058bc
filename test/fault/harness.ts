/** Shared set-up of the fault tests: a unique topic / group / keyspace / database and the truth. */
import { MongoClient } from 'mongodb';
import type { Producer } from 'kafkajs';
import { ARCHIVE_BUCKET_MS, archiveKey, geohashEncode, type AdEvent, type ArchivedEvent } from '../../actors/model/index.js';
import { CassandraArchiveStore, ensureTopics, kafkaClient } from '../../runtime/index.js';
import { blockEvents } from '../../gateway/query/events.js';
import type { StackConfig } from '../../stack/index.js';
import { stackConfig, uniqueName, waitFor } from '../support/env.js';
import { allRollupRows, countsOfRollups, kafkaFor, makeEvents, produceEvents, truthOf, type Truth } from '../support/events.js';

export const stack = stackConfig();
export const PARTITIONS = 6;
export const WINDOW_MS = 10_000;

export interface FaultRun {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly topic: string;
  readonly db: string;
  readonly mongo: MongoClient;
  readonly producer: Producer;
  /** All events, in the order they will be produced, and what they must add up to. */
  readonly events: AdEvent[];
  readonly truth: Truth;
  /** Sends chunk i of `chunks` equal parts. */
  produceChunk(i: number, chunks: number): Promise<void>;
  /** Waits until the rollups equal the truth; returns them. */
  converged(timeoutMs?: number): Promise<Truth>;
  close(): Promise<void>;
}

export interface FaultRunOptions {
  /** The servers to run against (default: the suite's stack); their addresses go into `env`. */
  readonly on?: StackConfig;
  /** Fraction of events with a client id (default 0.2). */
  readonly withIds?: number;
}

export async function faultRun(prefix: string, count: number, extraEnv: Record<string, string> = {}, opts: FaultRunOptions = {}): Promise<FaultRun> {
  const on = opts.on ?? stack;
  const name = uniqueName(prefix);
  const topic = `${name}.events`;
  const db = name;
  const env: Record<string, string> = {
    ADME_EVENTS_TOPIC: topic, ADME_DELTAS_TOPIC: `${name}.deltas`, ADME_GROUP: `${name}-group`,
    ADME_KEYSPACE: name, ADME_MONGO_DB: db, ADME_PARTITIONS: String(PARTITIONS),
    ADME_CHECKPOINT_MS: '500', ADME_ROLLUP_MS: '500', ADME_OPEN_ROLLUP_MS: '500', ADME_SESSION_TIMEOUT_MS: '6000', ADME_THREADS: '1',
    ...(opts.on ? { KAFKA_BROKERS: on.kafka.brokers.join(','), CASSANDRA_CONTACT_POINTS: on.cassandra.contactPoints.join(','), MONGO_URL: on.mongo.url } : {}),
    ...extraEnv,
  };
  await ensureTopics(kafkaClient({ brokers: on.kafka.brokers, clientId: 'adme-fault' }), [{ topic, partitions: PARTITIONS }]);
  const producer = kafkaFor(on.kafka.brokers).producer({ idempotent: true });
  await producer.connect();
  const mongo = new MongoClient(on.mongo.url);
  await mongo.connect();
  // 90 s of event time: windows keep closing (finals + eviction) while the test runs.
  const events = makeEvents({ count, seed: count, startTs: Date.UTC(2026, 0, 2, 8), spanMs: 90_000, withIds: opts.withIds ?? 0.2, segments: true });
  const truth = truthOf(events, 6, WINDOW_MS);
  return {
    name, env, topic, db, mongo, producer, events, truth,
    produceChunk: async (i, chunks) => {
      const size = Math.ceil(events.length / chunks);
      await produceEvents(producer, topic, PARTITIONS, events.slice(i * size, (i + 1) * size), 100);
    },
    converged: async (timeoutMs = 90_000) => {
      let last: Truth | undefined;
      try {
        return await waitFor('rollups to equal the truth', async () => {
          last = countsOfRollups(await allRollupRows(mongo.db(db)));
          return last.total === truth.total && sameCounts(last, truth) ? last : undefined;
        }, timeoutMs, 500);
      } catch (err) {
        throw new Error(`${(err as Error).message}; ${describeDiff(last, truth)}`);
      }
    },
    close: async () => {
      await producer.disconnect();
      await mongo.db(db).dropDatabase().catch(() => undefined);
      await mongo.close();
    },
  };
}

export function sameCounts(a: Truth, b: Truth): boolean {
  if (a.counts.size !== b.counts.size) return false;
  for (const [k, v] of a.counts) if (b.counts.get(k) !== v) return false;
  return true;
}

/** Final check with a readable diff when it fails. */
export async function rollupsOf(run: FaultRun): Promise<Truth> {
  return countsOfRollups(await allRollupRows(run.mongo.db(run.db)));
}

/** Events per `type:cell`: what the archive must hold, each acknowledged event once. */
export function eventTally(events: readonly AdEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) {
    const k = `${e.type}:${geohashEncode(e.lat, e.lon, 6)}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return new Map([...m].sort());
}

/** The run's archive, each event once (by its name: partition, offset, index), as {@link eventTally}. */
export async function archiveTally(run: FaultRun, on: StackConfig = stack): Promise<{ events: number; stored: number; tally: Map<string, number> }> {
  const store = await CassandraArchiveStore.open({ contactPoints: on.cassandra.contactPoints, localDataCenter: on.cassandra.localDc, keyspace: run.name, ttlSeconds: 0, create: false });
  try {
    const ts = run.events.map((e) => e.ts);
    const seen = new Map<string, ArchivedEvent>();
    let stored = 0;
    for (let bucket = Math.floor(Math.min(...ts) / ARCHIVE_BUCKET_MS) * ARCHIVE_BUCKET_MS; bucket <= Math.max(...ts); bucket += ARCHIVE_BUCKET_MS) {
      for (const { area, partition } of await store.list(bucket)) {
        for (const b of await store.read(area, bucket, partition)) {
          for (const e of blockEvents(b.data, b.partition)) {
            stored++;
            seen.set(archiveKey(e), e);
          }
        }
      }
    }
    return { events: seen.size, stored, tally: eventTally([...seen.values()].map((e) => e.event)) };
  } finally {
    await store.close();
  }
}

/** A short account of how rollups differ from the truth, for a failing test's message. */
export function describeDiff(got: Truth | undefined, want: Truth): string {
  if (!got) return 'no rollups read';
  const diffs: string[] = [];
  for (const [k, v] of want.counts) if (got.counts.get(k) !== v) diffs.push(`${k}: want ${v} got ${got.counts.get(k) ?? 0}`);
  for (const [k, v] of got.counts) if (!want.counts.has(k)) diffs.push(`${k}: want 0 got ${v}`);
  return `total want ${want.total} got ${got.total}; ${diffs.length} keys differ, e.g. ${diffs.slice(0, 5).join(', ')}`;
}
