/**
 * `adme replay`: re-aggregates the archived raw events of a time range with the shard's own fold, and
 * writes the final rollup blocks of every window in it (docs/runtime.md, "Replay"). Its rollups equal the
 * live ones of the same range: that is the archive's completeness test.
 *
 * Why equal: per hour bucket and partition, the events are folded in log order (partition, offset,
 * index) into a fresh state. Everything a window's finals hold is decided within the window (counts,
 * values, unique users, de-duplication by client id, the segment cap), and a 10 s window never spans
 * two buckets. Lateness is the one decision that depends on events before it: the archive keeps the
 * live decision (the late flag), and late events are left out. The replay's watermark never passes the
 * live one (it has seen a subset of the same events), so it never finds late what was on time live.
 */
import type { ArchiveStore, DocStore } from '../runtime/index.js';
import {
  ARCHIVE_BUCKET_MS, ARCHIVE_LATE, ROLLUPS_COLLECTION, archiveKey, decodeArchiveBody, encode, logOrder, type AdEvent, type ArchivedEvent, type FinalBlock,
} from './model/index.js';
import { foldRecords, type AggregationConfig } from './fold.js';
import { emptyState, rollupWrites } from './logic.js';

export interface ReplayProgress {
  /** (bucket, partition) sets done, of all. */
  readonly done: number;
  readonly total: number;
  readonly events: number;
  readonly blocks: number;
}

export interface ReplayOptions {
  readonly archive: ArchiveStore;
  readonly docs: DocStore;
  /** The range; widened to whole windows. */
  readonly from: number;
  readonly to: number;
  readonly aggregation: AggregationConfig;
  /** Reads in flight against the archive. */
  readonly concurrency?: number;
  readonly progress?: (p: ReplayProgress) => void;
}

export interface ReplayResult {
  readonly from: number;
  readonly to: number;
  /** Events folded (late ones excluded), events left out as late live, blocks read, final blocks written. */
  readonly events: number;
  readonly late: number;
  readonly blocks: number;
  readonly finals: number;
  readonly ms: number;
}

export async function replayArchive(o: ReplayOptions): Promise<ReplayResult> {
  const t0 = Date.now();
  const w = o.aggregation.windowMs;
  const from = Math.floor(o.from / w) * w;
  const to = Math.ceil(o.to / w) * w;
  const sets: { bucket: number; partition: number; areas: string[] }[] = [];
  for (let bucket = Math.floor(from / ARCHIVE_BUCKET_MS) * ARCHIVE_BUCKET_MS; bucket < to; bucket += ARCHIVE_BUCKET_MS) {
    const byPartition = new Map<number, string[]>();
    for (const { area, partition } of await o.archive.list(bucket)) {
      let areas = byPartition.get(partition);
      if (!areas) byPartition.set(partition, (areas = []));
      areas.push(area);
    }
    for (const [partition, areas] of [...byPartition].sort(([a], [b]) => a - b)) sets.push({ bucket, partition, areas });
  }
  let events = 0;
  let late = 0;
  let blocks = 0;
  let finals = 0;
  for (let i = 0; i < sets.length; i++) {
    const { bucket, partition, areas } = sets[i]!;
    const read = await inBatches(areas, o.concurrency ?? 16, (area) => o.archive.read(area, bucket, partition));
    const seen = new Map<string, ArchivedEvent>();
    for (const b of read) {
      blocks++;
      for (const e of decodeArchiveBody(b.data, b.partition)) {
        if (e.event.ts >= from && e.event.ts < to) seen.set(archiveKey(e), e);
      }
    }
    const kept = [...seen.values()].filter((e) => !(e.flags & ARCHIVE_LATE)).sort(logOrder);
    late += seen.size - kept.length;
    const s = emptyState();
    foldRecords(s, recordsOf(kept), o.aggregation);
    events += kept.length;
    // Every window of the bucket is whole: all of them are final.
    s.maxTs = Infinity;
    const writes = rollupWrites(s, o.aggregation, partition, 0, false);
    if (writes.finals.length > 0) await o.docs.insertIdempotent(ROLLUPS_COLLECTION, writes.finals as unknown as (FinalBlock & Record<string, unknown>)[]);
    finals += writes.finals.length;
    o.progress?.({ done: i + 1, total: sets.length, events, blocks });
  }
  return { from, to, events, late, blocks, finals, ms: Date.now() - t0 };
}

/** Events in log order → records as the shard is handed them: one per offset, its events in index order. */
function recordsOf(events: readonly ArchivedEvent[]): { bytes: Uint8Array; ends: Uint32Array; offsets: Float64Array } {
  const values: Uint8Array[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < events.length;) {
    const offset = events[i]!.offset;
    const at = events[i]!.at;
    const batch: AdEvent[] = [];
    for (; i < events.length && events[i]!.offset === offset; i++) batch.push(events[i]!.event);
    values.push(encode({ v: 1, at, events: batch }));
    offsets.push(offset);
  }
  const ends = new Uint32Array(values.length);
  let total = 0;
  values.forEach((v, i) => (ends[i] = total += v.byteLength));
  const bytes = new Uint8Array(total);
  values.forEach((v, i) => bytes.set(v, i === 0 ? 0 : ends[i - 1]!));
  return { bytes, ends, offsets: Float64Array.from(offsets) };
}

async function inBatches<T, R>(items: readonly T[], size: number, fn: (t: T) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) for (const r of await Promise.all(items.slice(i, i + size).map(fn))) out.push(...r);
  return out;
}
