/**
 * The CPU-heavy half of a shard's work, run on pool threads: decode a batch of Kafka records and fold
 * its events into per-(window, cell) partial rows. Pure and deterministic: the same records and the same
 * starting watermark give the same result, which is what makes replays after a crash count exactly once.
 */
import { DEFAULT_EVENT_LIMITS, EVENT_TYPES, SEGMENT_SLOTS, TYPE_INDEX, decode, validateEvent, type AdEvent, type EventBatchRecord, type EventLimits } from './model/index.js';
import { geohashEncode } from './model/geohash.js';
import { hash32, hash53 } from './hash.js';
import { emptySegList, SegmentDict, segSlot, type SegList } from './segments.js';

export interface AggregationConfig {
  /** Geohash precision of the cells. */
  readonly precision: number;
  readonly windowMs: number;
  /** Watermark = max event time − allowed lateness; events of windows that ended before it are late. */
  readonly allowedLatenessMs: number;
}

export const NTYPES = EVENT_TYPES.length;

/**
 * Events without a client id, folded per (window, cell): columnar typed arrays, so handing them back to
 * the actor thread is a copy of a few buffers, not the cloning (and later collection) of an object per row.
 */
export interface PartialRows {
  readonly n: number;
  readonly windows: Float64Array;
  readonly cells: string[];
  /** n × NTYPES */
  readonly counts: Uint32Array;
  readonly values: Float64Array;
  /** Row i's distinct user hashes are users[userStarts[i] .. userStarts[i + 1]). */
  readonly userStarts: Uint32Array;
  readonly users: Int32Array;
  /**
   * Per-segment parts of the rows (events naming an app or a campaign): entry k adds segCounts[k * NTYPES
   * ...] and segValues[k] to the batch's segment segIds[k] of row segRows[k]. Entries are in row order.
   */
  readonly segRows: Uint32Array;
  readonly segIds: Uint32Array;
  readonly segCounts: Uint32Array;
  readonly segValues: Float64Array;
}

/** Events with a client id stay individual (de-duplication needs the shard's memory of ids), columnar. */
export interface IdEvents {
  readonly n: number;
  readonly windows: Float64Array;
  readonly cells: string[];
  readonly types: Uint8Array;
  readonly values: Float64Array;
  readonly users: Int32Array;
  readonly ids: Float64Array;
  /** The batch's segment of each event, −1 when it names no app or campaign. */
  readonly segs: Int32Array;
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

export interface PartialBatch {
  readonly nextOffset: number;
  readonly maxTs: number;
  readonly events: number;
  readonly rows: PartialRows;
  readonly idEvents: IdEvents;
  readonly late: LateEvent[];
  readonly invalid: InvalidRecord[];
  /** Earliest gateway receive time in the batch (for accepted → delta latency). */
  readonly oldestAt: number;
  /** The batch's segments: number j is (apps[j], campaigns[j]), '' = none. */
  readonly segments: { readonly apps: string[]; readonly campaigns: string[] };
}

export interface PreaggregateInput {
  /** Record values concatenated; `ends[i]` is where record i ends. Transferred, not copied. */
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
  readonly offsets: Float64Array;
  readonly maxTs: number;
  readonly config: AggregationConfig;
}

export function preaggregate(input: PreaggregateInput): PartialBatch {
  const { precision, windowMs, allowedLatenessMs } = input.config;
  let maxTs = input.maxTs;
  const rows = new Map<string, Row>();
  const ids: IdEvent[] = [];
  const dict = new SegmentDict();
  const late: LateEvent[] = [];
  const invalid: InvalidRecord[] = [];
  let events = 0;
  let oldestAt = Infinity;
  let start = 0;
  let nextOffset = 0;
  for (let r = 0; r < input.ends.length; r++) {
    const end = input.ends[r]!;
    const offset = input.offsets[r]!;
    nextOffset = offset + 1;
    const slice = input.bytes.subarray(start, end);
    start = end;
    let rec: EventBatchRecord;
    try {
      rec = decode<EventBatchRecord>(slice);
    } catch (err) {
      invalid.push({ offset, index: -1, reason: `undecodable msgpack: ${(err as Error).message}`, raw: bytesRaw(slice) });
      continue;
    }
    if (typeof rec !== 'object' || rec === null || rec.v !== 1 || !Array.isArray(rec.events)) {
      invalid.push({ offset, index: -1, reason: 'not an EventBatchRecord v1 (a map with v: 1 and an events array)', raw: rawOf(rec) });
      continue;
    }
    if (typeof rec.at === 'number' && rec.at < oldestAt) oldestAt = rec.at;
    for (let i = 0; i < rec.events.length; i++) {
      const checked = validateEvent(rec.events[i], 0, SHARD_LIMITS);
      if (!checked.ok) {
        invalid.push({ offset, index: i, reason: checked.errors.map((e) => `${e.field} ${e.reason}`).join('; '), raw: rawOf(rec.events[i]) });
        continue;
      }
      const ev = checked.event;
      events++;
      const window = Math.floor(ev.ts / windowMs) * windowMs;
      // Lateness is decided per event against the watermark before it, so it depends only on the
      // order of the log, never on how the log was cut into batches.
      if (window + windowMs <= maxTs - allowedLatenessMs) {
        late.push({ offset, index: i, event: ev });
        continue;
      }
      if (ev.ts > maxTs) maxTs = ev.ts;
      const cell = geohashEncode(ev.lat, ev.lon, precision);
      const type = TYPE_INDEX[ev.type];
      const value = typeof ev.value === 'number' && Number.isFinite(ev.value) ? ev.value : 0;
      const user = hash32(ev.userId);
      const seg = ev.appId !== undefined || ev.campaignId !== undefined ? dict.id(ev.appId ?? '', ev.campaignId ?? '') : -1;
      if (typeof ev.id === 'string' && ev.id.length > 0) {
        ids.push({ window, cell, type, value, user, id: hash53(ev.id), seg });
        continue;
      }
      const key = `${window}:${cell}`;
      let row = rows.get(key);
      if (!row) {
        row = { window, cell, counts: new Array<number>(NTYPES).fill(0), value: 0, userSet: new Set(), segs: null };
        rows.set(key, row);
      }
      row.counts[type]!++;
      row.value += value;
      row.userSet.add(user | 0);
      if (seg >= 0) {
        if (!row.segs) row.segs = emptySegList();
        const at = segSlot(row.segs, seg);
        row.segs.vals[at + type]!++;
        row.segs.vals[at + NTYPES]! += value;
      }
    }
  }
  return {
    nextOffset, maxTs, events, rows: columnRows([...rows.values()]), idEvents: columnIds(ids), late, invalid, oldestAt: oldestAt === Infinity ? 0 : oldestAt,
    segments: { apps: dict.apps, campaigns: dict.campaigns },
  };
}

interface Row {
  readonly window: number;
  readonly cell: string;
  readonly counts: number[];
  value: number;
  readonly userSet: Set<number>;
  segs: SegList | null;
}

interface IdEvent {
  readonly window: number;
  readonly cell: string;
  readonly type: number;
  readonly value: number;
  readonly user: number;
  readonly id: number;
  readonly seg: number;
}

function columnRows(list: readonly Row[]): PartialRows {
  const n = list.length;
  const windows = new Float64Array(n);
  const counts = new Uint32Array(n * NTYPES);
  const values = new Float64Array(n);
  const userStarts = new Uint32Array(n + 1);
  let total = 0;
  for (const r of list) total += r.userSet.size;
  const users = new Int32Array(total);
  let u = 0;
  list.forEach((r, i) => {
    windows[i] = r.window;
    for (let t = 0; t < NTYPES; t++) counts[i * NTYPES + t] = r.counts[t]!;
    values[i] = r.value;
    userStarts[i] = u;
    for (const h of r.userSet) users[u++] = h;
  });
  userStarts[n] = u;
  let nseg = 0;
  for (const r of list) nseg += r.segs?.ids.length ?? 0;
  const segRows = new Uint32Array(nseg);
  const segIds = new Uint32Array(nseg);
  const segCounts = new Uint32Array(nseg * NTYPES);
  const segValues = new Float64Array(nseg);
  let k = 0;
  list.forEach((r, i) => {
    if (!r.segs) return;
    const { ids, vals } = r.segs;
    for (let j = 0; j < ids.length; j++, k++) {
      segRows[k] = i;
      segIds[k] = ids[j]!;
      for (let t = 0; t < NTYPES; t++) segCounts[k * NTYPES + t] = vals[j * SEGMENT_SLOTS + t]!;
      segValues[k] = vals[j * SEGMENT_SLOTS + NTYPES]!;
    }
  });
  return { n, windows, cells: list.map((r) => r.cell), counts, values, userStarts, users, segRows, segIds, segCounts, segValues };
}

function columnIds(list: readonly IdEvent[]): IdEvents {
  const n = list.length;
  return {
    n,
    windows: Float64Array.from(list, (e) => e.window),
    cells: list.map((e) => e.cell),
    types: Uint8Array.from(list, (e) => e.type),
    values: Float64Array.from(list, (e) => e.value),
    users: Int32Array.from(list, (e) => e.user | 0),
    ids: Float64Array.from(list, (e) => e.id),
    segs: Int32Array.from(list, (e) => e.seg),
  };
}
