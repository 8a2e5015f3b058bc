/** Deterministic test events, a packed producer, and the truth an aggregation must reproduce. */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Binary, Db } from 'mongodb';
import { sendAcknowledged } from '../../runtime/index.js';
import { geohashEncode } from '../../actors/model/geohash.js';
import {
  EVENT_TYPES, OPEN_ROLLUPS_COLLECTION, ROLLUPS_COLLECTION, blockRows, blockSegments, blockWindowKey, packEventRecords, plainBlock, unpackSegments, type AdEvent, type RollupBlock,
} from '../../actors/model/index.js';
import { inflateRawSync } from 'node:zlib';
import { rng } from '../../bench/gateway-traffic.js';

export { rng };

const CITIES = [
  { lat: 48.8566, lon: 2.3522 }, // Paris
  { lat: 40.7128, lon: -74.006 }, // New York
  { lat: 35.6762, lon: 139.6503 }, // Tokyo
  { lat: -23.5505, lon: -46.6333 }, // São Paulo
];

export interface EventSpec {
  readonly count: number;
  readonly seed: number;
  /** Event times spread over [startTs, startTs + spanMs). */
  readonly startTs: number;
  readonly spanMs: number;
  readonly users?: number;
  /** Fraction of events carrying a client id. */
  readonly withIds?: number;
  /**
   * Give events an app (of {@link TEST_APPS}, or none for one in four) and a campaign (of
   * {@link TEST_CAMPAIGNS}, or none for one in five).
   */
  readonly segments?: boolean;
}

export const TEST_APPS = ['app-a', 'app-b', 'app-c'] as const;
export const TEST_CAMPAIGNS = ['cmp-1', 'cmp-2', 'cmp-3', 'cmp-4'] as const;

/** Events in time order (as a producer would send them), around four cities. */
export function makeEvents(spec: EventSpec): AdEvent[] {
  const r = rng(spec.seed);
  const users = spec.users ?? 500;
  const out: AdEvent[] = [];
  for (let i = 0; i < spec.count; i++) {
    const city = CITIES[Math.floor(r() * CITIES.length)]!;
    const type = EVENT_TYPES[Math.min(EVENT_TYPES.length - 1, Math.floor(r() * r() * EVENT_TYPES.length))]!;
    const ev: AdEvent = {
      userId: `u${Math.floor(r() * users)}`,
      type,
      ...(type === 'custom' ? { name: 'level_up' } : {}),
      ts: spec.startTs + Math.floor((i / spec.count) * spec.spanMs),
      lat: city.lat + (r() - 0.5) * 0.2,
      lon: city.lon + (r() - 0.5) * 0.2,
      ...(r() < (spec.withIds ?? 0) ? { id: `e-${spec.seed}-${i}` } : {}),
      ...(type === 'purchase' ? { value: Math.round(r() * 10000) / 100 } : {}),
    };
    if (spec.segments) {
      const a = Math.floor(r() * (TEST_APPS.length + 1));
      const c = Math.floor(r() * (TEST_CAMPAIGNS.length + 1.25));
      Object.assign(ev, a < TEST_APPS.length ? { appId: TEST_APPS[a] } : {}, c < TEST_CAMPAIGNS.length ? { campaignId: TEST_CAMPAIGNS[c] } : {});
    }
    out.push(ev);
  }
  return out;
}

export function kafkaFor(brokers: readonly string[]): Kafka {
  return new Kafka({ clientId: 'adme-test-producer', brokers: [...brokers], logLevel: logLevel.ERROR });
}

/** Sends events the way the gateway does: per partition, `perRecord` events in one record. */
export async function produceEvents(producer: Producer, topic: string, partitions: number, events: readonly AdEvent[], perRecord = 200): Promise<void> {
  const messages = packEventRecords(events, partitions, perRecord, Date.now()).map((r) => ({ partition: r.partition, value: Buffer.from(r.value) }));
  for (let i = 0; i < messages.length; i += 100) {
    await sendAcknowledged(producer, { acks: -1, topicMessages: [{ topic, messages: messages.slice(i, i + 100) }] }, undefined,
      (missing) => console.error(`[produce] the answer left out ${missing.join(', ')}: sent again`));
  }
}

export interface Truth {
  /** key `${window}:${cell}:${type}` → count */
  readonly counts: Map<string, number>;
  readonly total: number;
}

/** What exactly-once aggregation must produce, de-duplicating client ids like the shards do. */
export function truthOf(events: readonly AdEvent[], precision: number, windowMs: number): Truth {
  const counts = new Map<string, number>();
  const seen = new Set<string>();
  let total = 0;
  for (const e of events) {
    if (e.id !== undefined) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
    }
    const key = `${Math.floor(e.ts / windowMs) * windowMs}:${geohashEncode(e.lat, e.lon, precision)}:${e.type}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    total++;
  }
  return { counts, total };
}

/** Sums rollup documents (one per cell, window, partition) into the same shape as {@link truthOf}. */
export function countsOfRollups(docs: readonly Record<string, unknown>[]): Truth {
  const counts = new Map<string, number>();
  let total = 0;
  for (const d of docs) {
    for (const t of EVENT_TYPES) {
      const n = Number(d[t] ?? 0);
      if (n === 0) continue;
      const key = `${String(d.window)}:${String(d.cell)}:${t}`;
      counts.set(key, (counts.get(key) ?? 0) + n);
      total += n;
    }
  }
  return { counts, total };
}


/** Every rollup in a database, final and open blocks (or only the finals), as flat rows. */
export async function allRollupRows(db: Db, finalsOnly = false): Promise<Record<string, unknown>[]> {
  const finals = await db.collection(ROLLUPS_COLLECTION).find({}).toArray();
  // As the query API reads them: open blocks of windows with finals are obsolete (blockWindowKey).
  const closed = new Set(finals.map((f) => blockWindowKey(f as unknown as RollupBlock)));
  const open = finalsOnly ? [] : (await db.collection(OPEN_ROLLUPS_COLLECTION).find({}).toArray()).filter((d) => !closed.has(blockWindowKey(d as unknown as RollupBlock)));
  const bytes = (b: unknown) => (b as Binary).buffer;
  return [...finals, ...open].flatMap((d) => blockRows(plainBlock({
      window: d.window as number, windowMs: d.windowMs as number, partition: d.partition as number, cells: d.cells as string,
      counts: bytes(d.counts), values: bytes(d.values), users: bytes(d.users), ...(d.enc ? { enc: d.enc as 'deflate-raw' } : {}),
    }, inflateRawSync)) as unknown as Record<string, unknown>[]);
}

/**
 * Per-segment truth: key `${window}:${cell}:${app}|${campaign}:${type}` → count, for events that name an
 * app or a campaign (client ids de-duplicated like {@link truthOf}).
 */
export function segmentTruthOf(events: readonly AdEvent[], precision: number, windowMs: number): Map<string, number> {
  const out = new Map<string, number>();
  const seen = new Set<string>();
  for (const e of events) {
    if (e.id !== undefined) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
    }
    if (e.appId === undefined && e.campaignId === undefined) continue;
    const key = `${Math.floor(e.ts / windowMs) * windowMs}:${geohashEncode(e.lat, e.lon, precision)}:${e.appId ?? ''}|${e.campaignId ?? ''}:${e.type}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** The same shape as {@link segmentTruthOf}, summed from the segment columns of every rollup block. */
export async function segmentCountsOfRollups(db: Db): Promise<Map<string, number>> {
  const docs = [...await db.collection(ROLLUPS_COLLECTION).find({}).toArray(), ...await db.collection(OPEN_ROLLUPS_COLLECTION).find({}).toArray()];
  const bytes = (b: unknown) => (b as Binary).buffer;
  const out = new Map<string, number>();
  for (const d of docs) {
    if (!d.segs) continue;
    const cells = (d.cells as string).split(',');
    const sc = unpackSegments(blockSegments({ segs: bytes(d.segs), ...(d.enc ? { enc: d.enc as 'deflate-raw' } : {}) }, inflateRawSync)!);
    for (let k = 0; k < sc.segRows.length; k++) {
      const id = sc.segIds[k]!;
      EVENT_TYPES.forEach((t, i) => {
        const n = sc.segCounts[k * EVENT_TYPES.length + i]!;
        if (n === 0) return;
        const key = `${String(d.window)}:${cells[sc.segRows[k]!]}:${sc.segApps[id]}|${sc.segCampaigns[id]}:${t}`;
        out.set(key, (out.get(key) ?? 0) + n);
      });
    }
  }
  return out;
}
