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
import { archiveBucket, encodeArchiveBody, type AdEvent } from './model/index.js';
import { compressPart } from './blocks.js';

interface Group {
  readonly area: string;
  readonly bucket: number;
  readonly offsets: number[];
  readonly indexes: number[];
  readonly at: number[];
  readonly flags: number[];
  readonly events: AdEvent[];
  minTs: number;
  maxTs: number;
}

/** Events of the current round, by hour bucket, then area. */
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
    if (!g) areas.set(area, (g = { area, bucket, offsets: [], indexes: [], at: [], flags: [], events: [], minTs: ev.ts, maxTs: ev.ts }));
    g.offsets.push(offset);
    g.indexes.push(index);
    g.at.push(at);
    g.flags.push(flags);
    g.events.push(ev);
    if (ev.ts < g.minTs) g.minTs = ev.ts;
    if (ev.ts > g.maxTs) g.maxTs = ev.ts;
    this.count++;
  }

  /** The blocks of everything added since the last seal, which ends at `endOffset`; starts the next round there. */
  seal(partition: number, endOffset: number): ArchiveBlock[] {
    const out: ArchiveBlock[] = [];
    for (const areas of this.buckets.values()) {
      for (const g of areas.values()) {
        const body = encodeArchiveBody({
          v: 1, offsets: Float64Array.from(g.offsets), indexes: Uint32Array.from(g.indexes), at: Float64Array.from(g.at), flags: Uint8Array.from(g.flags), events: g.events,
        });
        out.push({
          area: g.area, bucket: g.bucket, partition, firstOffset: this.firstOffset, endOffset, count: g.events.length, minTs: g.minTs, maxTs: g.maxTs, data: compressPart(body),
        });
      }
    }
    this.buckets.clear();
    this.count = 0;
    this.firstOffset = endOffset;
    return out;
  }
}
