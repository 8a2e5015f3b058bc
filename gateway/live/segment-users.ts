/**
 * The users of an open (window, cell)'s segments, per segment number: the union of the sketches its deltas
 * brought. Nearly every segment of a cell-window has a handful of users (a tiny reach: at most TINY_MAX
 * (slot, user) pairs), and an open cell has a dozen segments or more, so a Map of one Reach object per
 * segment cost ~7 KiB per cell, most of the gateway's memory for the open windows (docs/gateway.md,
 * "Memory of the live store"). Here the tiny ones share one flat array of doubles, `[id, n, pair × n]` per
 * segment; a segment that outgrows TINY_MAX pairs moves to a Reach of its own.
 */
import { Reach, TINY_MAX } from '../../actors/model/index.js';

export class SegmentUsers {
  /** Per tiny segment: its number, its pair count n, then its n pairs (as Reach.pairs gives them). */
  private flat: number[] = [];
  /** Segments past TINY_MAX pairs. */
  private big: Map<number, Reach> | null = null;

  /** Adds `r`'s users to segment `id`'s (a union; `r` is not kept). */
  add(id: number, r: Reach): void {
    const mine = this.big?.get(id);
    if (mine) {
      mine.merge(r);
      return;
    }
    const at = this.find(id);
    const pairs = r.pairs();
    if (pairs) {
      if (at < 0) {
        const flat = this.flat;
        flat.push(id, pairs.length);
        for (let i = 0; i < pairs.length; i++) flat.push(pairs[i]!);
        return;
      }
      const n = this.flat[at + 1]!;
      const added: number[] = [];
      for (const key of pairs) {
        let seen = false;
        for (let i = at + 2; i < at + 2 + n && !seen; i++) seen = this.flat[i] === key;
        if (!seen) added.push(key);
      }
      if (added.length === 0) return;
      if (n + added.length <= TINY_MAX) {
        this.flat.splice(at + 2 + n, 0, ...added);
        this.flat[at + 1] = n + added.length;
        return;
      }
    }
    // Past tiny: the segment's pairs (if any) and r into a Reach of its own.
    const own = at < 0 ? new Reach() : this.take(at);
    (this.big ??= new Map()).set(id, own.merge(r));
  }

  /**
   * Each segment and its users: the tiny ones as new Reach objects, the others as held, so a caller merges
   * them into a reach of its own, never the other way round.
   */
  *entries(): Generator<[number, Reach]> {
    const flat = this.flat;
    for (let at = 0; at < flat.length; at += 2 + flat[at + 1]!) yield [flat[at]!, Reach.ofPairs(flat.slice(at + 2, at + 2 + flat[at + 1]!))];
    if (this.big) yield* this.big;
  }

  /** Each segment number held. */
  *ids(): Generator<number> {
    const flat = this.flat;
    for (let at = 0; at < flat.length; at += 2 + flat[at + 1]!) yield flat[at]!;
    if (this.big) yield* this.big.keys();
  }

  /** Renumbers the segments (`to` maps every number held to a distinct new one). */
  renumber(to: (id: number) => number): void {
    const flat = this.flat;
    for (let at = 0; at < flat.length; at += 2 + flat[at + 1]!) flat[at] = to(flat[at]!);
    if (this.big) this.big = new Map([...this.big].map(([id, r]) => [to(id), r]));
  }

  /** Where segment `id`'s run starts in `flat`, or −1. */
  private find(id: number): number {
    const flat = this.flat;
    for (let at = 0; at < flat.length; at += 2 + flat[at + 1]!) if (flat[at] === id) return at;
    return -1;
  }

  /** Removes the run at `at` and returns its users as a Reach. */
  private take(at: number): Reach {
    const n = this.flat[at + 1]!;
    const r = Reach.ofPairs(this.flat.slice(at + 2, at + 2 + n));
    this.flat.splice(at, 2 + n);
    return r;
  }
}
