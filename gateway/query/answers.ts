/**
 * The query API's answers computed from stored rows (pure; the rows come from MongoDB, rollups.ts, or
 * the live store). Cells are summed to the requested precision by geohash prefix, windows to the
 * requested step; their unique users are the merge of the rows' sketches (actors/model/reach.ts).
 */
import {
  ALL_SLOTS, EVENT_TYPES, NTYPES, Reach, TYPE_INDEX, geohashCenter, isFiltered, segmentMatcher, segmentOf, slotMask, typeCounts, type CellRow, type EventType, type HotspotRow,
  type HotspotsAnswer, type RollupsAnswer, type SegmentCount, type SegmentFilter, type SegmentsAnswer, type SummaryAnswer, type TopAnswer, type TopOrder,
} from '../../actors/model/index.js';
import type { StoredRow } from './rollups.js';

/**
 * The rows as a segment filter counts them, as they are iterated: each row's sum becomes the sum of its
 * segments that pass (rows with none left out), its reach the merge of theirs. Unfiltered, the rows are
 * returned as they are.
 */
export function filterRows(rows: Iterable<StoredRow>, f: SegmentFilter | undefined): Iterable<StoredRow> {
  if (!isFiltered(f)) return rows;
  return filtered(rows, segmentMatcher(f));
}

function* filtered(rows: Iterable<StoredRow>, match: (segmentKey: string) => boolean): Generator<StoredRow> {
  for (const r of rows) {
    if (!r.segs) continue;
    let sum: Float64Array | undefined;
    let reach: Reach | undefined;
    for (const [key, v] of r.segs) {
      if (!match(key)) continue;
      sum ??= new Float64Array(NTYPES + 1);
      for (let i = 0; i <= NTYPES; i++) sum[i]! += v[i]!;
      const sr = r.segReach?.get(key);
      if (sr) (reach ??= new Reach()).merge(sr);
    }
    if (sum) yield { window: r.window, partition: r.partition, cell: r.cell, sum, segs: null, reach };
  }
}

/**
 * Unique users of a group of rows: their sketches merged. Rows stored before reach have only a users
 * estimate of their own; those are added up (an upper bound: a user in two such rows counts twice), and
 * only where every type is asked for, since they are not kept per type.
 */
class Users {
  readonly reach = new Reach();
  private legacy = 0;

  add(r: StoredRow): void {
    if (r.reach) this.reach.merge(r.reach);
    else if (r.users) this.legacy += r.users;
  }

  count(mask = ALL_SLOTS): number {
    return this.reach.users(mask) + (mask === ALL_SLOTS ? this.legacy : 0);
  }
}

/** The privacy floor: rows with fewer unique users than `k` are held back (k 0: none is). */
function floor<T extends { users: number }>(rows: T[], k: number): { rows: T[]; withheld: number } {
  if (k <= 0) return { rows, withheld: 0 };
  const kept = rows.filter((r) => r.users >= k);
  return { rows: kept, withheld: rows.length - kept.length };
}

/**
 * Events and unique users per app and per campaign over the rows, busiest first (ties by id). An app or a
 * campaign with fewer unique users than the privacy floor is held back.
 */
export function segmentsAnswer(rows: Iterable<StoredRow>, q: { from: number; to: number; limit: number; privacyK: number }): SegmentsAnswer {
  const apps = new Map<string, { events: number; users: Users }>();
  const campaigns = new Map<string, { events: number; users: Users }>();
  const count = (m: Map<string, { events: number; users: Users }>, id: string, events: number, reach: StoredRow['reach']) => {
    let e = m.get(id);
    if (!e) m.set(id, (e = { events: 0, users: new Users() }));
    e.events += events;
    if (reach) e.users.reach.merge(reach);
  };
  for (const r of rows) {
    if (!r.segs) continue;
    for (const [key, v] of r.segs) {
      let events = 0;
      for (let i = 0; i < NTYPES; i++) events += v[i]!;
      const { app, campaign } = segmentOf(key);
      const reach = r.segReach?.get(key);
      if (app !== '') count(apps, app, events, reach);
      if (campaign !== '') count(campaigns, campaign, events, reach);
    }
  }
  let withheld = 0;
  const list = (m: Map<string, { events: number; users: Users }>): SegmentCount[] => {
    const all = [...m].map(([id, e]) => ({ id, events: e.events, users: e.users.count() }));
    const kept = floor(all, q.privacyK);
    withheld += kept.withheld;
    return kept.rows.sort((a, b) => b.events - a.events || (a.id < b.id ? -1 : 1)).slice(0, q.limit);
  };
  return { from: q.from, to: q.to, apps: list(apps), campaigns: list(campaigns), privacyK: q.privacyK, withheld };
}

interface Acc {
  readonly cell: string;
  readonly window: number;
  readonly sum: Float64Array;
  readonly users: Users;
}

function accumulate(rows: Iterable<StoredRow>, precision: number, bucketOf: (window: number) => number): Map<string, Acc> {
  const out = new Map<string, Acc>();
  for (const r of rows) {
    const cell = r.cell.slice(0, precision);
    const window = bucketOf(r.window);
    const key = `${window}:${cell}`;
    let a = out.get(key);
    if (!a) out.set(key, (a = { cell, window, sum: new Float64Array(NTYPES + 1), users: new Users() }));
    for (let i = 0; i <= NTYPES; i++) a.sum[i]! += r.sum[i]!;
    a.users.add(r);
  }
  return out;
}

const typesMask = (types: readonly EventType[]) => slotMask(types.map((t) => TYPE_INDEX[t]));

/** Value sums (revenue) to a millionth: sums in another order (live store vs rollups) agree exactly. */
const money = (v: number) => Math.round(v * 1e6) / 1e6;

const totalOf = (sum: Float64Array, types: readonly EventType[]) => types.reduce((t, ty) => t + sum[TYPE_INDEX[ty]]!, 0);

function cellRow(a: Acc, types: readonly EventType[], mask: number): CellRow {
  const { lat, lon } = geohashCenter(a.cell);
  return { cell: a.cell, lat, lon, total: totalOf(a.sum, types), counts: typeCounts(a.sum), value: money(a.sum[NTYPES]!), users: a.users.count(mask) };
}

export function rollupsAnswer(rows: Iterable<StoredRow>, q: { from: number; to: number; precision: number; stepMs: number; types: readonly EventType[]; privacyK: number }): RollupsAnswer {
  const acc = accumulate(rows, q.precision, (w) => w - (w % q.stepMs));
  const mask = typesMask(q.types);
  const all = [...acc.values()].map((a) => ({ window: a.window, ...cellRow(a, q.types, mask) })).filter((r) => r.total > 0);
  const { rows: out, withheld } = floor(all, q.privacyK);
  out.sort((a, b) => a.window - b.window || (a.cell < b.cell ? -1 : 1));
  return { from: q.from, to: q.to, precision: q.precision, stepMs: q.stepMs, types: q.types, rows: out, privacyK: q.privacyK, withheld };
}

export function topAnswer(rows: Iterable<StoredRow>, q: { from: number; to: number; precision: number; types: readonly EventType[]; limit: number; by: TopOrder; privacyK: number }): TopAnswer {
  const acc = accumulate(rows, q.precision, () => 0);
  const mask = typesMask(q.types);
  const all = [...acc.values()].map((a) => cellRow(a, q.types, mask)).filter((r) => r.total > 0);
  const { rows: out, withheld } = floor(all, q.privacyK);
  const key = q.by === 'users' ? (r: CellRow) => r.users : (r: CellRow) => r.total;
  out.sort((a, b) => key(b) - key(a) || (a.cell < b.cell ? -1 : 1));
  return { from: q.from, to: q.to, precision: q.precision, types: q.types, by: q.by, rows: out.slice(0, q.limit), privacyK: q.privacyK, withheld };
}

export function summaryAnswer(rows: Iterable<StoredRow>, q: { from: number; to: number; windowMs: number; privacyK: number }): SummaryAnswer {
  const sum = new Float64Array(NTYPES + 1);
  const series = new Map<number, number>();
  const users = new Users();
  for (const r of rows) {
    let t = 0;
    for (let i = 0; i < NTYPES; i++) t += r.sum[i]!;
    for (let i = 0; i <= NTYPES; i++) sum[i]! += r.sum[i]!;
    series.set(r.window, (series.get(r.window) ?? 0) + t);
    users.add(r);
  }
  const all = users.count();
  const first = q.from - (q.from % q.windowMs);
  // Below the floor, the area answers nothing but that it is held back (an empty area is not below it).
  const withheld = q.privacyK > 0 && all > 0 && all < q.privacyK;
  if (withheld) sum.fill(0);
  const counts = typeCounts(sum);
  const usersByType = typeCounts(EVENT_TYPES.map((t) => (withheld ? 0 : users.count(1 << TYPE_INDEX[t]))));
  let events = 0;
  for (let i = 0; i < NTYPES; i++) events += sum[i]!;
  const points: [number, number][] = [];
  for (let w = first; w < q.to; w += q.windowMs) points.push([w, withheld ? 0 : series.get(w) ?? 0]);
  return {
    from: q.from, to: q.to, events, eventsPerSecond: events / ((q.to - q.from) / 1000), counts, value: money(sum[NTYPES]!),
    clickThroughRate: counts.impression > 0 ? counts.click / counts.impression : null,
    conversionRate: counts.click > 0 ? (counts.install + counts.purchase) / counts.click : null,
    users: withheld ? 0 : all, usersByType,
    frequency: usersByType.impression > 0 ? counts.impression / usersByType.impression : null,
    series: points, privacyK: q.privacyK, withheld: withheld ? 1 : 0,
  };
}

/**
 * Cells whose rate over the last `windowS` is at least `factor` times their own rate over the
 * `baselineS` before it, with at least `minEvents` events now. A cell without history is compared with
 * one event per baseline, so a brand-new busy place is a hot spot too.
 */
export function hotspotsAnswer(rows: Iterable<StoredRow>, q: { at: number; windowS: number; baselineS: number; precision: number; minEvents: number; factor: number; limit: number; privacyK: number }): HotspotsAnswer {
  const start = q.at - q.windowS * 1000;
  const acc = accumulate(rows, q.precision, (w) => (w >= start ? 1 : 0));
  const cells = new Map<string, { now: number; before: number; users: number }>();
  for (const a of acc.values()) {
    let t = 0;
    for (let i = 0; i < NTYPES; i++) t += a.sum[i]!;
    const c = cells.get(a.cell) ?? { now: 0, before: 0, users: 0 };
    if (a.window === 1) {
      c.now += t;
      c.users = a.users.count();
    } else c.before += t;
    cells.set(a.cell, c);
  }
  const out: HotspotRow[] = [];
  let withheld = 0;
  for (const [cell, c] of cells) {
    if (c.now < q.minEvents) continue;
    if (q.privacyK > 0 && c.users < q.privacyK) {
      withheld++;
      continue;
    }
    const rate = c.now / q.windowS;
    const baselineRate = c.before / q.baselineS;
    const ratio = rate / Math.max(baselineRate, 1 / q.baselineS);
    if (ratio < q.factor) continue;
    const { lat, lon } = geohashCenter(cell);
    out.push({ cell, lat, lon, current: c.now, users: c.users, rate, baselineRate, ratio });
  }
  out.sort((a, b) => b.ratio - a.ratio || (a.cell < b.cell ? -1 : 1));
  return { at: q.at, windowS: q.windowS, baselineS: q.baselineS, precision: q.precision, rows: out.slice(0, q.limit), privacyK: q.privacyK, withheld };
}
