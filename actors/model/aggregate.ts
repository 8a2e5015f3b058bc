/**
 * Shapes of the aggregation that leave the actors: delta records on `adme.deltas.v1` and rollup
 * documents in MongoDB. Both carry absolute values (never increments), so re-applying is harmless.
 */
import { EVENT_TYPES, type EventType } from './event.js';

/** Base geohash precision of the aggregation (≈1.2 km × 0.6 km cells); coarser ones are prefixes. */
export const BASE_PRECISION = 6;

/**
 * One delta: the cells whose values changed since the previous delta of the same partition owner.
 * Columnar typed arrays, row i = (windows[i], cells[i]); counts has EVENT_TYPES.length columns.
 * `seq` counts up by one per (partition, epoch): a reader that sees a gap, or a new epoch, resyncs.
 */
export interface DeltaRecord {
  readonly v: 1;
  readonly partition: number;
  readonly epoch: number;
  readonly seq: number;
  /** Emit time, epoch ms. */
  readonly at: number;
  /** Earliest gateway receive time among the events folded in since the previous delta (latency). */
  readonly oldestAt: number;
  readonly precision: number;
  readonly windowMs: number;
  readonly windows: Float64Array;
  readonly cells: readonly string[];
  /** rows × EVENT_TYPES.length, row-major. */
  readonly counts: Uint32Array;
  readonly values: Float64Array;
  readonly users: Uint32Array;
}

export type TypeCounts = Record<EventType, number>;

/** A rollup document: one per (window size, window start, cell, partition). */
export interface RollupDoc extends TypeCounts {
  readonly _id: string;
  readonly cell: string;
  readonly window: number;
  readonly windowMs: number;
  readonly partition: number;
  readonly total: number;
  readonly value: number;
  /** Unique users (HyperLogLog estimate; exact up to 256 users). */
  readonly users: number;
  /** `<epoch>:<next offset>` zero-padded: writes apply only when not older than the stored one. */
  readonly version: string;
  /** Whether the window was closed (final) when written. */
  readonly final: boolean;
}

export const ROLLUPS_COLLECTION = 'rollups';
export const LATE_EVENTS_COLLECTION = 'late_events';

export function rollupId(windowMs: number, window: number, cell: string, partition: number): string {
  return `${windowMs}:${window}:${cell}:${partition}`;
}

/** Orders (epoch, offset) as a string so a store can compare versions with `$lte`. */
export function versionOf(epoch: number, nextOffset: number): string {
  return `${String(epoch).padStart(12, '0')}:${String(nextOffset).padStart(16, '0')}`;
}

export function typeCounts(counts: ArrayLike<number>): TypeCounts {
  const out = {} as Record<EventType, number>;
  EVENT_TYPES.forEach((t, i) => {
    out[t] = counts[i] ?? 0;
  });
  return out;
}
