/**
 * A frozen window of the live store, packed: every cell of one 10 s window that no delta can change any
 * more, in one byte array instead of objects per cell. Most of the live horizon is frozen (with the
 * defaults, 84 of its 90 windows), so what a frozen cell costs is most of the gateway's memory: as
 * objects (a cell record, its sums, a packed segment list of doubles, a sketch's bytes and one more per
 * segment) the stream benchmark's store held 7 KiB per row; packed here, a frozen cell's values take a
 * few bytes each (docs/gateway.md, "Memory of the live store").
 *
 * Cell i is `bytes[at[i] .. at[i + 1])`:
 *
 *   sums                   values (below) of its SEGMENT_SLOTS sums
 *   n (varint)             then n segments, each: its number (varint), then values
 *   users (varint length)  then the cell's users' bytes (actors/model/reach.ts; length 0: none)
 *   m (varint)             then m segments' users, each: its number, a varint length, the bytes
 *
 * where values are a mask of the non-zero slots (a byte), then each such slot: a count as a varint, the
 * value sum (the last slot) as a float64 (with the mask's high bit set, every slot as a float64: a count
 * that is not a non-negative integer below 2^53, which counting never makes, still reads back as it was).
 * Reading a cell yields a short-lived {@link BaseCell} that decodes a part when it is asked for: the store
 * reads frozen windows only when a window leaves a view, a view is built, a view's users are rebuilt, or
 * the query API answers from memory.
 */
import { SEGMENT_SLOTS, geohashCenter, packSegment, unpackSegment } from '../../actors/model/index.js';
import type { BaseCell } from './store.js';

const NO_PARTS: number[] = [];
/** The value sum's slot: the one stored as a float64 (the others are counts). */
const VALUE_SLOT = SEGMENT_SLOTS - 1;
/** In a values mask: every slot is a float64. */
const ALL_FLOATS = 0x80;

/** What freezing left of a cell: its sums, packed segments and users' bytes. */
export interface FrozenParts {
  readonly sum: ArrayLike<number>;
  readonly frozenSegs: Float64Array | null;
  readonly frozenReach: Uint8Array | null;
  readonly frozenSegReach: ReadonlyMap<number, Uint8Array> | null;
}

/** Appends to a growing list of bytes (a window is written once, when it freezes). */
class Out {
  readonly b: number[] = [];
  private readonly f64 = new Float64Array(1);
  private readonly f64Bytes = new Uint8Array(this.f64.buffer);

  /** An integer 0 ≤ v < 2^53 in 7-bit groups, low first. */
  varint(v: number): void {
    while (v >= 0x80) {
      this.b.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.b.push(v);
  }

  values(vals: ArrayLike<number>, at: number): void {
    let mask = 0;
    for (let s = 0; s < SEGMENT_SLOTS; s++) {
      const v = vals[at + s]!;
      if (v !== 0) mask |= 1 << s;
      if (s !== VALUE_SLOT && !(Number.isInteger(v) && v >= 0 && v < 2 ** 53)) mask |= ALL_FLOATS;
    }
    this.b.push(mask);
    for (let s = 0; s < SEGMENT_SLOTS; s++) {
      if (!(mask & (1 << s))) continue;
      if (s === VALUE_SLOT || mask & ALL_FLOATS) this.float(vals[at + s]!);
      else this.varint(vals[at + s]!);
    }
  }

  float(v: number): void {
    this.f64[0] = v;
    for (const x of this.f64Bytes) this.b.push(x);
  }

  raw(bytes: Uint8Array): void {
    for (const x of bytes) this.b.push(x);
  }
}

/** A float64 and its bytes, for reading one (shared: readers run one at a time). */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

/** Reads what {@link Out} wrote. */
class In {
  constructor(private readonly b: Uint8Array, public at: number) {}

  varint(): number {
    let v = 0;
    for (let scale = 1; ; scale *= 0x80) {
      const x = this.b[this.at++]!;
      v += (x & 0x7f) * scale;
      if (x < 0x80) return v;
    }
  }

  /** A values record into `out[outAt ...]` (zeros where the mask has none); returns the mask. */
  values(out: { [i: number]: number }, outAt: number): number {
    const mask = this.b[this.at++]!;
    for (let s = 0; s < SEGMENT_SLOTS; s++) out[outAt + s] = mask & (1 << s) ? (s === VALUE_SLOT || mask & ALL_FLOATS ? this.float() : this.varint()) : 0;
    return mask;
  }

  float(): number {
    for (let i = 0; i < 8; i++) F64_BYTES[i] = this.b[this.at++]!;
    return F64[0]!;
  }
}

const scratch = new Float64Array(SEGMENT_SLOTS);

export class FrozenWindow {
  /** The cells' geohashes, concatenated; cell i is `cellText.slice(cellAt[i], cellAt[i + 1])`. */
  private readonly cellText: string;
  private readonly cellAt: Uint32Array;
  /** Cell i's record is `bytes[at[i] .. at[i + 1])` (the layout above). */
  private readonly at: Uint32Array;
  private readonly bytes: Uint8Array;

  constructor(cells: ReadonlyMap<string, FrozenParts>) {
    const out = new Out();
    this.cellAt = new Uint32Array(cells.size + 1);
    this.at = new Uint32Array(cells.size + 1);
    const text: string[] = [];
    let textLength = 0;
    let i = 0;
    for (const [cell, c] of cells) {
      text.push(cell);
      this.cellAt[i + 1] = textLength += cell.length;
      out.values(c.sum, 0);
      const segs = c.frozenSegs ?? new Float64Array(0);
      let n = 0;
      for (let k = 0; k < segs.length; k = unpackSegment(segs, k, scratch, 0).next) n++;
      out.varint(n);
      for (let k = 0; k < segs.length;) {
        const { id, next } = unpackSegment(segs, k, scratch, 0);
        out.varint(id);
        out.values(scratch, 0);
        k = next;
      }
      out.varint(c.frozenReach?.length ?? 0);
      if (c.frozenReach) out.raw(c.frozenReach);
      out.varint(c.frozenSegReach?.size ?? 0);
      for (const [id, b] of c.frozenSegReach ?? []) {
        out.varint(id);
        out.varint(b.length);
        out.raw(b);
      }
      this.at[++i] = out.b.length;
    }
    this.bytes = Uint8Array.from(out.b);
    this.cellText = text.join(''); // one flat string, not a rope of a string per cell
  }

  get size(): number {
    return this.at.length - 1;
  }

  /** Bytes held (the arrays and the text; object headers aside). */
  get bytesHeld(): number {
    return this.bytes.byteLength + this.at.byteLength + this.cellAt.byteLength + this.cellText.length;
  }

  /** Each segment number the window's cells name (in their segments or their segments' users). */
  *ids(): Generator<number> {
    for (const [, c] of this.entries()) {
      const segs = c.frozenSegs;
      for (let k = 0; k < segs.length; k = unpackSegment(segs, k, scratch, 0).next) yield segs[k]!;
      yield* c.frozenSegReach?.keys() ?? [];
    }
  }

  /** The same window with its segments renumbered (`to` maps every number it names to a distinct new one). */
  renumbered(to: (id: number) => number): FrozenWindow {
    const cells = new Map<string, FrozenParts>();
    for (const [cell, c] of this.entries()) {
      const segs = c.frozenSegs;
      for (let k = 0; k < segs.length; k = unpackSegment(segs, k, scratch, 0).next) segs[k] = to(segs[k]!);
      const segReach = c.frozenSegReach && new Map([...c.frozenSegReach].map(([id, b]) => [to(id), b]));
      cells.set(cell, { sum: c.sum, frozenSegs: segs, frozenReach: c.frozenReach, frozenSegReach: segReach });
    }
    return new FrozenWindow(cells);
  }

  /** Each cell, as a read-only base cell over the packed bytes (valid while the window is). */
  *entries(): Generator<[string, FrozenCell]> {
    for (let i = 0; i < this.size; i++) {
      const cell = this.cellText.slice(this.cellAt[i], this.cellAt[i + 1]);
      yield [cell, this.cell(cell, i)];
    }
  }

  private cell(cell: string, i: number): FrozenCell {
    return new FrozenCell(this.bytes, this.at[i]!, cell);
  }
}

/**
 * A frozen cell as a {@link BaseCell}: each part decoded when read (a view's sums read `sum`, its users
 * `frozenReach`, a filtered view the segments), on the prototype rather than in closures per cell.
 */
export class FrozenCell implements BaseCell {
  readonly parts = NO_PARTS;
  readonly partSegs = null;
  readonly held = null;
  readonly reach = null;
  readonly segReach = null;
  private centre: { lat: number; lon: number } | undefined;
  private sums: Float64Array | undefined;
  /** Where the segments, the users and the segments' users start (−1 until the record is walked). */
  private segsAt = -1;
  private usersAt = -1;
  private usersLen = 0;
  private entriesAt = -1;

  constructor(private readonly bytes: Uint8Array, private readonly at: number, private readonly cell: string) {}

  get lat(): number {
    return (this.centre ??= geohashCenter(this.cell)).lat;
  }

  get lon(): number {
    return (this.centre ??= geohashCenter(this.cell)).lon;
  }

  get sum(): Float64Array {
    if (!this.sums) this.walk();
    return this.sums!;
  }

  /** Decodes the sums and finds where the other parts start. */
  private walk(): void {
    const r = new In(this.bytes, this.at);
    r.values((this.sums = new Float64Array(SEGMENT_SLOTS)), 0);
    this.segsAt = r.at;
    for (let k = r.varint(); k > 0; k--) {
      r.varint();
      r.values(scratch, 0);
    }
    this.usersLen = r.varint();
    this.usersAt = r.at;
    this.entriesAt = r.at + this.usersLen;
  }

  get frozenSegs(): Float64Array {
    if (this.segsAt < 0) this.walk();
    const s = new In(this.bytes, this.segsAt);
    const packed: number[] = [];
    for (let k = s.varint(); k > 0; k--) {
      const id = s.varint();
      s.values(scratch, 0);
      packSegment(packed, id, scratch, 0);
    }
    return Float64Array.from(packed);
  }

  get frozenReach(): Uint8Array | null {
    if (this.usersAt < 0) this.walk();
    return this.usersLen === 0 ? null : this.bytes.subarray(this.usersAt, this.usersAt + this.usersLen);
  }

  /** Calls `fn` with each segment's number and users' bytes (what {@link frozenSegReach} holds, without the Map). */
  eachSegmentUsers(fn: (id: number, bytes: Uint8Array) => void): void {
    if (this.entriesAt < 0) this.walk();
    const s = new In(this.bytes, this.entriesAt);
    for (let k = s.varint(); k > 0; k--) {
      const id = s.varint();
      const len = s.varint();
      fn(id, this.bytes.subarray(s.at, s.at + len));
      s.at += len;
    }
  }

  get frozenSegReach(): Map<number, Uint8Array> | null {
    if (this.entriesAt < 0) this.walk();
    const s = new In(this.bytes, this.entriesAt);
    const m = s.varint();
    if (m === 0) return null;
    const out = new Map<number, Uint8Array>();
    for (let k = 0; k < m; k++) {
      const id = s.varint();
      const len = s.varint();
      out.set(id, this.bytes.subarray(s.at, s.at + len));
      s.at += len;
    }
    return out;
  }
}
