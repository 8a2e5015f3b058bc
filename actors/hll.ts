/**
 * HyperLogLog for unique users per cell-window. Small sets are exact (the 32-bit user hashes, up to
 * SPARSE_LIMIT); above that it switches to 2^12 dense registers: standard error
 * 1.04/√4096 ≈ 1.6 %. Most cell-windows hold few users, so most stay exact and small.
 */

export const HLL_P = 12;
const M = 1 << HLL_P;
export const SPARSE_LIMIT = 256;
/** Exact hashes kept in a plain array before the table. */
const SMALL_MAX = 8;
const ALPHA = 0.7213 / (1 + 1.079 / M);
/** 2^-rank for every value a register byte can hold (ranks stop at 33; a snapshot byte is not checked). */
const INV_POW2 = Float64Array.from({ length: 256 }, (_, r) => 2 ** -r);

export class Hll {
  /**
   * Exact distinct hashes (`h | 0`) while very few: a plain array searched linearly. Most cell-windows
   * hold one or two users, and a `Set` or a typed array per cell-window cost more to make and to collect
   * than the rest of its fold.
   */
  private small: number[] | null = [];
  /**
   * Then, up to SPARSE_LIMIT: an open-addressing table of int32 (0 marks an empty slot, the hash 0
   * itself is `hasZero`).
   */
  private sparse: Int32Array | null = null;
  private count = 0;
  private hasZero = false;
  private dense: Uint8Array | null = null;
  /**
   * The dense estimate, kept until a register changes (−1: not known). Once dense, a cell-window's
   * registers rarely change while every rollup block and delta asks for its estimate, and a walk of the
   * 4096 registers cost more than the rest of writing the cell.
   */
  private denseEstimate = -1;

  add(hash: number): void {
    const small = this.small;
    if (small) {
      const h = hash | 0;
      for (let i = 0; i < small.length; i++) if (small[i] === h) return;
      small.push(h);
      if (small.length > SMALL_MAX) this.toTable();
      return;
    }
    if (this.sparse) {
      this.addSparse(hash | 0);
      return;
    }
    this.addDense(hash);
  }

  private toTable(): void {
    const values = this.small!;
    this.small = null;
    this.sparse = new Int32Array(32);
    for (const v of values) this.addSparse(v);
  }

  private addSparse(h: number): void {
    if (h === 0) {
      if (!this.hasZero) {
        this.hasZero = true;
        if (this.count + 1 > SPARSE_LIMIT) this.toDense();
      }
      return;
    }
    let t = this.sparse!;
    const mask = t.length - 1;
    let i = h & mask;
    for (; t[i] !== 0; i = (i + 1) & mask) if (t[i] === h) return;
    t[i] = h;
    this.count++;
    if (this.count + (this.hasZero ? 1 : 0) > SPARSE_LIMIT) {
      this.toDense();
      return;
    }
    // At most half full: probes stay short.
    if (this.count * 2 > t.length) {
      const old = t;
      t = this.sparse = new Int32Array(old.length * 2);
      const m = t.length - 1;
      for (const v of old) {
        if (v === 0) continue;
        let j = v & m;
        while (t[j] !== 0) j = (j + 1) & m;
        t[j] = v;
      }
    }
  }

  /** The exact hashes while exact (small or sparse). */
  private sparseValues(): number[] {
    if (this.small) return this.small.slice();
    const out: number[] = this.hasZero ? [0] : [];
    for (const v of this.sparse!) if (v !== 0) out.push(v);
    return out;
  }

  private addDense(hash: number): void {
    const h = hash >>> 0;
    const idx = h >>> (32 - HLL_P);
    const rest = (h << HLL_P) >>> 0;
    // rank = leading zeros of the remaining (32-p) bits + 1, capped when they are all zero.
    const rank = rest === 0 ? 32 - HLL_P + 1 : Math.clz32(rest) + 1;
    const regs = this.dense!;
    if (rank > regs[idx]!) {
      regs[idx] = rank;
      this.denseEstimate = -1;
    }
  }

  private toDense(): void {
    const values = this.sparseValues();
    this.small = null;
    this.sparse = null;
    this.dense = new Uint8Array(M);
    for (const h of values) this.addDense(h);
  }

  merge(other: Hll): void {
    if (!other.dense) {
      for (const h of other.sparseValues()) this.add(h);
      return;
    }
    if (!this.dense) this.toDense();
    const a = this.dense!;
    const b = other.dense;
    for (let i = 0; i < M; i++) if (b[i]! > a[i]!) a[i] = b[i]!;
    this.denseEstimate = -1;
  }

  estimate(): number {
    if (this.small) return this.small.length;
    if (this.sparse) return this.count + (this.hasZero ? 1 : 0);
    if (this.denseEstimate < 0) this.denseEstimate = denseEstimate(this.dense!);
    return this.denseEstimate;
  }

  /**
   * Compact form for checkpoints, the smallest that holds the sketch exactly: the hashes while exact
   * (Uint32Array); the set registers as (index, rank) pairs (Uint16Array, 4 bytes each) while fewer than
   * a quarter of them are set — just past the switch to registers ~260 of 4096 are, so ~1 KiB instead
   * of 4 KiB; or every register (Uint8Array). Typed arrays encode as raw bytes in msgpack: a copy, not a
   * number-by-number walk.
   */
  toSnapshot(): Uint32Array | Uint16Array | Uint8Array {
    if (!this.dense) return Uint32Array.from(this.sparseValues());
    const regs = this.dense;
    let set = 0;
    for (let i = 0; i < M; i++) if (regs[i] !== 0) set++;
    if (set * 4 >= M) return regs.slice();
    const pairs = new Uint16Array(set * 2);
    for (let i = 0, j = 0; i < M; i++) {
      if (regs[i] === 0) continue;
      pairs[j++] = i;
      pairs[j++] = regs[i]!;
    }
    return pairs;
  }

  static fromSnapshot(s: Uint32Array | Uint16Array | Uint8Array | readonly number[]): Hll {
    const h = new Hll();
    if (s instanceof Uint8Array) {
      if (s.length !== M) throw new RangeError(`HLL snapshot has ${s.length} registers, expected ${M}`);
      h.small = null;
      h.dense = s.slice();
    } else if (s instanceof Uint16Array) {
      if (s.length % 2 !== 0) throw new RangeError(`HLL snapshot has ${s.length} halves of (register, rank) pairs`);
      h.small = null;
      h.dense = new Uint8Array(M);
      for (let j = 0; j < s.length; j += 2) {
        if (s[j]! >= M) throw new RangeError(`HLL snapshot names register ${s[j]!}, expected < ${M}`);
        h.dense[s[j]!] = s[j + 1]!;
      }
    } else {
      for (const v of s) h.add(v);
    }
    return h;
  }
}

function denseEstimate(regs: Uint8Array): number {
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < M; i++) {
    const r = regs[i]!;
    sum += INV_POW2[r]!;
    if (r === 0) zeros++;
  }
  const raw = (ALPHA * M * M) / sum;
  // Linear counting for small cardinalities, as in the original paper.
  if (raw <= 2.5 * M && zeros > 0) return Math.round(M * Math.log(M / zeros));
  return Math.round(raw);
}
