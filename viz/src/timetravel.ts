/**
 * Time travel over stored rollups: a `/v1/rollups` answer (rows per bucket × cell) turned into one
 * cell list per bucket, and the scrubber's arithmetic. Pure: unit tested in Node.
 */
import { EVENT_TYPES } from '../../actors/model/event.js';
import type { RollupsAnswer } from '../../actors/model/query.js';
import type { Cell } from './state.js';

/** Cells of each bucket start (epoch ms), in the answer's order. */
export type Replay = ReadonlyMap<number, readonly Cell[]>;

export function replayOf(answer: RollupsAnswer): Replay {
  const stepS = answer.stepMs / 1000;
  const out = new Map<number, Cell[]>();
  for (const r of answer.rows) {
    let list = out.get(r.window);
    if (!list) {
      list = [];
      out.set(r.window, list);
    }
    list.push({
      cell: r.cell, lat: r.lat, lon: r.lon, total: r.total, value: r.value, rate: r.total / stepS,
      counts: Uint32Array.from(EVENT_TYPES, (t) => r.counts[t] ?? 0),
    });
  }
  return out;
}

/** Bucket starts covering [from, to): from floored to the step, then every step. */
export function bucketsOf(from: number, to: number, stepMs: number): number[] {
  const out: number[] = [];
  for (let t = Math.floor(from / stepMs) * stepMs; t < to; t += stepMs) out.push(t);
  return out;
}

/** Events per bucket (for the scrubber's histogram). */
export function totalsOf(replay: Replay, buckets: readonly number[]): number[] {
  return buckets.map((b) => (replay.get(b) ?? []).reduce((n, c) => n + c.total, 0));
}
