/**
 * Unique users: a mergeable sketch of 32-bit user hashes. Shared by the actors (which add hashes), the
 * gateway and the browser (which merge and estimate): no Node imports here.
 *
 * Exact while small: up to {@link EXACT_LIMIT} distinct hashes are kept as they are, so a cell-window or a
 * segment with a few users (nearly all of them) costs a few bytes and answers exactly. Beyond that, a
 * HyperLogLog of 2^{@link SKETCH_P} registers, estimated with Ertl's corrected estimator ("New cardinality
 * estimation algorithms for HyperLogLog sketches", 2017), which needs no bias tables and holds over the
 * whole range: standard error 1.04/√32768 ≈ 0.57 %, so ≈ 1.5 % at p99. Merging is exact in both forms
 * (a union of sets, a max of registers): the reach of an area over an hour is the estimate of the merge of
 * its cells' and windows' sketches, with the same error as one sketch of those users.
 *
 * Registers of a lower precision (checkpoints written before this sketch kept 2^12) merge by folding the
 * finer sketch down to the coarser precision, as HyperLogLog allows.
 */

export const SKETCH_P = 15;
/** Distinct hashes kept exactly before registers. */
export const EXACT_LIMIT = 4096;
/** Exact hashes kept in a plain array searched linearly before the open-addressing table. */
const SMALL_MAX = 8;
const ALPHA_INF = 1 / (2 * Math.LN2);

export class Sketch {
  /** Exact distinct hashes (`h | 0`) while very few. */
  private small: number[] | null = [];
  /** Then, up to EXACT_LIMIT: an open-addressing table of int32 (0 marks an empty slot; the hash 0 is `hasZero`). */
  private table: Int32Array | null = null;
  private count = 0;
  private hasZero = false;
  /** Then registers: 2^p of them, each the rank (1 + leading zeros) of the highest hash seen there. */
  private regs: Uint8Array | null = null;
  private p = SKETCH_P;
  /** The registers' estimate until one changes (−1: not known). */
  private cached = -1;

  /** Whether the sketch still holds its hashes exactly. */
  get exact(): boolean {
    return this.regs === null;
  }

  /** Register precision once not exact. */
  get precision(): number {
    return this.p;
  }

  get empty(): boolean {
    return this.small !== null && this.small.length === 0;
  }

  /** Adds a user; whether the sketch changed (a new hash while exact, a higher register after). */
  add(hash: number): boolean {
    const small = this.small;
    if (small) {
      const h = hash | 0;
      for (let i = 0; i < small.length; i++) if (small[i] === h) return false;
      small.push(h);
      if (small.length > SMALL_MAX) this.toTable();
      return true;
    }
    return this.table ? this.addExact(hash | 0) : this.addRegister(hash);
  }

  private toTable(): void {
    const values = this.small!;
    this.small = null;
    this.table = new Int32Array(32);
    for (const v of values) this.addExact(v);
  }

  private addExact(h: number): boolean {
    if (h === 0) {
      if (this.hasZero) return false;
      this.hasZero = true;
      if (this.count + 1 > EXACT_LIMIT) this.toRegisters(SKETCH_P);
      return true;
    }
    let t = this.table!;
    const mask = t.length - 1;
    let i = h & mask;
    for (; t[i] !== 0; i = (i + 1) & mask) if (t[i] === h) return false;
    t[i] = h;
    this.count++;
    if (this.count + (this.hasZero ? 1 : 0) > EXACT_LIMIT) {
      this.toRegisters(SKETCH_P);
      return true;
    }
    if (this.count * 2 > t.length) {
      // At most half full: probes stay short.
      const old = t;
      t = this.table = new Int32Array(old.length * 2);
      const m = t.length - 1;
      for (const v of old) {
        if (v === 0) continue;
        let j = v & m;
        while (t[j] !== 0) j = (j + 1) & m;
        t[j] = v;
      }
    }
    return true;
  }

  /** The exact hashes (while exact), unsorted. */
  hashes(): number[] {
    if (this.small) return this.small.slice();
    if (!this.table) throw new Error('a sketch in registers has no exact hashes');
    const out: number[] = this.hasZero ? [0] : [];
    for (const v of this.table) if (v !== 0) out.push(v);
    return out;
  }

  private addRegister(hash: number): boolean {
    const p = this.p;
    const h = hash >>> 0;
    const idx = h >>> (32 - p);
    const rest = (h << p) >>> 0;
    const rank = rest === 0 ? 32 - p + 1 : Math.clz32(rest) + 1;
    const regs = this.regs!;
    if (rank <= regs[idx]!) return false;
    regs[idx] = rank;
    this.cached = -1;
    return true;
  }

  private toRegisters(p: number): void {
    const values = this.hashes();
    this.small = null;
    this.table = null;
    this.count = 0;
    this.hasZero = false;
    this.p = p;
    this.regs = new Uint8Array(1 << p);
    this.cached = -1;
    for (const h of values) this.addRegister(h);
  }

  /** Adds every user of `other` (a union: merging the same sketch twice changes nothing). */
  merge(other: Sketch): this {
    if (!other.regs) {
      if (other.small) for (const h of other.small) this.add(h);
      else {
        if (other.hasZero) this.add(0);
        for (const v of other.table!) if (v !== 0) this.add(v);
      }
      return this;
    }
    if (!this.regs) this.toRegisters(other.p);
    if (other.p < this.p) this.foldTo(other.p);
    const a = this.regs!;
    const b = other.p === this.p ? other.regs : foldRegisters(other.regs, other.p, this.p);
    for (let i = 0; i < a.length; i++) if (b[i]! > a[i]!) a[i] = b[i]!;
    this.cached = -1;
    return this;
  }

  private foldTo(p: number): void {
    this.regs = foldRegisters(this.regs!, this.p, p);
    this.p = p;
    this.cached = -1;
  }

  clone(): Sketch {
    const s = new Sketch();
    s.small = this.small && this.small.slice();
    s.table = this.table && this.table.slice();
    s.count = this.count;
    s.hasZero = this.hasZero;
    s.regs = this.regs && this.regs.slice();
    s.p = this.p;
    s.cached = this.cached;
    return s;
  }

  /** Distinct users: exact while exact, else the registers' estimate. */
  estimate(): number {
    if (this.small) return this.small.length;
    if (this.table) return this.count + (this.hasZero ? 1 : 0);
    if (this.cached < 0) this.cached = Math.round(registersEstimate(this.regs!, this.p));
    return this.cached;
  }

  /** The sketch's bytes ({@link writeSketch}). */
  toBytes(): Uint8Array {
    return bytesWith(writeSketch, this);
  }

  static fromBytes(b: Uint8Array): Sketch {
    return wholeBytes(readSketch, b, 'sketch');
  }

  /** A sketch of registers as they are (a legacy checkpoint's; the array is kept, not copied). */
  static ofRegisters(regs: Uint8Array, p: number): Sketch {
    if (regs.length !== 1 << p) throw new RangeError(`sketch of precision ${p} needs ${1 << p} registers, got ${regs.length}`);
    const s = new Sketch();
    s.small = null;
    s.p = p;
    s.regs = regs;
    return s;
  }

  /** Internal to {@link writeSketch}: the registers, if not exact. */
  registers(): Uint8Array | null {
    return this.regs;
  }
}

/** Registers of precision `from` as registers of the coarser precision `to` (from ≥ to). */
export function foldRegisters(regs: Uint8Array, from: number, to: number): Uint8Array {
  if (from === to) return regs;
  if (from < to) throw new RangeError(`cannot fold registers of precision ${from} up to ${to}`);
  const d = from - to;
  const out = new Uint8Array(1 << to);
  for (let i = 0; i < regs.length; i++) {
    const r = regs[i]!;
    if (r === 0) continue;
    // The d index bits that leave the index become the rank's leading bits.
    const low = i & ((1 << d) - 1);
    const rank = low !== 0 ? Math.clz32(low) - (32 - d) + 1 : d + r;
    const j = i >>> d;
    if (rank > out[j]!) out[j] = rank;
  }
  return out;
}

/** Ertl's corrected raw estimator over 2^p registers of a 32-bit hash (q = 32 − p rank bits). */
export function registersEstimate(regs: Uint8Array, p: number): number {
  const m = 1 << p;
  const q = 32 - p;
  const c = new Float64Array(q + 2);
  for (let i = 0; i < m; i++) c[Math.min(regs[i]!, q + 1)]!++;
  let z = m * tau(1 - c[q + 1]! / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + c[k]!);
  z += m * sigma(c[0]! / m);
  return (ALPHA_INF * m * m) / z;
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const prev = z;
    z += x * y;
    y += y;
    if (prev === z) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const prev = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (prev === z) return z / 3;
  }
}

// ---- bytes ---------------------------------------------------------------------------------------
//
// A sketch is one of:
//   0, n (varint), then the n hashes as uint32 sorted ascending, each a varint of its gap to the previous;
//   1, p, n (varint), then n set registers: the gap of its index to the previous (varint) and its rank;
//   2, p, then all 2^p registers, one byte each.
// The writer picks the smaller of 1 and 2. A geohash cell with one user is 6 bytes or fewer.

export class ByteWriter {
  private buf = new Uint8Array(64);
  private n = 0;

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.n++] = b;
  }

  varint(v: number): void {
    this.room(5);
    while (v >= 0x80) {
      this.buf[this.n++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.n++] = v;
  }

  /** A byte, then a uint32 little-endian: one room check for the five (a tiny reach's pair). */
  byteAndU32(b: number, v: number): void {
    this.room(5);
    const buf = this.buf;
    const n = this.n;
    buf[n] = b;
    buf[n + 1] = v & 0xff;
    buf[n + 2] = (v >>> 8) & 0xff;
    buf[n + 3] = (v >>> 16) & 0xff;
    buf[n + 4] = v >>> 24;
    this.n = n + 5;
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }

  get length(): number {
    return this.n;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

export class ByteReader {
  at = 0;
  constructor(private readonly b: Uint8Array, at = 0) {
    this.at = at;
  }

  byte(): number {
    if (this.at >= this.b.length) throw new RangeError('sketch bytes end early');
    return this.b[this.at++]!;
  }

  /** The next byte, not consumed. */
  peek(): number {
    if (this.at >= this.b.length) throw new RangeError('sketch bytes end early');
    return this.b[this.at]!;
  }

  varint(): number {
    // Unrolled while five bytes remain (a gap between the sorted hashes of a few users is 4 bytes long):
    // one bounds check, shifts instead of powers.
    const b = this.b;
    let at = this.at;
    if (at + 5 <= b.length) {
      let x = b[at++]!;
      let v = x & 0x7f;
      if (x >= 0x80) {
        x = b[at++]!;
        v |= (x & 0x7f) << 7;
        if (x >= 0x80) {
          x = b[at++]!;
          v |= (x & 0x7f) << 14;
          if (x >= 0x80) {
            x = b[at++]!;
            v |= (x & 0x7f) << 21;
            if (x >= 0x80) {
              x = b[at++]!;
              if (x >= 0x80) throw new RangeError('sketch bytes: a varint longer than 5 bytes');
              v += x * 2 ** 28;
            }
          }
        }
      }
      this.at = at;
      return v;
    }
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    throw new RangeError('sketch bytes: a varint longer than 5 bytes');
  }

  raw(n: number): Uint8Array {
    if (this.at + n > this.b.length) throw new RangeError('sketch bytes end early');
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

/** `value` written alone by `write`. */
export function bytesWith<T>(write: (w: ByteWriter, v: T) => void, value: T): Uint8Array {
  const w = new ByteWriter();
  write(w, value);
  return w.bytes();
}

/** What `read` reads from `b`, which must hold that and nothing more (`what` names it in the error). */
export function wholeBytes<T>(read: (r: ByteReader) => T, b: Uint8Array, what: string): T {
  const r = new ByteReader(b);
  const out = read(r);
  if (r.at !== b.length) throw new RangeError(`${what} bytes: ${b.length - r.at} bytes after the ${what}`);
  return out;
}

export function writeSketch(w: ByteWriter, s: Sketch): void {
  const regs = s.registers();
  if (!regs) {
    // The constructor takes each hash modulo 2^32 (as `>>> 0`), without Uint32Array.from's call per element.
    const hs = new Uint32Array(s.hashes()).sort();
    w.byte(0);
    w.varint(hs.length);
    let prev = 0;
    for (const h of hs) {
      w.varint(h - prev);
      prev = h;
    }
    return;
  }
  let set = 0;
  for (let i = 0; i < regs.length; i++) if (regs[i] !== 0) set++;
  // A set register costs its rank byte and an index gap of one or two bytes.
  if (set * 3 < regs.length) {
    w.byte(1);
    w.byte(s.precision);
    w.varint(set);
    let prev = 0;
    for (let i = 0; i < regs.length; i++) {
      if (regs[i] === 0) continue;
      w.varint(i - prev);
      w.byte(regs[i]!);
      prev = i;
    }
    return;
  }
  w.byte(2);
  w.byte(s.precision);
  w.raw(regs);
}

/**
 * The users of the sketch whose bytes `r` is at, added to `into` (a union, as `into.merge(readSketch(r))`
 * but without building the sketch read: the live store merges thousands of stored sketches into a view's
 * when a window leaves it).
 */
export function mergeSketchBytes(into: Sketch, r: ByteReader): Sketch {
  if (r.peek() !== 0) return into.merge(readSketch(r)); // registers: merged as registers
  r.byte();
  const n = r.varint();
  if (n > EXACT_LIMIT) throw new RangeError(`sketch bytes: ${n} exact hashes, at most ${EXACT_LIMIT}`);
  let h = 0;
  for (let i = 0; i < n; i++) {
    h += r.varint();
    into.add(h);
  }
  return into;
}

export function readSketch(r: ByteReader): Sketch {
  if (r.peek() === 0) return mergeSketchBytes(new Sketch(), r); // exact hashes
  const kind = r.byte();
  if (kind !== 1 && kind !== 2) throw new RangeError(`sketch bytes: unknown kind ${kind}`);
  const p = r.byte();
  if (p < 4 || p > 18) throw new RangeError(`sketch bytes: precision ${p} out of 4-18`);
  const m = 1 << p;
  const q1 = 32 - p + 1;
  let regs: Uint8Array;
  if (kind === 2) regs = r.raw(m).slice();
  else {
    regs = new Uint8Array(m);
    const n = r.varint();
    let i = 0;
    for (let k = 0; k < n; k++) {
      i += r.varint();
      if (i >= m) throw new RangeError(`sketch bytes: register ${i} of ${m}`);
      regs[i] = r.byte();
    }
  }
  for (let i = 0; i < m; i++) if (regs[i]! > q1) throw new RangeError(`sketch bytes: rank ${regs[i]!} above ${q1}`);
  return Sketch.ofRegisters(regs, p);
}
