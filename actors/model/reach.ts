/**
 * Reach: the unique users of a cell-window or of one of its segments, per event type, as mergeable
 * {@link Sketch}es. Unique users of any set of types is the estimate of the merge of their sketches (a
 * user with an impression and a click counts once); frequency is impressions ÷ the users of impressions.
 * Shared by the actors, the gateway and the browser: no Node imports here.
 */
import { NTYPES } from './event.js';
import { ByteReader, ByteWriter, Sketch, bytesWith, readSketch, wholeBytes, writeSketch } from './sketch.js';

/**
 * Slots of a reach: one per event type, then {@link UNTYPED}: users whose events' types are not known
 * (state restored from a checkpoint written before reach was kept per type). The untyped slot counts
 * in "all types" answers only.
 */
export const REACH_SLOTS = NTYPES + 1;
export const UNTYPED = NTYPES;
/** The mask of every slot. */
export const ALL_SLOTS = (1 << REACH_SLOTS) - 1;

/** The slot mask of a list of type indexes; every type asked for includes the untyped slot. */
export function slotMask(types: readonly number[]): number {
  let m = 0;
  for (const t of types) m |= 1 << t;
  return m === (1 << NTYPES) - 1 ? ALL_SLOTS : m;
}

export class Reach {
  /** Slot i's sketch, or undefined while it has no users. */
  private readonly slots: (Sketch | undefined)[] = [];
  /** The estimate of all slots merged, until a slot changes (−1: not known). */
  private allUsers = -1;

  add(slot: number, hash: number): void {
    let s = this.slots[slot];
    if (!s) this.slots[slot] = s = new Sketch();
    s.add(hash);
    this.allUsers = -1;
  }

  get empty(): boolean {
    for (const s of this.slots) if (s && !s.empty) return false;
    return true;
  }

  /** The slots set in `mask` merged into `into` (a new sketch by default). */
  sketch(mask = ALL_SLOTS, into = new Sketch()): Sketch {
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (s && mask & (1 << i)) into.merge(s);
    }
    return into;
  }

  /** Unique users of the slots in `mask`. */
  users(mask = ALL_SLOTS): number {
    if (mask === ALL_SLOTS && this.allUsers >= 0) return this.allUsers;
    let only: Sketch | undefined;
    let several = false;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (!s || !(mask & (1 << i))) continue;
      if (only) several = true;
      else only = s;
    }
    const n = !only ? 0 : several ? this.sketch(mask).estimate() : only.estimate();
    if (mask === ALL_SLOTS) this.allUsers = n;
    return n;
  }

  /** Slot by slot, every user of `other` (a union). */
  merge(other: Reach): this {
    other.slots.forEach((s, i) => {
      if (!s) return;
      const mine = this.slots[i];
      this.slots[i] = mine ? mine.merge(s) : s.clone();
    });
    this.allUsers = -1;
    return this;
  }

  /** Slot `slot`'s sketch itself (undefined: no users), for restoring and tests. */
  slot(slot: number): Sketch | undefined {
    return this.slots[slot];
  }

  /** Sets a slot's sketch (restoring state); the sketch is kept, not copied. */
  setSlot(slot: number, s: Sketch): void {
    this.slots[slot] = s;
    this.allUsers = -1;
  }

  toBytes(): Uint8Array {
    return bytesWith(writeReach, this);
  }

  static fromBytes(b: Uint8Array): Reach {
    return wholeBytes(readReach, b, 'reach');
  }
}

/** A reach's bytes: a mask of its slots with users, then their sketches in slot order (sketch.ts). */
export function writeReach(w: ByteWriter, r: Reach): void {
  let mask = 0;
  for (let i = 0; i < REACH_SLOTS; i++) if (r.slot(i)) mask |= 1 << i;
  w.byte(mask);
  for (let i = 0; i < REACH_SLOTS; i++) {
    const s = r.slot(i);
    if (s) writeSketch(w, s);
  }
}

export function readReach(r: ByteReader): Reach {
  const mask = r.byte();
  if (mask > ALL_SLOTS) throw new RangeError(`reach bytes: slot mask ${mask} names more than ${REACH_SLOTS} slots`);
  const out = new Reach();
  for (let i = 0; i < REACH_SLOTS; i++) if (mask & (1 << i)) out.setSlot(i, readSketch(r));
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
