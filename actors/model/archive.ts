/**
 * The raw-event archive's contract (docs/runtime.md, "The raw-event archive"): every valid event a shard
 * folds is kept in Cassandra, in blocks. A block holds the events of one area (geohash prefix of
 * {@link ARCHIVE_AREA_PRECISION}), one hour of event time and one Kafka partition that one checkpoint round
 * took, as columns; its key is (area, hour, partition, first offset of the round). Pure: the shard writes
 * blocks, the gateway's `/v1/events` and `adme replay` read them.
 *
 * An event is named by (partition, offset, index in its record): the same event has the same name in
 * every replay of the log, so readers that meet it twice (a round cut elsewhere after a crash) keep it once.
 */
import { decode, encode } from './codec.js';
import type { AdEvent } from './event.js';
import { geohashEncode } from './geohash.js';

export const ARCHIVE_TABLE = 'events_archive';
/** Geohash precision of an archive area: ≈ 39 km × 20 km, a city. */
export const ARCHIVE_AREA_PRECISION = 4;
/** Event time covered by one archive bucket. */
export const ARCHIVE_BUCKET_MS = 3_600_000;

/** Bits of {@link ArchivedEvent.flags}: what the shard decided when it folded the event. */
export const ARCHIVE_LATE = 1;
export const ARCHIVE_DUPLICATE = 2;
/** Counted in a cell's *other* segment because the cell held the most segments allowed. */
export const ARCHIVE_OTHER_SEGMENT = 4;

export interface ArchivedEvent {
  readonly partition: number;
  readonly offset: number;
  readonly index: number;
  /** Gateway receive time of the event's record, epoch ms (0 if the producer did not say). */
  readonly at: number;
  readonly flags: number;
  readonly event: AdEvent;
}

/** One stored block, as the archive store writes and reads it. */
export interface ArchiveBlock {
  readonly area: string;
  /** Start of the hour bucket, epoch ms. */
  readonly bucket: number;
  readonly partition: number;
  /** First offset of the round that wrote it: with the three above, the block's key. */
  readonly firstOffset: number;
  /** Offset after the round's last record. */
  readonly endOffset: number;
  readonly count: number;
  readonly minTs: number;
  readonly maxTs: number;
  /** {@link ArchiveBody} as msgpack, raw-deflated (the archive store neither knows nor cares). */
  readonly data: Uint8Array;
}

/** A block's events as columns. */
export interface ArchiveBody {
  readonly v: 1;
  readonly offsets: Float64Array;
  readonly indexes: Uint32Array;
  readonly at: Float64Array;
  readonly flags: Uint8Array;
  readonly events: readonly AdEvent[];
}

export const archiveArea = (lat: number, lon: number): string => geohashEncode(lat, lon, ARCHIVE_AREA_PRECISION);
export const archiveBucket = (ts: number): number => Math.floor(ts / ARCHIVE_BUCKET_MS) * ARCHIVE_BUCKET_MS;

export function encodeArchiveBody(b: ArchiveBody): Uint8Array {
  return encode(b);
}

export function decodeArchiveBody(bytes: Uint8Array, partition: number): ArchivedEvent[] {
  const b = decode<ArchiveBody>(bytes);
  if (b?.v !== 1 || !Array.isArray(b.events)) throw new Error('not an archive block body v1');
  const out = new Array<ArchivedEvent>(b.events.length);
  for (let i = 0; i < b.events.length; i++) {
    out[i] = { partition, offset: b.offsets[i]!, index: b.indexes[i]!, at: b.at[i]!, flags: b.flags[i]!, event: b.events[i] as AdEvent };
  }
  return out;
}

/** Newest first: event time descending, then (partition, offset, index) descending. */
export function newestFirst(a: ArchivedEvent, b: ArchivedEvent): number {
  return b.event.ts - a.event.ts || b.partition - a.partition || b.offset - a.offset || b.index - a.index;
}

/** Log order within a partition. */
export function logOrder(a: ArchivedEvent, b: ArchivedEvent): number {
  return a.partition - b.partition || a.offset - b.offset || a.index - b.index;
}

/** An event's name in every replay of the log. */
export const archiveKey = (e: Pick<ArchivedEvent, 'partition' | 'offset' | 'index'>): string => `${e.partition}:${e.offset}:${e.index}`;

/** Where a page of `/v1/events` ended: the last event it returned (pages go on strictly after it). */
export interface ArchiveCursor {
  readonly ts: number;
  readonly partition: number;
  readonly offset: number;
  readonly index: number;
}

/** True when `e` comes after the cursor in newest-first order. */
export function afterCursor(e: ArchivedEvent, c: ArchiveCursor): boolean {
  const ts = e.event.ts;
  if (ts !== c.ts) return ts < c.ts;
  if (e.partition !== c.partition) return e.partition < c.partition;
  return e.offset !== c.offset ? e.offset < c.offset : e.index < c.index;
}
