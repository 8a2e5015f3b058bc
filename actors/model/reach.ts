/**
 * Reach: the unique users of a cell-window or of one of its segments, per event type, as mergeable
 * {@link Sketch}es. Unique users of any set of types is the estimate of the merge of their sketches (a
 * user with an impression and a click counts once); frequency is impressions ÷ the users of impressions.
 * Shared by the actors, the gateway and the browser: no Node imports here.
 */
import { NTYPES } from './event.js';
import { ByteReader, ByteWriter, Sketch, bytesWith, mergeSketchBytes, readSketch, wholeBytes, writeSketch } from './sketch.js';

/**
 * Slots of a reach: one per event type, then {@link UNTYPED}: users whose events' types are not known
 * (state restored from a checkpoint written before reach was kept per type). The untyped slot counts
 * in "all types" answers only.
 */
export const REACH_SLOTS = NTYPES + 1;
export const UNTYPED = NTYPES;
/** The mask of every slot. */
export const ALL_SLOTS = (1 << REACH_SLOTS) - 1;
// The bytes' first byte is a slot mask below 0x80, or 0x80 | pairs of a tiny reach (writeReach).
if (REACH_SLOTS > 7) throw new Error(`reach bytes hold at most 7 slots, not ${REACH_SLOTS}: widen the mask byte`);

/** The slot mask of a list of type indexes; every type asked for includes the untyped slot. */
export function slotMask(types: readonly number[]): number {
  let m = 0;
  for (const t of types) m |= 1 << t;
  return m === (1 << NTYPES) - 1 ? ALL_SLOTS : m;
}

/** (slot, user) pairs a reach keeps in one array before it keeps a sketch per slot. */
export const TINY_MAX = 8;
const SLOT_UNIT = 2 ** 32;
/** A tiny pair's slot and hash (`>>> 0` takes a double modulo 2^32 without a floating-point modulo). */
const slotOf = (key: number): number => (key / SLOT_UNIT) | 0;
const hashOf = (key: number): number => key >>> 0;

export class Reach {
  /**
   * While the reach holds at most {@link TINY_MAX} (slot, user) pairs (nearly every cell-window and
   * segment): them, as `slot × 2^32 + hash` (unsigned), in one array of doubles; then null, and `slots`.
   */
  private tiny: number[] | null = [];
  /** Once not tiny: slot i's sketch, or undefined while it has no users. */
  private slots: (Sketch | undefined)[] | null = null;
  /** The estimate of all slots merged, until a slot changes (−1: not known). */
  private allUsers = -1;
  /** The estimate of one other mask (the last asked), until a slot changes (mask −1: none). */
  private lastMask = -1;
  private lastUsers = 0;

  private forget(): void {
    this.allUsers = -1;
    this.lastMask = -1;
  }

  /** Adds a user of slot `slot`; whether the reach changed ({@link Sketch.add}). */
  add(slot: number, hash: number): boolean {
    const tiny = this.tiny;
    if (tiny) {
      const key = slot * SLOT_UNIT + (hash >>> 0);
      const n = tiny.length;
      for (let i = 0; i < n; i++) if (tiny[i] === key) return false;
      this.forget();
      if (n === TINY_MAX) {
        this.spill();
        return this.add(slot, hash);
      }
      // A new array of exactly n + 1: push would grow the backing store to 17 doubles.
      const next = new Array<number>(n + 1);
      for (let i = 0; i < n; i++) next[i] = tiny[i]!;
      next[n] = key;
      this.tiny = next;
      return true;
    }
    const slots = (this.slots ??= []);
    let s = slots[slot];
    if (!s) slots[slot] = s = new Sketch();
    if (!s.add(hash)) return false;
    this.forget();
    return true;
  }

  /** From the tiny array to a sketch per slot. */
  private spill(): void {
    const tiny = this.tiny!;
    this.tiny = null;
    this.slots = [];
    for (const key of tiny) this.add(slotOf(key), hashOf(key));
  }

  get empty(): boolean {
    if (this.tiny) return this.tiny.length === 0;
    for (const s of this.slots!) if (s && !s.empty) return false;
    return true;
  }

  /**
   * A tiny reach of distinct (slot, hash) pairs as {@link pairs} gives them (at most {@link TINY_MAX}):
   * for holders that keep many small reaches as pairs in one array rather than an object each.
   */
  static ofPairs(keys: readonly number[]): Reach {
    if (keys.length > TINY_MAX) throw new RangeError(`reach: ${keys.length} pairs, a tiny reach holds at most ${TINY_MAX}`);
    const r = new Reach();
    r.tiny = keys.slice();
    return r;
  }

  /** While tiny: its (slot, hash) pairs; else null. For writing and merging without a sketch. */
  pairs(): readonly number[] | null {
    return this.tiny;
  }

  /** The slots set in `mask` merged into `into` (a new sketch by default). */
  sketch(mask = ALL_SLOTS, into = new Sketch()): Sketch {
    if (this.tiny) {
      for (const key of this.tiny) if (mask & (1 << slotOf(key))) into.add(hashOf(key));
      return into;
    }
    const slots = this.slots!;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i];
      if (s && mask & (1 << i)) into.merge(s);
    }
    return into;
  }

  /** Unique users of the slots in `mask`. */
  users(mask = ALL_SLOTS): number {
    if (mask === ALL_SLOTS && this.allUsers >= 0) return this.allUsers;
    if (mask === this.lastMask) return this.lastUsers;
    let n: number;
    if (this.tiny) n = tinyUsers(this.tiny, mask);
    else {
      let only: Sketch | undefined;
      let several = false;
      const slots = this.slots!;
      for (let i = 0; i < slots.length; i++) {
        const s = slots[i];
        if (!s || !(mask & (1 << i))) continue;
        if (only) several = true;
        else only = s;
      }
      n = !only ? 0 : several ? this.sketch(mask).estimate() : only.estimate();
    }
    if (mask === ALL_SLOTS) this.allUsers = n;
    else {
      this.lastMask = mask;
      this.lastUsers = n;
    }
    return n;
  }

  /** Slot by slot, every user of `other` (a union). */
  merge(other: Reach): this {
    if (other.tiny) {
      const mine = this.tiny;
      if (mine) {
        // Tiny into tiny (the live store's common case): the new pairs, then one array for all.
        let added: number[] | null = null;
        for (const key of other.tiny) if (!mine.includes(key) && !added?.includes(key)) (added ??= []).push(key);
        if (!added) return this;
        if (mine.length + added.length <= TINY_MAX) {
          this.tiny = mine.concat(added);
          this.forget();
          return this;
        }
      }
      for (const key of other.tiny) this.add(slotOf(key), hashOf(key));
      return this;
    }
    if (this.tiny) this.spill();
    const slots = this.slots!;
    other.slots!.forEach((s, i) => {
      if (!s) return;
      const mine = slots[i];
      slots[i] = mine ? mine.merge(s) : s.clone();
    });
    this.forget();
    return this;
  }

  /** Slot `slot`'s users as a sketch (undefined: none), for tests; a copy while the reach is tiny. */
  slot(slot: number): Sketch | undefined {
    if (!this.tiny) return this.slots![slot];
    const s = this.sketch(1 << slot);
    return s.empty ? undefined : s;
  }

  /** Sets a slot's sketch (restoring state); the sketch is kept, not copied. */
  setSlot(slot: number, s: Sketch): void {
    if (this.tiny) this.spill();
    this.slots![slot] = s;
    this.forget();
  }

  toBytes(): Uint8Array {
    return bytesWith(writeReach, this);
  }

  /** Adds the pairs of a tiny reach's bytes that follow its `head` byte in `r` (for the readers below). */
  addPairsRead(r: ByteReader, head: number): this {
    const n = head & 0x7f;
    if (n > TINY_MAX) throw new RangeError(`reach bytes: ${n} pairs in a tiny reach, at most ${TINY_MAX}`);
    for (let i = 0; i < n; i++) {
      const slot = r.byte();
      if (slot >= REACH_SLOTS) throw new RangeError(`reach bytes: slot ${slot} of ${REACH_SLOTS}`);
      this.add(slot, (r.byte() | (r.byte() << 8) | (r.byte() << 16) | (r.byte() << 24)) >>> 0);
    }
    return this;
  }

  /**
   * Adds the users of the reach whose bytes are `b` ({@link writeReach}): `this.merge(Reach.fromBytes(b))`
   * without building the reach read, nor its sketches while they are exact.
   */
  mergeBytes(b: Uint8Array): this {
    const r = new ByteReader(b, 0);
    const head = r.byte();
    if (head & 0x80) this.addPairsRead(r, head);
    else {
      if (this.tiny) this.spill();
      const slots = this.slots!;
      for (let i = 0; i < REACH_SLOTS; i++) if (head & (1 << i)) slots[i] = mergeSketchBytes(slots[i] ?? new Sketch(), r);
      this.forget();
    }
    if (r.at !== b.length) throw new RangeError(`reach bytes: ${b.length - r.at} bytes after the reach`);
    return this;
  }

  static fromBytes(b: Uint8Array): Reach {
    return wholeBytes(readReach, b, 'reach');
  }
}

/** Distinct hashes among the tiny pairs whose slot is in `mask` (at most TINY_MAX pairs: quadratic is cheapest). */
function tinyUsers(tiny: readonly number[], mask: number): number {
  let n = 0;
  for (let i = 0; i < tiny.length; i++) {
    const a = tiny[i]!;
    if (!(mask & (1 << slotOf(a)))) continue;
    const h = hashOf(a);
    let seen = false;
    for (let j = 0; j < i && !seen; j++) {
      const b = tiny[j]!;
      seen = hashOf(b) === h && (mask & (1 << slotOf(b))) !== 0;
    }
    if (!seen) n++;
  }
  return n;
}

/**
 * A reach's bytes, one of:
 *   a tiny reach: `0x80 | n`, then its n pairs, each a slot byte and the hash as uint32 little-endian;
 *   otherwise: a mask of its slots with users (< 0x80), then their sketches in slot order (sketch.ts).
 */
export function writeReach(w: ByteWriter, r: Reach): void {
  const pairs = r.pairs();
  if (pairs) {
    w.byte(0x80 | pairs.length);
    for (let i = 0; i < pairs.length; i++) w.byteAndU32(slotOf(pairs[i]!), hashOf(pairs[i]!));
    return;
  }
  let mask = 0;
  for (let i = 0; i < REACH_SLOTS; i++) if (r.slot(i)) mask |= 1 << i;
  w.byte(mask);
  for (let i = 0; i < REACH_SLOTS; i++) {
    const s = r.slot(i);
    if (s) writeSketch(w, s);
  }
}

export function readReach(r: ByteReader): Reach {
  const head = r.byte();
  const out = new Reach();
  if (head & 0x80) return out.addPairsRead(r, head);
  for (let i = 0; i < REACH_SLOTS; i++) if (head & (1 << i)) out.setSlot(i, readSketch(r));
  return out;
}

/**
 * Many reaches as one column: their bytes one after the other and, per entry, where its bytes end
 * (entry i is `bytes[ends[i − 1] .. ends[i])`). Rollup blocks, checkpoints and deltas carry reach so.
 */
export interface ReachColumn {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
}

export function reachColumn(reaches: readonly Reach[]): ReachColumn {
  const w = new ByteWriter();
  const ends = new Uint32Array(reaches.length);
  reaches.forEach((r, i) => {
    writeReach(w, r);
    ends[i] = w.length;
  });
  return { bytes: w.bytes(), ends };
}

/** Entry `i` of a reach column. */
export function reachAt(c: ReachColumn, i: number): Reach {
  const start = i === 0 ? 0 : c.ends[i - 1]!;
  const end = c.ends[i]!;
  if (end < start || end > c.bytes.length) throw new RangeError(`reach column: entry ${i} ends at ${end}, outside ${start}-${c.bytes.length}`);
  const r = new ByteReader(c.bytes, start);
  const out = readReach(r);
  if (r.at !== end) throw new RangeError(`reach column: entry ${i} is ${end - start} bytes, its reach ${r.at - start}`);
  return out;
}
