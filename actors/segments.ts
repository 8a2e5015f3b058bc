/**
 * Segments (app, campaign) inside a shard (actors/model/segment.ts has the contract). Kept compact,
 * because a busy map has a few events per cell and window, so nearly every event is a new segment of its
 * cell: segments are small integers from a dictionary, and a cell's segments are two plain arrays searched
 * linearly, not a map of typed arrays per cell.
 */
import { packSegment, SEGMENT_SLOTS, unpackSegment } from './model/segment.js';
import { Reach } from './model/reach.js';

/**
 * A cell's segments: `ids[i]`'s values are `vals[i * SEGMENT_SLOTS ...]`, its unique users `reach[i]`
 * (kept unless the shard runs with `ADME_SEGMENT_REACH=off`); `stamps[i]` says when it last changed (the
 * shard's delta count then), so a delta carries only the segments changed since the cell's previous delta.
 */
export interface SegList {
  readonly ids: number[];
  readonly vals: number[];
  readonly reach: Reach[];
  readonly stamps: number[];
}

export const emptySegList = (): SegList => ({ ids: [], vals: [], reach: [], stamps: [] });

/**
 * The offset of segment `id`'s values in `l.vals`, appending zeros for a segment not yet in the list;
 * the segment is stamped as changed at `stamp`.
 */
export function segSlot(l: SegList, id: number, stamp = 0): number {
  const ids = l.ids;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === id) {
      l.stamps[i] = stamp;
      return i * SEGMENT_SLOTS;
    }
  }
  ids.push(id);
  l.stamps.push(stamp);
  l.reach.push(new Reach());
  const at = l.vals.length;
  for (let s = 0; s < SEGMENT_SLOTS; s++) l.vals.push(0);
  return at;
}

/**
 * The id segment `id` is counted under in list `l`: its own while the list holds it or holds fewer than
 * `max` segments besides `other`, else `other` (actors/model `foldSegment`: first come, first kept, the
 * same rule as the gateway's live store). The fold asks only for lists of `max` entries or more.
 */
export function admitSegment(l: SegList, id: number, max: number, other: number): number {
  const ids = l.ids;
  if (id === other) return id;
  let held = 0;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === id) return id;
    if (ids[i] !== other) held++;
  }
  return held < max ? id : other;
}

/** (app, campaign) ↔ small integer ('' = none). Ids are stable until {@link SegmentDict.compact}. */
export class SegmentDict {
  readonly apps: string[] = [];
  readonly campaigns: string[] = [];
  private readonly byApp = new Map<string, Map<string, number>>();

  get size(): number {
    return this.apps.length;
  }

  /** The id of a pair already in the dictionary, without adding it. */
  find(app: string, campaign: string): number | undefined {
    return this.byApp.get(app)?.get(campaign);
  }

  /**
   * Keeps only the pairs `used` marks (by id), renumbered in their order, and returns each old id's new
   * one (−1: dropped). The caller renumbers what holds ids ({@link compactSegments} in logic.ts).
   */
  compact(used: Uint8Array): Int32Array {
    const next = new Int32Array(this.apps.length).fill(-1);
    this.byApp.clear();
    let n = 0;
    for (let id = 0; id < this.apps.length; id++) {
      if (!used[id]) continue;
      const app = this.apps[id]!;
      const campaign = this.campaigns[id]!;
      next[id] = n;
      this.apps[n] = app;
      this.campaigns[n] = campaign;
      let byCampaign = this.byApp.get(app);
      if (!byCampaign) this.byApp.set(app, (byCampaign = new Map<string, number>()));
      byCampaign.set(campaign, n++);
    }
    this.apps.length = n;
    this.campaigns.length = n;
    return next;
  }

  id(app: string, campaign: string): number {
    let byCampaign = this.byApp.get(app);
    if (!byCampaign) this.byApp.set(app, (byCampaign = new Map<string, number>()));
    let id = byCampaign.get(campaign);
    if (id === undefined) {
      id = this.apps.length;
      byCampaign.set(campaign, id);
      this.apps.push(app);
      this.campaigns.push(campaign);
    }
    return id;
  }
}

/**
 * The segments a record or a part uses, renumbered into a dictionary of just those, in order of first
 * use: `apps[n]`, `campaigns[n]` name local number n.
 */
export class LocalDictionary {
  readonly apps: string[] = [];
  readonly campaigns: string[] = [];
  private readonly local: Int32Array;

  constructor(private readonly dict: SegmentDict) {
    this.local = new Int32Array(dict.size).fill(-1);
  }

  /** The local number of dictionary id `id`, given on first use. */
  readonly number = (id: number): number => {
    let n = this.local[id]!;
    if (n === -1) {
      n = this.local[id] = this.apps.length;
      this.apps.push(this.dict.apps[id]!);
      this.campaigns.push(this.dict.campaigns[id]!);
    }
    return n;
  };
}

/** A segment list as `{"app|campaign": values}` (for tests and logs). */
export function segmentTable(dict: SegmentDict, l: SegList | null): Record<string, number[]> | null {
  if (!l) return null;
  const out: Record<string, number[]> = {};
  l.ids.forEach((id, i) => {
    out[`${dict.apps[id]}|${dict.campaigns[id]}`] = l.vals.slice(i * SEGMENT_SLOTS, (i + 1) * SEGMENT_SLOTS);
  });
  return out;
}

/** A segment list in the packed form of checkpoints ({@link packSegment}), numbered by `renumber`. */
export function packSegList(l: SegList, renumber: (id: number) => number, out: number[] = []): number[] {
  for (let i = 0; i < l.ids.length; i++) packSegment(out, renumber(l.ids[i]!), l.vals, i * SEGMENT_SLOTS);
  return out;
}

/**
 * The inverse of {@link packSegList}: `renumber` maps the packed numbers back to dictionary ids;
 * `reachOf(k)` gives the k-th segment's reach (default: none known).
 */
export function unpackSegList(packed: ArrayLike<number>, renumber: ArrayLike<number>, reachOf: (k: number) => Reach = () => new Reach()): SegList {
  const l = emptySegList();
  for (let at = 0; at < packed.length;) {
    const r = unpackSegment(packed, at, l.vals, l.vals.length);
    l.reach.push(reachOf(l.ids.length));
    l.ids.push(renumber[r.id]!);
    l.stamps.push(0);
    at = r.next;
  }
  return l;
}
