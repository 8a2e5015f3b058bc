/**
 * Events as bytes: how the gateway checks a msgpack batch without building an object per event, and how
 * an event's bytes go into its partition's record unchanged.
 *
 * {@link scanEventBatch} walks the msgpack in place and accepts only a batch in which every event is
 * valid under {@link validateEvent} and written in encodings that decode to exactly what the validator
 * would have let through. Anything else (an invalid event, a nil, a 64-bit integer, a non-ASCII string,
 * a repeated key, an extension type) makes it decline, and the caller decodes and validates the batch
 * the ordinary way, which names every error. The fast path never rejects anything itself: the rules stay
 * defined once, in validate.ts, and test/unit/actors/model/wire.test.ts checks that both paths agree.
 */
import { encode } from './codec.js';
import { EVENT_TYPES, type AdEvent } from './event.js';
import { murmur2, userHash } from './records.js';
import type { EventLimits } from './validate.js';

/** One valid event on its way to Kafka: its msgpack map and the hash that picks its partition. */
export interface WireEvent {
  /** The event's msgpack map (a view of the request's bytes, or the validated event encoded). */
  readonly bytes: Uint8Array;
  /** murmur2 of the userId's UTF-8 bytes: the partition is `(hash & 0x7fffffff) % partitions`. */
  readonly hash: number;
}

/** A validated event as a wire event (the ordinary path: the event encoded on its own). */
export const wireEvent = (e: AdEvent): WireEvent => ({ bytes: encode(e), hash: userHash(e.userId) });

/** The partition of a wire event: the same as `partitionFor(userId, partitions)`. */
export const wirePartition = (e: WireEvent, partitions: number): number => (e.hash & 0x7fffffff) % partitions;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

// The fields of event model v1 (validate.ts EVENT_FIELDS), by their position there.
const F_USER = 0, F_TYPE = 1, F_NAME = 2, F_TS = 3, F_LAT = 4, F_LON = 5, F_ID = 6, F_APP = 7, F_CAMPAIGN = 8, F_VALUE = 9, F_PROPS = 10;
const FIELD_NAMES = ['userId', 'type', 'name', 'ts', 'lat', 'lon', 'id', 'appId', 'campaignId', 'value', 'props'].map(ascii);
const TYPE_NAMES = EVENT_TYPES.map(ascii);
const CUSTOM = EVENT_TYPES.indexOf('custom');
const REQUIRED = (1 << F_USER) | (1 << F_TYPE) | (1 << F_TS) | (1 << F_LAT) | (1 << F_LON);
const PROTO = ascii('__proto__');

/** Thrown inside the scanner to decline; never escapes it. Made once: declining costs no stack trace. */
const DECLINE = new Error('declined: take the ordinary path');

class Cursor {
  pos: number;
  private readonly view: DataView;

  constructor(readonly buf: Uint8Array, start: number) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw DECLINE;
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  /** A map or array header of the given family: its element count. */
  private header(fixBase: number, fixMax: number, b16: number, b32: number): number {
    const b = this.byte();
    if (b >= fixBase && b <= fixMax) return b - fixBase;
    if (b === b16) {
      this.need(2);
      const n = this.view.getUint16(this.pos);
      this.pos += 2;
      return n;
    }
    if (b === b32) {
      this.need(4);
      const n = this.view.getUint32(this.pos);
      this.pos += 4;
      return n;
    }
    this.pos--;
    return -1;
  }

  map(): number {
    return this.header(0x80, 0x8f, 0xde, 0xdf);
  }

  array(): number {
    return this.header(0x90, 0x9f, 0xdc, 0xdd);
  }

  /** An ASCII string's byte length (= its JS length), its bytes at `pos - length`; declines otherwise. */
  str(): number {
    const b = this.byte();
    let n: number;
    if (b >= 0xa0 && b <= 0xbf) n = b - 0xa0;
    else if (b === 0xd9) n = this.byte();
    else if (b === 0xda) {
      this.need(2);
      n = this.view.getUint16(this.pos);
      this.pos += 2;
    } else if (b === 0xdb) {
      this.need(4);
      n = this.view.getUint32(this.pos);
      this.pos += 4;
    } else throw DECLINE;
    this.need(n);
    const end = this.pos + n;
    for (let i = this.pos; i < end; i++) if (this.buf[i]! > 0x7f) throw DECLINE;
    this.pos = end;
    return n;
  }

  /** A number as msgpackr decodes it to a JS number (64-bit integers decode to BigInt: declined). */
  num(): number {
    const b = this.byte();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    let v: number;
    switch (b) {
      case 0xcc: return this.byte();
      case 0xcd: this.need(2); v = this.view.getUint16(this.pos); this.pos += 2; return v;
      case 0xce: this.need(4); v = this.view.getUint32(this.pos); this.pos += 4; return v;
      case 0xd0: this.need(1); v = this.view.getInt8(this.pos); this.pos += 1; return v;
      case 0xd1: this.need(2); v = this.view.getInt16(this.pos); this.pos += 2; return v;
      case 0xd2: this.need(4); v = this.view.getInt32(this.pos); this.pos += 4; return v;
      case 0xca: this.need(4); v = this.view.getFloat32(this.pos); this.pos += 4; break;
      case 0xcb: this.need(8); v = this.view.getFloat64(this.pos); this.pos += 8; break;
      default: throw DECLINE;
    }
    if (!Number.isFinite(v)) throw DECLINE;
    return v;
  }

  /** Whether the `n` bytes before `pos` equal `want`. */
  was(n: number, want: Uint8Array): boolean {
    if (n !== want.length) return false;
    const at = this.pos - n;
    for (let i = 0; i < n; i++) if (this.buf[at + i] !== want[i]) return false;
    return true;
  }
}

/** Checks a string of min..max characters; returns its length. */
function strIn(c: Cursor, min: number, max: number): number {
  const n = c.str();
  if (n < min || n > max) throw DECLINE;
  return n;
}

function numIn(c: Cursor, min: number, max: number): number {
  const v = c.num();
  if (v < min || v > max) throw DECLINE;
  return v;
}

function props(c: Cursor, limits: EventLimits): void {
  const n = c.map();
  if (n < 0 || n > limits.propsMaxKeys) throw DECLINE;
  const keys: number[] = []; // [start, length] pairs, to refuse a repeated key (msgpackr keeps the last)
  for (let i = 0; i < n; i++) {
    const len = strIn(c, 1, limits.shortStringMax);
    const at = c.pos - len;
    if (c.was(len, PROTO)) throw DECLINE;
    for (let k = 0; k < keys.length; k += 2) {
      const other = keys[k]!;
      if (keys[k + 1] === len && c.buf.subarray(other, other + len).every((b, j) => b === c.buf[at + j])) throw DECLINE;
    }
    keys.push(at, len);
    const b = c.buf[c.pos];
    if (b === 0xc2 || b === 0xc3) c.pos++;
    else if (b !== undefined && ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb))) strIn(c, 0, limits.propValueMax);
    else c.num();
  }
}

/** Which field the key just read names, by its length and first letter; -1 for none. */
function fieldOf(c: Cursor, len: number): number {
  const first = c.buf[c.pos - len];
  let f: number;
  switch (len) {
    case 2: f = first === 0x74 ? F_TS : F_ID; break; // t
    case 3: f = c.buf[c.pos - 2] === 0x61 ? F_LAT : F_LON; break; // a
    case 4: f = first === 0x74 ? F_TYPE : F_NAME; break;
    case 5: f = first === 0x61 ? F_APP : first === 0x76 ? F_VALUE : F_PROPS; break; // a, v
    case 6: f = F_USER; break;
    case 10: f = F_CAMPAIGN; break;
    default: return -1;
  }
  return c.was(len, FIELD_NAMES[f]!) ? f : -1;
}

/** One event map at the cursor: its bytes, and its userId's hash for the partitioner. */
function event(c: Cursor, now: number, limits: EventLimits): WireEvent {
  const start = c.pos;
  const n = c.map();
  if (n < 0) throw DECLINE;
  let seen = 0;
  let type = -1;
  let userAt = 0;
  let userLen = 0;
  for (let i = 0; i < n; i++) {
    const klen = c.str();
    const f = fieldOf(c, klen);
    if (f < 0 || (seen & (1 << f)) !== 0) throw DECLINE; // unknown field, or a repeated one
    seen |= 1 << f;
    switch (f) {
      case F_USER:
        userLen = strIn(c, 1, limits.userIdMax);
        userAt = c.pos - userLen;
        break;
      case F_TYPE: {
        const len = c.str();
        for (let t = 0; t < TYPE_NAMES.length && type < 0; t++) if (c.was(len, TYPE_NAMES[t]!)) type = t;
        if (type < 0) throw DECLINE;
        break;
      }
      case F_NAME: case F_ID: case F_APP: case F_CAMPAIGN:
        strIn(c, 1, limits.shortStringMax);
        break;
      case F_TS: {
        const ts = numIn(c, now - limits.tsPastMs, now + limits.tsFutureMs);
        if (!Number.isInteger(ts)) throw DECLINE;
        break;
      }
      case F_LAT: numIn(c, -90, 90); break;
      case F_LON: numIn(c, -180, 180); break;
      case F_VALUE: numIn(c, -limits.valueMaxAbs, limits.valueMaxAbs); break;
      case F_PROPS: props(c, limits); break;
    }
  }
  if ((seen & REQUIRED) !== REQUIRED) throw DECLINE;
  if (((seen & (1 << F_NAME)) !== 0) !== (type === CUSTOM)) throw DECLINE; // name iff custom
  // A plain view, not Buffer#subarray (several times dearer per call).
  return { bytes: new Uint8Array(c.buf.buffer, c.buf.byteOffset + start, c.pos - start), hash: murmur2(c.buf, userAt, userAt + userLen) };
}

function events(c: Cursor, now: number, limits: EventLimits, allowSingle: boolean): WireEvent[] {
  const n = c.array();
  if (n < 0) {
    if (!allowSingle) throw DECLINE;
    return [event(c, now, limits)];
  }
  if (n === 0 || n > limits.maxBatch) throw DECLINE;
  const out = new Array<WireEvent>(n);
  for (let i = 0; i < n; i++) out[i] = event(c, now, limits);
  return out;
}

/**
 * Every event of a msgpack batch (an array of event maps, or one map when `allowSingle`), when every one
 * of them is valid at server time `now`; `undefined` when the batch must take the ordinary path.
 */
export function scanEventBatch(buf: Uint8Array, now: number, limits: EventLimits, allowSingle = true): WireEvent[] | undefined {
  try {
    const c = new Cursor(buf, 0);
    const out = events(c, now, limits, allowSingle);
    return c.pos === buf.length ? out : undefined;
  } catch (err) {
    if (err === DECLINE) return undefined;
    throw err;
  }
}

const SEQ = ascii('seq');
const EVENTS = ascii('events');

/** A WebSocket ingest frame `{seq, events}` whose events are all valid; `undefined` otherwise. */
export function scanEventFrame(buf: Uint8Array, now: number, limits: EventLimits): { seq: number; events: WireEvent[] } | undefined {
  try {
    const c = new Cursor(buf, 0);
    if (c.map() !== 2) return undefined;
    let seq = -1;
    let list: WireEvent[] | undefined;
    for (let i = 0; i < 2; i++) {
      const len = c.str();
      if (c.was(len, SEQ) && seq < 0) {
        seq = c.num();
        if (!Number.isSafeInteger(seq) || seq < 0) return undefined;
      } else if (c.was(len, EVENTS) && !list) list = events(c, now, limits, false);
      else return undefined;
    }
    return list && c.pos === buf.length ? { seq, events: list } : undefined;
  } catch (err) {
    if (err === DECLINE) return undefined;
    throw err;
  }
}

const EVENTS_RECORD_HEAD = ascii('\x83\xa1v\x01\xa2at\xcb\x00\x00\x00\x00\x00\x00\x00\x00\xa6events');
const AT_OFFSET = 8; // after 0x83, 'v', 1, 'at', 0xcb

/**
 * An `EventBatchRecord` (records.ts) from events already in msgpack: `{v: 1, at, events: [...]}` with each
 * event's bytes copied as they are. Decodes to the same record as `encode({v: 1, at, events})`. `size`:
 * wireRecordSize(list), when the caller has it already.
 */
export function packWireRecord(at: number, list: readonly WireEvent[], size = wireRecordSize(list)): Uint8Array {
  const n = list.length;
  const out = new Uint8Array(size);
  out.set(EVENTS_RECORD_HEAD);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setFloat64(AT_OFFSET, at);
  let pos = EVENTS_RECORD_HEAD.length;
  if (n < 16) out[pos++] = 0x90 | n;
  else if (n < 0x10000) {
    out[pos++] = 0xdc;
    view.setUint16(pos, n);
    pos += 2;
  } else {
    out[pos++] = 0xdd;
    view.setUint32(pos, n);
    pos += 4;
  }
  for (const e of list) {
    out.set(e.bytes, pos);
    pos += e.bytes.length;
  }
  return out;
}

/** The size {@link packWireRecord} gives these events, without packing them. */
export function wireRecordSize(list: readonly WireEvent[]): number {
  let size = EVENTS_RECORD_HEAD.length + (list.length < 16 ? 1 : list.length < 0x10000 ? 3 : 5);
  for (const e of list) size += e.bytes.length;
  return size;
}
