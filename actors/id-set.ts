/**
 * A set of 53-bit id hashes in one Float64Array (open addressing, linear probing): no heap object per
 * id, so millions of remembered client ids cost the garbage collector nothing to trace.
 */
export class IdSet {
  /** hash + 1 per slot; 0 marks an empty slot. */
  private slots: Float64Array;
  private count = 0;

  constructor(capacity = 8) {
    let n = 8;
    while (n < capacity * 2) n *= 2;
    this.slots = new Float64Array(n);
  }

  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    const v = id + 1;
    const mask = this.slots.length - 1;
    for (let i = IdSet.slot(id, mask); ; i = (i + 1) & mask) {
      const x = this.slots[i]!;
      if (x === 0) return false;
      if (x === v) return true;
    }
  }

  /** Adds `id`; false when it was already there. */
  add(id: number): boolean {
    if ((this.count + 1) * 2 > this.slots.length) this.grow();
    const v = id + 1;
    const mask = this.slots.length - 1;
    for (let i = IdSet.slot(id, mask); ; i = (i + 1) & mask) {
      const x = this.slots[i]!;
      if (x === v) return false;
      if (x === 0) {
        this.slots[i] = v;
        this.count++;
        return true;
      }
    }
  }

  values(): Float64Array {
    const out = new Float64Array(this.count);
    let j = 0;
    for (const x of this.slots) if (x !== 0) out[j++] = x - 1;
    return out;
  }

  static from(ids: ArrayLike<number>): IdSet {
    const s = new IdSet(ids.length);
    for (let i = 0; i < ids.length; i++) s.add(ids[i]!);
    return s;
  }

  private static slot(id: number, mask: number): number {
    // The low bits of the 53-bit hash are its second 32-bit hash: already well mixed.
    return (id % 0x100000000 >>> 0) & mask;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Float64Array(old.length * 2);
    this.count = 0;
    for (const x of old) if (x !== 0) this.add(x - 1);
  }
}
