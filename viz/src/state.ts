/**
 * The live cell map: every cell of the current subscription, keyed by geohash, updated in place by
 * snapshot and delta frames (actors/model/stream.ts). Pure: no DOM, unit tested in Node.
 */
import type { CellsFrame } from '../../actors/model/stream.js';
import { NTYPES } from '../../actors/model/event.js';
import { NO_PRIVACY, privacyAfter, type ViewPrivacy } from './reach.js';
import { heatWeight } from './scale.js';

const TYPES = NTYPES;

/** One cell as the map and its tooltip show it. */
export interface Cell {
  readonly cell: string;
  lat: number;
  lon: number;
  /** Events of the subscribed types in the window. */
  total: number;
  /** Per type, EVENT_TYPES order, all types. */
  readonly counts: Uint32Array;
  value: number;
  /** total / window length: events per second. */
  rate: number;
  /**
   * Unique users with an event of the subscribed types (reach), as the row that last set this cell said;
   * undefined when that row came without users (a gateway older than reach): unknown, not zero.
   */
  users: number | undefined;
  /** Unique users who saw an impression (the denominator of frequency), unknown likewise. */
  impressionUsers: number | undefined;
}

/** What the layers draw, rebuilt once per applied frame. */
export interface CellColumns {
  readonly length: number;
  /** lon, lat interleaved. */
  readonly positions: Float32Array;
  /** {@link heatWeight} of each cell's rate. */
  readonly weights: Float32Array;
  readonly cells: readonly Cell[];
}

export class CellMap {
  private readonly byCell = new Map<string, Cell>();
  private windowS = 60;
  private viewPrivacy: ViewPrivacy = NO_PRIVACY;

  get size(): number {
    return this.byCell.size;
  }

  get(cell: string): Cell | undefined {
    return this.byCell.get(cell);
  }

  /** The privacy floor and reach of the whole view, as the frames so far stated them. */
  get privacy(): ViewPrivacy {
    return this.viewPrivacy;
  }

  clear(): void {
    this.byCell.clear();
    this.viewPrivacy = NO_PRIVACY;
  }

  /** A snapshot replaces everything; a delta upserts its rows and removes the ones with total 0. */
  apply(frame: CellsFrame): void {
    if (frame.type === 'snapshot') this.byCell.clear();
    this.windowS = frame.windowS > 0 ? frame.windowS : this.windowS;
    const n = frame.cells.length;
    if (frame.counts.length !== n * TYPES || frame.total.length !== n || frame.lat.length !== n || frame.lon.length !== n || frame.value.length !== n) {
      throw new Error(`malformed ${frame.type} frame seq ${frame.seq}: ${n} cells but ${frame.total.length} totals, ${frame.counts.length} counts (expected ${n * TYPES})`);
    }
    const users = frame.users;
    if (users !== undefined && users.length !== n) throw new Error(`malformed ${frame.type} frame seq ${frame.seq}: ${n} cells but ${users.length} users`);
    const impressionUsers = frame.impressionUsers;
    if (impressionUsers !== undefined && impressionUsers.length !== n) throw new Error(`malformed ${frame.type} frame seq ${frame.seq}: ${n} cells but ${impressionUsers.length} impression users`);
    this.viewPrivacy = privacyAfter(this.viewPrivacy, frame);
    for (let i = 0; i < n; i++) {
      const id = frame.cells[i]!;
      const total = frame.total[i]!;
      if (total === 0) {
        this.byCell.delete(id);
        continue;
      }
      let c = this.byCell.get(id);
      if (!c) {
        c = { cell: id, lat: 0, lon: 0, total: 0, counts: new Uint32Array(TYPES), value: 0, rate: 0, users: undefined, impressionUsers: undefined };
        this.byCell.set(id, c);
      }
      c.lat = frame.lat[i]!;
      c.lon = frame.lon[i]!;
      c.total = total;
      c.counts.set(frame.counts.subarray(i * TYPES, (i + 1) * TYPES));
      c.value = frame.value[i]!;
      c.rate = total / this.windowS;
      // Like every other value of the row: replaced, and unknown when this frame did not say.
      c.users = users?.[i];
      c.impressionUsers = impressionUsers?.[i];
    }
  }

  /** Typed columns for the layers (one pass over the map). */
  columns(): CellColumns {
    return columnsOf([...this.byCell.values()]);
  }

  /** Sum of `total` over all cells. */
  total(): number {
    let t = 0;
    for (const c of this.byCell.values()) t += c.total;
    return t;
  }
}

export function columnsOf(cells: readonly Cell[]): CellColumns {
  const positions = new Float32Array(cells.length * 2);
  const weights = new Float32Array(cells.length);
  cells.forEach((c, i) => {
    positions[2 * i] = c.lon;
    positions[2 * i + 1] = c.lat;
    weights[i] = heatWeight(c.rate);
  });
  return { length: cells.length, positions, weights, cells };
}
