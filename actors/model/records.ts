/**
 * Kafka record formats. Topic `adme.events.v1`: each record's value is one msgpack-encoded
 * {@link EventBatchRecord} holding many events of one partition (per-record cost dominates otherwise);
 * the partition is chosen by {@link partitionFor}(userId), so a user's events stay in order on one
 * partition. Records carry no key: the gateway picks the partition explicitly.
 */
import { encode } from './codec.js';
import type { AdEvent } from './event.js';

export const EVENTS_TOPIC = 'adme.events.v1';
export const DELTAS_TOPIC = 'adme.deltas.v1';

export interface EventBatchRecord {
  /** Format version. */
  readonly v: 1;
  /** Gateway receive time, epoch ms (ingest latency is measured from here). */
  readonly at: number;
  readonly events: readonly AdEvent[];
}

const M = 0x5bd1e995;

/** Kafka's murmur2 (as in its Java client's default partitioner), over UTF-8 bytes `data[start, end)`. */
export function murmur2(data: Uint8Array, start = 0, end = data.length): number {
  const length = end - start;
  let h = (0x9747b28c ^ length) | 0;
  const whole = start + (length & ~3);
  for (let i = start; i < whole; i += 4) {
    let k = (data[i]! & 0xff) | ((data[i + 1]! & 0xff) << 8) | ((data[i + 2]! & 0xff) << 16) | ((data[i + 3]! & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[whole + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[whole]! & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const utf8 = new TextEncoder();
let scratch = new Uint8Array(512);

/** murmur2 of a user id's UTF-8 bytes, encoded into a reused buffer (no allocation per event). */
export function userHash(userId: string): number {
  if (userId.length * 3 > scratch.length) scratch = new Uint8Array(userId.length * 3);
  const { written } = utf8.encodeInto(userId, scratch);
  return murmur2(scratch, 0, written);
}

/** The partition of a user's events: the one a Java producer keyed by userId would pick. */
export function partitionFor(userId: string, partitions: number): number {
  return (userHash(userId) & 0x7fffffff) % partitions;
}

/**
 * Packs events the way the contract wants them: grouped by partition (in order), `perRecord` events per
 * record value. For producers other than the gateway (tests, benchmarks, backfills).
 */
export function packEventRecords(events: readonly AdEvent[], partitions: number, perRecord: number, at: number): { partition: number; value: Uint8Array }[] {
  const byPartition = new Map<number, AdEvent[]>();
  for (const e of events) {
    const p = partitionFor(e.userId, partitions);
    let l = byPartition.get(p);
    if (!l) byPartition.set(p, (l = []));
    l.push(e);
  }
  const out: { partition: number; value: Uint8Array }[] = [];
  for (const [partition, list] of byPartition) {
    for (let i = 0; i < list.length; i += perRecord) {
      out.push({ partition, value: encode({ v: 1, at, events: list.slice(i, i + perRecord) } satisfies EventBatchRecord) });
    }
  }
  return out;
}
