/**
 * Seeded accuracy trials of reach (actors/model/sketch.ts), shared by the unit tests and `adme bench reach`:
 * `users` distinct users, each active in 1–4 random (window, cell) pairs of a `windows` × `cells` grid,
 * one sketch per pair; the answer is the estimate of all the grid's sketches merged, as `/v1/summary`
 * merges an area's cells and windows.
 */
import { Sketch } from '../actors/model/sketch.js';
import { mulberry32 } from './gateway-traffic.js';

export { mulberry32 };


export interface Trial {
  readonly users: number;
  readonly estimate: number;
  /** (estimate − users) / users. */
  readonly error: number;
}

/**
 * One trial. User hashes are uniform 32-bit integers from the seed (what hash32 of distinct ids gives; the
 * hashes' own spread is tested apart), so a million-user trial costs milliseconds, not seconds.
 */
export function accuracyTrial(seed: number, users: number, windows = 60, cells = 50): Trial {
  const next = mulberry32(seed);
  const grid = Array.from({ length: windows * cells }, () => new Sketch());
  for (let u = 0; u < users; u++) {
    const h = next();
    const k = 1 + (next() % 4);
    for (let j = 0; j < k; j++) grid[next() % grid.length]!.add(h);
  }
  const merged = new Sketch();
  for (const s of grid) merged.merge(s);
  const estimate = merged.estimate();
  return { users, estimate, error: (estimate - users) / users };
}

/** The q-quantile (0–1) of |error| over trials (nearest rank). */
export function errorQuantile(trials: readonly Trial[], q: number): number {
  const e = trials.map((t) => Math.abs(t.error)).sort((a, b) => a - b);
  return e[Math.min(e.length - 1, Math.ceil(q * e.length) - 1)]!;
}
