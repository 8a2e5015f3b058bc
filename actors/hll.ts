/**
 * HyperLogLog for unique users per cell-window. Small sets are exact (a sorted list of 32-bit user
 * hashes, up to SPARSE_LIMIT); above that it switches to 2^12 dense registers: standard error
 * 1.04/√4096 ≈ 1.6 %. Most cell-windows hold few users, so most stay exact and small.
 */

export const HLL_P = 12;
const M = 1 << HLL_P;
export const SPARSE_LIMIT = 256;
const ALPHA = 0.7213 / (1 + 1.079 / M);

export class Hll {
  /**
   * Exact distinct hashes while small, stored as int32 (`h | 0`): small integers live inside the Set,
   * where unsigned 32-bit values above 2^31 would each be a heap object for the GC to trace.
   */
  private sparse: Set<number> | null = new Set();
  private dense: Uint8Array | null = null;

  add(hash: number): void {
    if (this.sparse) {
      this.sparse.add(hash | 0);
      if (this.sparse.size > SPARSE_LIMIT) this.toDense();
      return;
    }
    this.addDense(hash);
  }

  private addDense(hash: number): void {
    const h = hash >>> 0;
    const idx = h >>> (32 - HLL_P);
    const rest = (h << HLL_P) >>> 0;
    // rank = leading zeros of the remaining (32-p) bits + 1, capped when they are all zero.
    const rank = rest === 0 ? 32 - HLL_P + 1 : Math.clz32(rest) + 1;
    const regs = this.dense!;
    if (rank > regs[idx]!) regs[idx] = rank;
  }

  private toDense(): void {
    const values = this.sparse!;
    this.sparse = null;
    this.dense = new Uint8Array(M);
    for (const h of values) this.addDense(h);
  }

  merge(other: Hll): void {
    if (other.sparse) {
      for (const h of other.sparse) this.add(h);
      return;
    }
    if (this.sparse) this.toDense();
    const a = this.dense!;
    const b = other.dense!;
    for (let i = 0; i < M; i++) if (b[i]! > a[i]!) a[i] = b[i]!;
  }

  estimate(): number {
    if (this.sparse) return this.sparse.size;
    const regs = this.dense!;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < M; i++) {
      sum += 2 ** -regs[i]!;
      if (regs[i] === 0) zeros++;
    }
    const raw = (ALPHA * M * M) / sum;
    // Linear counting for small cardinalities, as in the original paper.
    if (raw <= 2.5 * M && zeros > 0) return Math.round(M * Math.log(M / zeros));
    return Math.round(raw);
  }

  /**
   * Compact form for checkpoints, the smallest that holds the sketch exactly: the hashes while exact
   * (Uint32Array); the set registers as (index, rank) pairs (Uint16Array, 4 bytes each) while fewer than
   * a quarter of them are set — just past the switch to registers ~260 of 4096 are, so ~1 KiB instead
   * of 4 KiB; or every register (Uint8Array). Typed arrays encode as raw bytes in msgpack: a copy, not a
   * number-by-number walk.
   */
  toSnapshot(): Uint32Array | Uint16Array | Uint8Array {
    if (this.sparse) return Uint32Array.from(this.sparse);
    const regs = this.dense!;
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
      h.sparse = null;
      h.dense = s.slice();
    } else if (s instanceof Uint16Array) {
      if (s.length % 2 !== 0) throw new RangeError(`HLL snapshot has ${s.length} halves of (register, rank) pairs`);
      h.sparse = null;
      h.dense = new Uint8Array(M);
      for (let j = 0; j < s.length; j += 2) {
        if (s[j]! >= M) throw new RangeError(`HLL snapshot names register ${s[j]!}, expected < ${M}`);
        h.dense[s[j]!] = s[j + 1]!;
      }
    } else {
      for (const v of s) h.sparse!.add(v | 0);
      if (h.sparse!.size > SPARSE_LIMIT) h.toDense();
    }
    return h;
  }
}
