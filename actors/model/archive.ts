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
import { decode, encodeOwned } from './codec.js';
import { EVENT_TYPES, TYPE_INDEX, type AdEvent, type EventType, type PropValue } from './event.js';
import { geohashEncode } from './geohash.js';

export const ARCHIVE_TABLE = 'events_archive';
/** Geohash precision of an archive area: ≈ 39 km × 20 km, a city. */
export const ARCHIVE_AREA_PRECISION = 4;
/** The finest cell `/v1/events` takes (its coarsest is the area itself). */
export const ARCHIVE_MAX_CELL_PRECISION = 9;
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

/**
 * A block's events as columns, stored as msgpack (an ArchiveBlock's data, runtime/ports/ports.ts): field
 * names are not repeated per event, numbers are typed arrays, app and campaign ids are coded against the
 * block's own list of names. Not deflated: blocks are small (a round's events of one area), and a
 * deflate call per block cost more on the shard's thread than Cassandra spends on the extra bytes
 * (docs/BENCHMARKS.md).
 */
export interface ArchiveBody {
  readonly v: 2;
  readonly offsets: Float64Array;
  readonly indexes: Uint32Array;
  readonly at: Float64Array;
  readonly flags: Uint8Array;
  readonly ts: Float64Array;
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  /** TYPE_INDEX of each event's type. */
  readonly types: Uint8Array;
  readonly users: readonly string[];
  /** App and campaign ids used in the block; `apps[i]` / `campaigns[i]` is 1 + an index into it, 0 for none. */
  readonly names: readonly string[];
  readonly apps: Uint32Array;
  readonly campaigns: Uint32Array;
  /** NaN for none. */
  readonly values: Float64Array;
  /** Client ids, null for none. */
  readonly ids: readonly (string | null)[];
  /** The rare fields, by event: [index in the block, name or null, props or null]. */
  readonly extras: readonly (readonly [number, string | null, Readonly<Record<string, PropValue>> | null])[];
}

/** Builds an {@link ArchiveBody} one event at a time. */
export class ArchiveBodyBuilder {
  readonly offsets: number[] = [];
  private readonly indexes: number[] = [];
  private readonly at: number[] = [];
  private readonly flags: number[] = [];
  private readonly ts: number[] = [];
  private readonly lat: number[] = [];
  private readonly lon: number[] = [];
  private readonly types: number[] = [];
  private readonly users: string[] = [];
  private readonly names = new Map<string, number>();
  private readonly apps: number[] = [];
  private readonly campaigns: number[] = [];
  private readonly values: number[] = [];
  private readonly ids: (string | null)[] = [];
  private readonly extras: [number, string | null, Readonly<Record<string, PropValue>> | null][] = [];
  minTs = Infinity;
  maxTs = -Infinity;

  get count(): number {
    return this.ts.length;
  }

  add(offset: number, index: number, at: number, flags: number, ev: AdEvent): void {
    if (ev.name !== undefined || ev.props !== undefined) this.extras.push([this.ts.length, ev.name ?? null, ev.props ?? null]);
    this.offsets.push(offset);
    this.indexes.push(index);
    this.at.push(at);
    this.flags.push(flags);
    this.ts.push(ev.ts);
    this.lat.push(ev.lat);
    this.lon.push(ev.lon);
    this.types.push(TYPE_INDEX[ev.type]);
    this.users.push(ev.userId);
    this.apps.push(ev.appId === undefined ? 0 : this.nameId(ev.appId));
    this.campaigns.push(ev.campaignId === undefined ? 0 : this.nameId(ev.campaignId));
    this.values.push(ev.value ?? NaN);
    this.ids.push(ev.id ?? null);
    if (ev.ts < this.minTs) this.minTs = ev.ts;
    if (ev.ts > this.maxTs) this.maxTs = ev.ts;
  }

  private nameId(name: string): number {
    let id = this.names.get(name);
    if (id === undefined) this.names.set(name, (id = this.names.size + 1));
    return id;
  }

  body(): ArchiveBody {
    return {
      v: 2, offsets: Float64Array.from(this.offsets), indexes: Uint32Array.from(this.indexes), at: Float64Array.from(this.at), flags: Uint8Array.from(this.flags),
      ts: Float64Array.from(this.ts), lat: Float64Array.from(this.lat), lon: Float64Array.from(this.lon), types: Uint8Array.from(this.types), users: this.users,
      names: [...this.names.keys()], apps: Uint32Array.from(this.apps), campaigns: Uint32Array.from(this.campaigns), values: Float64Array.from(this.values),
      ids: this.ids, extras: this.extras,
    };
  }
}

export const archiveArea = (lat: number, lon: number): string => geohashEncode(lat, lon, ARCHIVE_AREA_PRECISION);
export const archiveBucket = (ts: number): number => Math.floor(ts / ARCHIVE_BUCKET_MS) * ARCHIVE_BUCKET_MS;

export function encodeArchiveBody(b: ArchiveBody): Uint8Array {
  return encodeOwned(b);
}

/** A block body's events, as the shard folded them (field for field the validated event). */
export function decodeArchiveBody(bytes: Uint8Array, partition: number): ArchivedEvent[] {
  const b = decode<ArchiveBody>(bytes);
  if (b?.v !== 2 || !Array.isArray(b.users)) throw new Error('not an archive block body v2');
  const users: readonly string[] = b.users;
  const extras = new Map(b.extras.map(([i, name, props]) => [i, { name, props }]));
  const out = new Array<ArchivedEvent>(users.length);
  for (let i = 0; i < users.length; i++) {
    const x = extras.get(i);
    const type = EVENT_TYPES[b.types[i]!]!;
    const ev: { -readonly [K in keyof AdEvent]: AdEvent[K] } = x?.name != null
      ? { userId: users[i]!, type, name: x.name, ts: b.ts[i]!, lat: b.lat[i]!, lon: b.lon[i]! }
      : { userId: users[i]!, type, ts: b.ts[i]!, lat: b.lat[i]!, lon: b.lon[i]! };
    const id = b.ids[i];
    if (id != null) ev.id = id;
    if (b.apps[i]! > 0) ev.appId = b.names[b.apps[i]! - 1];
    if (b.campaigns[i]! > 0) ev.campaignId = b.names[b.campaigns[i]! - 1];
    if (!Number.isNaN(b.values[i]!)) ev.value = b.values[i];
    if (x?.props != null) ev.props = x.props;
    out[i] = { partition, offset: b.offsets[i]!, index: b.indexes[i]!, at: b.at[i]!, flags: b.flags[i]!, event: ev };
  }
  return out;
}

/** One event as `GET /v1/events` answers it (docs/api.md, "Raw events"). */
export interface ArchivedEventJson {
  readonly ts: number;
  readonly type: EventType;
  readonly name?: string;
  readonly userId: string;
  readonly lat: number;
  readonly lon: number;
  readonly appId?: string;
  readonly campaignId?: string;
  readonly value?: number;
  readonly id?: string;
  readonly props?: Readonly<Record<string, PropValue>>;
  /** Gateway receive time, epoch ms (0 if unknown). */
  readonly receivedAt: number;
  readonly partition: number;
  readonly offset: number;
  readonly index: number;
  readonly late: boolean;
  readonly duplicate: boolean;
}

/** A page of `GET /v1/events`. */
export interface EventsAnswer {
  readonly cell: string;
  readonly from: number;
  readonly to: number;
  /** Newest first. */
  readonly events: readonly ArchivedEventJson[];
  /** Cursor of the next (older) page, null on the last one. */
  readonly next: string | null;
  readonly source: 'archive';
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
