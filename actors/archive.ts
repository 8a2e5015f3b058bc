/**
 * The shard's side of the raw-event archive (docs/runtime.md, "The raw-event archive"): while folding,
 * each valid event is added to the group of its area and hour; a checkpoint round seals the groups into
 * blocks keyed by the round's first offset, and writes them before its checkpoint, so nothing below a
 * committed offset is missing from the archive. After a crash the successor starts at the committed
 * offset, which is the first offset of the round that was in flight: its first blocks overwrite that
 * round's. Rounds cut at other offsets later may store an event twice; every reader keeps an event once
 * by its name (partition, offset, index).
 */
import type { ArchiveBlock } from '../runtime/index.js';
import { ArchiveBodyBuilder, archiveBucket, encodeArchiveBody, type AdEvent } from './model/index.js';

interface Group {
  readonly area: string;
  readonly bucket: number;
  readonly body: ArchiveBodyBuilder;
}

/**
 * Events of the current round, by hour bucket, then area. A group outlives its round, so that its
 * builder's columns are reused by the next round's events of the same area and hour; a group that took
 * no event in a whole round is dropped.
 */
export class ArchiveCollector {
  private readonly buckets = new Map<number, Map<string, Group>>();
  /** Events added since the last seal. */
  count = 0;

  constructor(public firstOffset: number) {}

  add(area: string, offset: number, index: number, at: number, flags: number, ev: AdEvent): void {
    const bucket = archiveBucket(ev.ts);
    let areas = this.buckets.get(bucket);
    if (!areas) this.buckets.set(bucket, (areas = new Map<string, Group>()));
    let g = areas.get(area);
    if (!g) areas.set(area, (g = { area, bucket, body: new ArchiveBodyBuilder() }));
    g.body.add(offset, index, at, flags, ev);
    this.count++;
  }

  /** The blocks of everything added since the last seal, which ends at `endOffset`; starts the next round there. */
  seal(partition: number, endOffset: number): ArchiveBlock[] {
    const out: ArchiveBlock[] = [];
    for (const [bucket, areas] of this.buckets) {
      for (const [area, g] of areas) {
        const b = g.body;
        if (b.count === 0) {
          areas.delete(area);
          continue;
        }
        out.push({
          area: g.area, bucket: g.bucket, partition, firstOffset: this.firstOffset, endOffset, count: b.count, minTs: b.minTs, maxTs: b.maxTs, data: encodeArchiveBody(b.body()),
        });
        b.reset();
      }
      if (areas.size === 0) this.buckets.delete(bucket);
    }
    this.count = 0;
    this.firstOffset = endOffset;
    return out;
  }
}
