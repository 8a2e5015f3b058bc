/**
 * Time travel over stored rollups: a `/v1/rollups` answer (rows per bucket × cell) turned into one
 * cell list per bucket, and the scrubber's arithmetic. The scrubber reads one bucket at a time (long
 * ranges read one stored block per 10 s window, docs/api.md) and draws its histogram from the
 * summary's 10 s series. Pure: unit tested in Node.
 */
import { EVENT_TYPES } from '../../actors/model/event.js';
import type { RollupsAnswer } from '../../actors/model/query.js';
import { knownUsers } from './reach.js';
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
      // The bucket's reach in this cell; unknown (not 0) from a server without reach.
      users: knownUsers(r.users),
      // Rollup rows carry users of the asked types only: who saw an impression is not known here.
      impressionUsers: undefined,
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

/** Events per bucket from a 10 s series ([window start, events], as /v1/summary answers): the histogram. */
export function bucketTotals(series: readonly (readonly [number, number])[], buckets: readonly number[], stepMs: number): number[] {
  const out = new Array<number>(buckets.length).fill(0);
  if (buckets.length === 0) return out;
  const first = buckets[0]!;
  for (const [t, n] of series) {
    const i = Math.floor((t - first) / stepMs);
    if (i >= 0 && i < out.length) out[i]! += n;
  }
  return out;
}
