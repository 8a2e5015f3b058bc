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
 * names are not repeated per event, and every whole-number column is stored as the narrowest typed array
 * of its values less the column's least (`[base, column]`, {@link IntColumn}): offsets within a round,
 * indexes within a record, receive and event times within a block span one or two bytes each. Values and
 * client ids, which most events lack, are stored for the events that have them only. App and campaign
 * ids are coded against the block's own list of names. Not deflated: blocks are small (a round's events
 * of one area), and a deflate call per block cost more on the shard's thread than Cassandra spends on the
 * extra bytes (docs/BENCHMARKS.md).
 */
export interface ArchiveBody {
  readonly v: 3;
  readonly offsets: IntColumn;
  readonly indexes: IntColumn;
  readonly at: IntColumn;
  readonly flags: Uint8Array;
  readonly ts: IntColumn;
  readonly lat: Float64Array;
  readonly lon: Float64Array;
  /** TYPE_INDEX of each event's type. */
  readonly types: Uint8Array;
  /**
   * The events' user ids, one after another, as UTF-8, and their lengths in UTF-16 code units: written
   * as bytes when the event is added, so the shard holds no string per event until the round seals.
   */
  readonly users: Uint8Array;
  readonly userLengths: IntColumn;
  /** App and campaign ids used in the block; `apps[i]` / `campaigns[i]` is 1 + an index into it, 0 for none. */
  readonly names: readonly string[];
  readonly apps: IntColumn;
  readonly campaigns: IntColumn;
  /** The events with a value (their indexes in the block, ascending), and the values. */
  readonly valued: IntColumn;
  readonly values: Float64Array;
  /** The events with a client id, and the ids. */
  readonly identified: IntColumn;
  readonly ids: readonly string[];
  /** The rare fields, by event: [index in the block, name or null, props or null]. */
  readonly extras: readonly (readonly [number, string | null, Readonly<Record<string, PropValue>> | null])[];
}

/**
 * Whole numbers as `base + column[i]`, the column the narrowest unsigned typed array that holds their
 * range; numbers that are not all whole or span 2³² or more are kept as they are, base 0, in a Float64Array.
 */
export type IntColumn = readonly [base: number, column: Uint8Array | Uint16Array | Uint32Array | Float64Array];

/** The first `n` numbers of `xs` as an {@link IntColumn}. */
export function intColumn(xs: Float64Array | Uint32Array, n: number): IntColumn {
  let min = Infinity;
  let max = -Infinity;
  let whole = true;
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
    if (whole && !Number.isSafeInteger(x)) whole = false;
  }
  if (n === 0) return [0, new Uint8Array(0)];
  const range = max - min;
  if (!whole || range >= 2 ** 32) return [0, new Float64Array(xs.subarray(0, n))];
  const out = range < 256 ? new Uint8Array(n) : range < 65_536 ? new Uint16Array(n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = xs[i]! - min;
  return [min, out];
}

/** Numbers as {@link intColumn} wrote them. */
export function intColumnValues(c: IntColumn): Float64Array {
  const [base, col] = c;
  const out = new Float64Array(col.length);
  for (let i = 0; i < col.length; i++) out[i] = base + col[i]!;
  return out;
}

const INITIAL_CAPACITY = 64;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * Builds an {@link ArchiveBody} one event at a time, into typed arrays it keeps: `reset` after a body is
 * taken reuses them for the next round's events of the same area and hour (a shard thread seals tens of
 * blocks a second; allocating their columns anew each time was a good part of the archive's collections).
 */
export class ArchiveBodyBuilder {
  private n = 0;
  private capacity = 0;
  private offsets = new Float64Array(0);
  private indexes = new Uint32Array(0);
  private at = new Float64Array(0);
  private flags = new Uint8Array(0);
  private ts = new Float64Array(0);
  private lat = new Float64Array(0);
  private lon = new Float64Array(0);
  private types = new Uint8Array(0);
  private apps = new Uint32Array(0);
  private campaigns = new Uint32Array(0);
  private userLengths = new Uint32Array(0);
  private users = new Uint8Array(256);
  private usersEnd = 0;
  private readonly names = new Map<string, number>();
  private valued: number[] = [];
  private values: number[] = [];
  private identified: number[] = [];
  private ids: string[] = [];
  private extras: [number, string | null, Readonly<Record<string, PropValue>> | null][] = [];
  minTs = Infinity;
  maxTs = -Infinity;

  get count(): number {
    return this.n;
  }

  add(offset: number, index: number, at: number, flags: number, ev: AdEvent): void {
    const i = this.n;
    if (i === this.capacity) this.grow();
    if (ev.name !== undefined || ev.props !== undefined) this.extras.push([i, ev.name ?? null, ev.props ?? null]);
    this.offsets[i] = offset;
    this.indexes[i] = index;
    this.at[i] = at;
    this.flags[i] = flags;
    const ts = ev.ts;
    this.ts[i] = ts;
    this.lat[i] = ev.lat;
    this.lon[i] = ev.lon;
    this.types[i] = TYPE_INDEX[ev.type];
    this.addUser(ev.userId);
    this.apps[i] = ev.appId === undefined ? 0 : this.nameId(ev.appId);
    this.campaigns[i] = ev.campaignId === undefined ? 0 : this.nameId(ev.campaignId);
    if (ev.value !== undefined) {
      this.valued.push(i);
      this.values.push(ev.value);
    }
    if (ev.id !== undefined) {
      this.identified.push(i);
      this.ids.push(ev.id);
    }
    if (ts < this.minTs) this.minTs = ts;
    if (ts > this.maxTs) this.maxTs = ts;
    this.n = i + 1;
  }

  private grow(): void {
    const c = Math.max(INITIAL_CAPACITY, this.capacity * 2);
    const more = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, make: new (n: number) => T): T => {
      const b = new make(c);
      b.set(a);
      return b;
    };
    this.offsets = more(this.offsets, Float64Array);
    this.indexes = more(this.indexes, Uint32Array);
    this.at = more(this.at, Float64Array);
    this.flags = more(this.flags, Uint8Array);
    this.ts = more(this.ts, Float64Array);
    this.lat = more(this.lat, Float64Array);
    this.lon = more(this.lon, Float64Array);
    this.types = more(this.types, Uint8Array);
    this.apps = more(this.apps, Uint32Array);
    this.campaigns = more(this.campaigns, Uint32Array);
    this.userLengths = more(this.userLengths, Uint32Array);
    this.capacity = c;
  }

  private addUser(user: string): void {
    const len = user.length;
    if (this.usersEnd + 3 * len > this.users.length) {
      const more = new Uint8Array(Math.max(2 * this.users.length, this.usersEnd + 3 * len));
      more.set(this.users.subarray(0, this.usersEnd));
      this.users = more;
    }
    const out = this.users;
    let at = this.usersEnd;
    let k = 0;
    for (; k < len; k++) {
      const c = user.charCodeAt(k);
      if (c >= 0x80) break;
      out[at++] = c;
    }
    // Beyond ASCII: the rest through the encoder (a lone surrogate becomes U+FFFD, one code unit as before).
    if (k < len) at += utf8.encodeInto(user.slice(k), out.subarray(at)).written;
    this.usersEnd = at;
    this.userLengths[this.n] = len;
  }

  private nameId(name: string): number {
    let id = this.names.get(name);
    if (id === undefined) this.names.set(name, (id = this.names.size + 1));
    return id;
  }

  /**
   * The events added since the last {@link reset}, as a body. Some of its columns are views of the
   * builder's: encode it before the next `add` or `reset`.
   */
  body(): ArchiveBody {
    const n = this.n;
    return {
      v: 3, offsets: intColumn(this.offsets, n), indexes: intColumn(this.indexes, n), at: intColumn(this.at, n), flags: this.flags.subarray(0, n),
      ts: intColumn(this.ts, n), lat: this.lat.subarray(0, n), lon: this.lon.subarray(0, n), types: this.types.subarray(0, n),
      users: this.users.subarray(0, this.usersEnd), userLengths: intColumn(this.userLengths, n),
      names: [...this.names.keys()], apps: intColumn(this.apps, n), campaigns: intColumn(this.campaigns, n),
      valued: intColumn(new Float64Array(this.valued), this.valued.length), values: new Float64Array(this.values),
      identified: intColumn(new Float64Array(this.identified), this.identified.length), ids: this.ids, extras: this.extras,
    };
  }

  /** Empties the builder, keeping its columns' room. */
  reset(): void {
    this.n = 0;
    this.usersEnd = 0;
    this.names.clear();
    this.valued = [];
    this.values = [];
    this.identified = [];
    this.ids = [];
    this.extras = [];
    this.minTs = Infinity;
    this.maxTs = -Infinity;
  }
}

export const archiveArea = (lat: number, lon: number): string => geohashEncode(lat, lon, ARCHIVE_AREA_PRECISION);
export const archiveBucket = (ts: number): number => Math.floor(ts / ARCHIVE_BUCKET_MS) * ARCHIVE_BUCKET_MS;

export function encodeArchiveBody(b: ArchiveBody): Uint8Array {
  return encodeOwned(b);
}

/** A body as the first archive blocks were written (v2: every column one number or string per event). */
interface ArchiveBodyV2 {
  readonly v: 2;
  readonly offsets: ArrayLike<number>;
  readonly indexes: ArrayLike<number>;
  readonly at: ArrayLike<number>;
  readonly flags: ArrayLike<number>;
  readonly ts: ArrayLike<number>;
  readonly lat: ArrayLike<number>;
  readonly lon: ArrayLike<number>;
  readonly types: ArrayLike<number>;
  readonly users: readonly string[];
  readonly names: readonly string[];
  readonly apps: ArrayLike<number>;
  readonly campaigns: ArrayLike<number>;
  /** NaN for none. */
  readonly values: ArrayLike<number>;
  readonly ids: readonly (string | null)[];
  readonly extras: ArchiveBody['extras'];
}

/** A block body's events, as the shard folded them (field for field the validated event). Reads v3 and v2 bodies. */
export function decodeArchiveBody(bytes: Uint8Array, partition: number): ArchivedEvent[] {
  const raw = decode<ArchiveBody | ArchiveBodyV2>(bytes);
  if (raw?.v === 3 && raw.users instanceof Uint8Array) return decodeV3(raw, partition);
  if (raw?.v === 2 && Array.isArray(raw.users)) return decodeV2(raw, partition);
  throw new Error('not an archive block body (v2 or v3)');
}

/** An event of a block, from its columns' values at one index. */
function blockEvent(
  partition: number, offset: number, index: number, at: number, flags: number, userId: string, typeIndex: number, ts: number, lat: number, lon: number,
  app: string | undefined, campaign: string | undefined, value: number | undefined, id: string | null | undefined, x: { name: string | null; props: ArchiveBody['extras'][number][2] } | undefined,
): ArchivedEvent {
  const type = EVENT_TYPES[typeIndex]!;
  const ev: { -readonly [K in keyof AdEvent]: AdEvent[K] } = x?.name != null ? { userId, type, name: x.name, ts, lat, lon } : { userId, type, ts, lat, lon };
  if (id != null) ev.id = id;
  if (app !== undefined) ev.appId = app;
  if (campaign !== undefined) ev.campaignId = campaign;
  if (value !== undefined) ev.value = value;
  if (x?.props != null) ev.props = x.props;
  return { partition, offset, index, at, flags, event: ev };
}

const extrasByIndex = (extras: ArchiveBody['extras']) => new Map(extras.map(([i, name, props]) => [i, { name, props }]));

/** v3: the whole-number columns read in place (base + narrow value), the sparse ones walked beside. */
function decodeV3(b: ArchiveBody, partition: number): ArchivedEvent[] {
  const [lenBase, lens] = b.userLengths;
  const n = lens.length;
  const users = utf8Decoder.decode(b.users);
  const extras = extrasByIndex(b.extras);
  const [oBase, offsets] = b.offsets;
  const [iBase, indexes] = b.indexes;
  const [aBase, at] = b.at;
  const [tBase, ts] = b.ts;
  const [appBase, apps] = b.apps;
  const [cBase, campaigns] = b.campaigns;
  const valued = intColumnValues(b.valued);
  const identified = intColumnValues(b.identified);
  const out = new Array<ArchivedEvent>(n);
  let u = 0;
  let v = 0;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const userEnd = u + lenBase + lens[i]!;
    const app = appBase + apps[i]!;
    const campaign = cBase + campaigns[i]!;
    const value = v < valued.length && valued[v] === i ? b.values[v++] : undefined;
    const id = d < identified.length && identified[d] === i ? b.ids[d++] : undefined;
    out[i] = blockEvent(partition, oBase + offsets[i]!, iBase + indexes[i]!, aBase + at[i]!, b.flags[i]!, users.slice(u, userEnd), b.types[i]!, tBase + ts[i]!,
      b.lat[i]!, b.lon[i]!, app > 0 ? b.names[app - 1] : undefined, campaign > 0 ? b.names[campaign - 1] : undefined, value, id, extras.get(i));
    u = userEnd;
  }
  return out;
}

function decodeV2(b: ArchiveBodyV2, partition: number): ArchivedEvent[] {
  const extras = extrasByIndex(b.extras);
  const out = new Array<ArchivedEvent>(b.users.length);
  for (let i = 0; i < b.users.length; i++) {
    const value = b.values[i]!;
    out[i] = blockEvent(partition, b.offsets[i]!, b.indexes[i]!, b.at[i]!, b.flags[i]!, b.users[i]!, b.types[i]!, b.ts[i]!, b.lat[i]!, b.lon[i]!,
      b.apps[i]! > 0 ? b.names[b.apps[i]! - 1] : undefined, b.campaigns[i]! > 0 ? b.names[b.campaigns[i]! - 1] : undefined, Number.isNaN(value) ? undefined : value, b.ids[i], extras.get(i));
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
