/**
 * The query API's answers computed from stored rows (pure; the rows come from MongoDB, rollups.ts).
 * Cells are summed to the requested precision by geohash prefix, windows to the requested step.
 */
import {
  NTYPES, TYPE_INDEX, geohashCenter, isFiltered, segmentMatcher, segmentOf, typeCounts, type CellRow, type EventType, type HotspotRow,
  type HotspotsAnswer, type RollupsAnswer, type SegmentCount, type SegmentFilter, type SegmentsAnswer, type SummaryAnswer, type TopAnswer,
} from '../../actors/model/index.js';
import type { StoredRow } from './rollups.js';

/**
 * The rows as a segment filter counts them: each row's sum becomes the sum of its segments that pass
 * (rows with none left out). Unfiltered, the rows are returned as they are.
 */
export function filterRows(rows: readonly StoredRow[], f: SegmentFilter | undefined): StoredRow[] {
  if (!isFiltered(f)) return rows as StoredRow[];
  const match = segmentMatcher(f);
  const out: StoredRow[] = [];
  for (const r of rows) {
    if (!r.segs) continue;
    let sum: Float64Array | undefined;
    for (const [key, v] of r.segs) {
      if (!match(key)) continue;
      sum ??= new Float64Array(NTYPES + 1);
      for (let i = 0; i <= NTYPES; i++) sum[i]! += v[i]!;
    }
    if (sum) out.push({ window: r.window, partition: r.partition, cell: r.cell, sum, segs: null });
  }
  return out;
}

/** Events per app and per campaign over the rows, busiest first (ties by id). */
export function segmentsAnswer(rows: Iterable<StoredRow>, q: { from: number; to: number; limit: number }): SegmentsAnswer {
  const apps = new Map<string, number>();
  const campaigns = new Map<string, number>();
  for (const r of rows) {
    if (!r.segs) continue;
    for (const [key, v] of r.segs) {
      let events = 0;
      for (let i = 0; i < NTYPES; i++) events += v[i]!;
      const { app, campaign } = segmentOf(key);
      if (app !== '') apps.set(app, (apps.get(app) ?? 0) + events);
      if (campaign !== '') campaigns.set(campaign, (campaigns.get(campaign) ?? 0) + events);
    }
  }
  const list = (m: Map<string, number>): SegmentCount[] =>
    [...m].map(([id, events]) => ({ id, events })).sort((a, b) => b.events - a.events || (a.id < b.id ? -1 : 1)).slice(0, q.limit);
  return { from: q.from, to: q.to, apps: list(apps), campaigns: list(campaigns) };
}

interface Acc {
  readonly cell: string;
  readonly window: number;
  readonly sum: Float64Array;
}

function accumulate(rows: Iterable<StoredRow>, precision: number, bucketOf: (window: number) => number): Map<string, Acc> {
  const out = new Map<string, Acc>();
  for (const r of rows) {
    const cell = r.cell.slice(0, precision);
    const window = bucketOf(r.window);
    const key = `${window}:${cell}`;
    let a = out.get(key);
    if (!a) out.set(key, (a = { cell, window, sum: new Float64Array(NTYPES + 1) }));
    for (let i = 0; i <= NTYPES; i++) a.sum[i]! += r.sum[i]!;
  }
  return out;
}

/** Value sums (revenue) to a millionth: sums in another order (live store vs rollups) agree exactly. */
const money = (v: number) => Math.round(v * 1e6) / 1e6;

const totalOf = (sum: Float64Array, types: readonly EventType[]) => types.reduce((t, ty) => t + sum[TYPE_INDEX[ty]]!, 0);

function cellRow(a: Acc, types: readonly EventType[]): CellRow {
  const { lat, lon } = geohashCenter(a.cell);
  return { cell: a.cell, lat, lon, total: totalOf(a.sum, types), counts: typeCounts(a.sum), value: money(a.sum[NTYPES]!) };
}

export function rollupsAnswer(rows: Iterable<StoredRow>, q: { from: number; to: number; precision: number; stepMs: number; types: readonly EventType[] }): RollupsAnswer {
  const acc = accumulate(rows, q.precision, (w) => w - (w % q.stepMs));
  const out = [...acc.values()].map((a) => ({ window: a.window, ...cellRow(a, q.types) })).filter((r) => r.total > 0);
  out.sort((a, b) => a.window - b.window || (a.cell < b.cell ? -1 : 1));
  return { from: q.from, to: q.to, precision: q.precision, stepMs: q.stepMs, types: q.types, rows: out };
}

export function topAnswer(rows: Iterable<StoredRow>, q: { from: number; to: number; precision: number; types: readonly EventType[]; limit: number }): TopAnswer {
  const acc = accumulate(rows, q.precision, () => 0);
  const out = [...acc.values()].map((a) => cellRow(a, q.types)).filter((r) => r.total > 0);
  out.sort((a, b) => b.total - a.total || (a.cell < b.cell ? -1 : 1));
  return { from: q.from, to: q.to, precision: q.precision, types: q.types, rows: out.slice(0, q.limit) };
}

export function summaryAnswer(rows: Iterable<StoredRow>, q: { from: number; to: number; windowMs: number }): SummaryAnswer {
  const sum = new Float64Array(NTYPES + 1);
  const series = new Map<number, number>();
  for (const r of rows) {
    let t = 0;
    for (let i = 0; i < NTYPES; i++) t += r.sum[i]!;
    for (let i = 0; i <= NTYPES; i++) sum[i]! += r.sum[i]!;
    series.set(r.window, (series.get(r.window) ?? 0) + t);
  }
  const counts = typeCounts(sum);
  let events = 0;
  for (let i = 0; i < NTYPES; i++) events += sum[i]!;
  const first = q.from - (q.from % q.windowMs);
  const points: [number, number][] = [];
  for (let w = first; w < q.to; w += q.windowMs) points.push([w, series.get(w) ?? 0]);
  return {
    from: q.from, to: q.to, events, eventsPerSecond: events / ((q.to - q.from) / 1000), counts, value: money(sum[NTYPES]!),
    clickThroughRate: counts.impression > 0 ? counts.click / counts.impression : null,
    conversionRate: counts.click > 0 ? (counts.install + counts.purchase) / counts.click : null,
    series: points,
  };
}

/**
 * Cells whose rate over the last `windowS` is at least `factor` times their own rate over the
 * `baselineS` before it, with at least `minEvents` events now. A cell without history is compared with
 * one event per baseline, so a brand-new busy place is a hot spot too.
 */
export function hotspotsAnswer(rows: Iterable<StoredRow>, q: { at: number; windowS: number; baselineS: number; precision: number; minEvents: number; factor: number; limit: number }): HotspotsAnswer {
  const start = q.at - q.windowS * 1000;
  const acc = accumulate(rows, q.precision, (w) => (w >= start ? 1 : 0));
  const cells = new Map<string, { now: number; before: number }>();
  for (const a of acc.values()) {
    let t = 0;
    for (let i = 0; i < NTYPES; i++) t += a.sum[i]!;
    const c = cells.get(a.cell) ?? { now: 0, before: 0 };
    if (a.window === 1) c.now += t;
    else c.before += t;
    cells.set(a.cell, c);
  }
  const out: HotspotRow[] = [];
  for (const [cell, c] of cells) {
    if (c.now < q.minEvents) continue;
    const rate = c.now / q.windowS;
    const baselineRate = c.before / q.baselineS;
    const ratio = rate / Math.max(baselineRate, 1 / q.baselineS);
    if (ratio < q.factor) continue;
    const { lat, lon } = geohashCenter(cell);
    out.push({ cell, lat, lon, current: c.now, rate, baselineRate, ratio });
  }
  out.sort((a, b) => b.ratio - a.ratio || (a.cell < b.cell ? -1 : 1));
  return { at: q.at, windowS: q.windowS, baselineS: q.baselineS, precision: q.precision, rows: out.slice(0, q.limit) };
}
