/**
 * A shard's fold: decode a batch of Kafka records, validate each event as the gateway does, and fold the
 * valid ones straight into the shard's state (logic.ts), on the worker thread that owns the shard.
 * Deterministic: the same state and the same records give the same state, which is what makes replays
 * after a crash count exactly once.
 *
 * Before the shard lived on its thread, a pool thread pre-aggregated a batch into rows that the actor
 * then merged: with a few events per cell and window, that built a row per event only to merge it again
 * (a map lookup, a set and an object per event, twice). Folding in place halved the cost.
 */
import {
  SEGMENT_SLOTS, ARCHIVE_AREA_PRECISION, ARCHIVE_DUPLICATE, ARCHIVE_LATE, ARCHIVE_OTHER_SEGMENT, DEFAULT_EVENT_LIMITS, DEFAULT_MAX_SEGMENTS_PER_CELL, NTYPES, OTHER_SEGMENT, TYPE_INDEX,
  archiveArea, decode, validateEvent, type AdEvent, type EventBatchRecord, type EventLimits,
} from './model/index.js';
import type { ArchiveCollector } from './archive.js';
import { geohashEncode } from './model/geohash.js';
import { Reach } from './model/reach.js';
import { hash32, hash53 } from './hash.js';
import { IdSet } from './id-set.js';
import { cellWindow, compactSegments, segmentOfCell, type ShardState } from './logic.js';
import { admitSegment } from './segments.js';

export interface AggregationConfig {
  /** Geohash precision of the cells. */
  readonly precision: number;
  readonly windowMs: number;
  /** Watermark = max event time − allowed lateness; events of windows that ended before it are late. */
  readonly allowedLatenessMs: number;
  /**
   * Distinct (app, campaign) segments kept per cell and window (`ADME_MAX_SEGMENTS_PER_CELL`, default
   * DEFAULT_MAX_SEGMENTS_PER_CELL); further ones count in the "other" segment (actors/model/segment.ts).
   * Part of what the fold computes: a replay with another cap gives other segments, as with another precision.
   */
  readonly maxSegmentsPerCell?: number;
  /**
   * Whether each segment keeps its unique users too (`ADME_SEGMENT_REACH`, default on): reach per app and
   * campaign. Off, filtered answers have no users (docs/api.md, "Reach").
   */
  readonly segmentReach?: boolean;
}

export interface LateEvent {
  readonly offset: number;
  readonly index: number;
  readonly event: AdEvent;
}

/** A record that did not decode (index −1) or an event of it that failed validation: kept aside, never folded. */
export interface InvalidRecord {
  readonly offset: number;
  /** The event's index in its record, −1 for the whole record. */
  readonly index: number;
  readonly reason: string;
  /** What arrived, as JSON (an undecodable record: its bytes in base64), cut at {@link RAW_MAX} characters. */
  readonly raw: string;
}

/** Characters of an invalid record or event kept with it. */
export const RAW_MAX = 4096;

/**
 * The gateway's validation (actors/model/validate.ts) without its event-time window: that window is the
 * gateway's admission policy against client clocks, relative to its own clock, and a replay of the log
 * must judge an event the same way whenever it runs. Everything structural is checked exactly as the
 * gateway checks it, so a record written straight to the topic is held to the same model.
 */
const SHARD_LIMITS: EventLimits = { ...DEFAULT_EVENT_LIMITS, tsPastMs: Infinity, tsFutureMs: Infinity };

function rawOf(v: unknown): string {
  let json: string;
  try {
    json = JSON.stringify(v, (_k, x: unknown) => (ArrayBuffer.isView(x) ? `<${x.byteLength} bytes>` : typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
  } catch {
    json = String(v);
  }
  return json.length > RAW_MAX ? json.slice(0, RAW_MAX) : json;
}

const bytesRaw = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, Math.min(b.byteLength, (RAW_MAX * 3) / 4)).toString('base64');

/** Records as the host hands them over: values concatenated, `ends[i]` where record i ends. */
export interface RecordsInput {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
  readonly offsets: Float64Array;
}

/** What one fold did (the state holds the rest: pending late and invalid events, totals). */
export interface FoldOutcome {
  /** Valid events, late and duplicate ones included. */
  readonly events: number;
  readonly late: number;
  readonly duplicates: number;
  readonly invalid: number;
  /** Events counted in their cell's "other" segment because it held the most segments allowed. */
  readonly otherSegment: number;
  /** The first invalid record or event, for the log. */
  readonly firstInvalid: InvalidRecord | null;
  /** Earliest gateway receive time in the batch, 0 if none (for accepted → delta latency). */
  readonly oldestAt: number;
}

/**
 * Folds records (which must start at `s.nextOffset` or later; the shard skips earlier ones) into `s`.
 * Lateness is decided per event against the watermark before it, so it depends only on the order of
 * the log, never on how the log was cut into batches. With `archive`, every valid event is added to it
 * too, with what the fold decided (late, duplicate, counted in *other*).
 */
export function foldRecords(s: ShardState, input: RecordsInput, config: AggregationConfig, archive: ArchiveCollector | null = null): FoldOutcome {
  const { precision, windowMs, allowedLatenessMs } = config;
  const maxSegments = config.maxSegmentsPerCell ?? DEFAULT_MAX_SEGMENTS_PER_CELL;
  const segmentReach = config.segmentReach ?? true;
  if (s.segDict.size >= s.segCompactAt) compactSegments(s);
  let other = -1;
  let otherSegment = 0;
  const invalid0 = s.pendingInvalid.length;
  const late0 = s.pendingLate.length;
  let events = 0;
  let duplicates = 0;
  let counted = 0;
  let oldestAt = Infinity;
  let start = 0;
  let maxTs = s.maxTs;
  for (let r = 0; r < input.ends.length; r++) {
    const end = input.ends[r]!;
    const offset = input.offsets[r]!;
    const slice = input.bytes.subarray(start, end);
    start = end;
    s.nextOffset = offset + 1;
    let rec: EventBatchRecord;
    try {
      rec = decode<EventBatchRecord>(slice);
    } catch (err) {
      s.pendingInvalid.push({ offset, index: -1, reason: `undecodable msgpack: ${(err as Error).message}`, raw: bytesRaw(slice) });
      continue;
    }
    if (typeof rec !== 'object' || rec === null || rec.v !== 1 || !Array.isArray(rec.events)) {
      s.pendingInvalid.push({ offset, index: -1, reason: 'not an EventBatchRecord v1 (a map with v: 1 and an events array)', raw: rawOf(rec) });
      continue;
    }
    const at = typeof rec.at === 'number' && rec.at > 0 ? rec.at : 0;
    if (at > 0 && at < oldestAt) oldestAt = at;
    for (let i = 0; i < rec.events.length; i++) {
      const checked = validateEvent(rec.events[i], 0, SHARD_LIMITS);
      if (!checked.ok) {
        s.pendingInvalid.push({ offset, index: i, reason: checked.errors.map((e) => `${e.field} ${e.reason}`).join('; '), raw: rawOf(rec.events[i]) });
        continue;
      }
      const ev = checked.event;
      events++;
      const window = Math.floor(ev.ts / windowMs) * windowMs;
      if (window + windowMs <= maxTs - allowedLatenessMs) {
        s.pendingLate.push({ offset, index: i, event: ev });
        archive?.add(archiveArea(ev.lat, ev.lon), offset, i, at, ARCHIVE_LATE, ev);
        continue;
      }
      if (ev.ts > maxTs) maxTs = ev.ts;
      const cell = geohashEncode(ev.lat, ev.lon, precision);
      const cw = cellWindow(s, window, cell);
      const area = archive === null ? '' : precision >= ARCHIVE_AREA_PRECISION ? cell.slice(0, ARCHIVE_AREA_PRECISION) : archiveArea(ev.lat, ev.lon);
      if (typeof ev.id === 'string' && ev.id.length > 0) {
        if (!cw.ids) cw.ids = new IdSet();
        if (!cw.ids.add(hash53(ev.id))) {
          duplicates++;
          archive?.add(area, offset, i, at, ARCHIVE_DUPLICATE, ev);
          continue;
        }
      }
      const type = TYPE_INDEX[ev.type];
      const value = typeof ev.value === 'number' && Number.isFinite(ev.value) ? ev.value : 0;
      cw.counts[type]!++;
      cw.value += value;
      const user = hash32(ev.userId);
      if (cw.reach.add(type, user)) (cw.fresh ??= new Reach()).add(type, user);
      counted++;
      let flags = 0;
      if (ev.appId !== undefined || ev.campaignId !== undefined) {
        const app = ev.appId ?? '';
        const campaign = ev.campaignId ?? '';
        let id: number;
        if (cw.segs && cw.segs.ids.length >= maxSegments) {
          // A full cell: a pair the dictionary has never seen cannot be among its segments, and is not
          // added to the dictionary (a producer naming a new campaign per event would grow it forever).
          if (other < 0) other = s.segDict.id(OTHER_SEGMENT, OTHER_SEGMENT);
          const known = s.segDict.find(app, campaign);
          id = known === undefined ? other : admitSegment(cw.segs, known, maxSegments, other);
          if (id === other && known !== other) {
            otherSegment++;
            flags = ARCHIVE_OTHER_SEGMENT;
          }
        } else {
          id = s.segDict.id(app, campaign);
        }
        const slot = segmentOfCell(s, cw, id);
        const vals = cw.segs!.vals;
        vals[slot + type]!++;
        vals[slot + NTYPES]! += value;
        const k = slot / SEGMENT_SLOTS;
        if (segmentReach && cw.segs!.reach[k]!.add(type, user)) {
          const fresh = (cw.freshSegs ??= new Map<number, Reach>());
          const sid = cw.segs!.ids[k]!;
          let r = fresh.get(sid);
          if (!r) fresh.set(sid, (r = new Reach()));
          r.add(type, user);
        }
      }
      archive?.add(area, offset, i, at, flags, ev);
    }
  }
  s.maxTs = maxTs;
  const late = s.pendingLate.length - late0;
  const invalid = s.pendingInvalid.length - invalid0;
  s.totals.events += counted;
  s.totals.late += late;
  s.totals.duplicates += duplicates;
  s.totals.invalid += invalid;
  if (oldestAt !== Infinity && oldestAt < s.deltaOldestAt) s.deltaOldestAt = oldestAt;
  return { events, late, duplicates, invalid, otherSegment, firstInvalid: invalid > 0 ? s.pendingInvalid[invalid0]! : null, oldestAt: oldestAt === Infinity ? 0 : oldestAt };
}
