/**
 * The one colour scale of the map, shared by the heatmap, the cell view and the legend: classes of
 * events per second per cell, with fixed decade breakpoints, so a colour means the same rate at every
 * zoom level and in live and time-travel views. Pure (unit tested without a browser).
 */

/** Class boundaries, events/s per cell: class i holds rates in [BREAKS[i-1], BREAKS[i]). */
export const BREAKS = [0.01, 0.1, 1, 10, 100, 1000] as const;

export type Rgb = readonly [number, number, number];

/** One colour per class (BREAKS.length + 1), dark red to pale yellow: bright = busy on a dark map. */
export const CLASS_COLORS: readonly Rgb[] = [
  [128, 0, 38],
  [189, 0, 38],
  [227, 26, 28],
  [252, 78, 42],
  [253, 141, 60],
  [254, 217, 118],
  [255, 255, 178],
];

export const CLASS_COUNT = CLASS_COLORS.length;

/** Class index 0..CLASS_COUNT-1 of a rate (events/s). */
export function classOf(rate: number): number {
  let c = 0;
  while (c < BREAKS.length && rate >= BREAKS[c]!) c++;
  return c;
}

export function colorOf(rate: number): Rgb {
  return CLASS_COLORS[classOf(rate)]!;
}

/**
 * The heatmap weight of a cell: its class plus where it sits inside the class on a log scale, in
 * [0.5, CLASS_COUNT). The heatmap maps weight / CLASS_COUNT onto the colour ramp (`colorDomain`
 * [HEAT_DOMAIN_MIN, CLASS_COUNT], MEAN aggregation), so floor(weight) is the cell's class colour.
 * Every cell with events weighs at least 0.5 so the quietest ones still show.
 */
export function heatWeight(rate: number): number {
  if (!(rate > 0)) return 0;
  const c = classOf(rate);
  const lo = c === 0 ? BREAKS[0] / 10 : BREAKS[c - 1]!;
  const frac = Math.min(Math.max(Math.log10(rate / lo), 0), 0.999);
  return Math.max(0.5, c + frac);
}

/** Weights below this fade out (alpha ramps from 0 to 1 up to it). */
export const HEAT_DOMAIN_MIN = 0.25;
export const HEAT_DOMAIN: readonly [number, number] = [HEAT_DOMAIN_MIN, CLASS_COUNT];

/** Legend label of a class: "< 0.01", "0.01–0.1", ..., "≥ 1000" (events/s). */
export function classLabel(c: number): string {
  const fmt = (n: number) => (n < 1 ? String(n) : n.toLocaleString('en-US'));
  if (c <= 0) return `< ${fmt(BREAKS[0])}`;
  if (c >= BREAKS.length) return `≥ ${fmt(BREAKS[BREAKS.length - 1]!)}`;
  return `${fmt(BREAKS[c - 1]!)}–${fmt(BREAKS[c]!)}`;
}
