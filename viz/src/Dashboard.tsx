/**
 * The side panel: events/s sparkline, counts per type, click-through and conversion, unique users and
 * frequency, top cells (by events or by reach), hot spots, all under the app and campaign filter (an
 * answer is shown only for the filter now selected, and only if it echoes that filter).
 */
import { useEffect, useState } from 'react';
import { EVENT_TYPES, type EventType } from '../../actors/model/event.js';
import { TOP_ORDERS, type CellRow, type FilterEcho, type HotspotsAnswer, type SummaryAnswer, type TopAnswer, type TopOrder } from '../../actors/model/query.js';
import { filterKey, type SegmentFilter } from '../../actors/model/segment.js';
import { getJson, queryString } from './api.js';
import { FilterTag } from './Controls.js';
import { checkEcho, filterParams } from './filter.js';
import type { SummaryShown } from './hooks.js';
import { dashboardRange } from './protocol.js';
import { TOP_ORDER_LABEL, USERS_BY_TYPE, checkOrder, formatFrequency, formatUsers, knownUsers, summaryWithheldNote, topParams, withheldNote } from './reach.js';
import { usePoll } from './usePoll.js';

/** The dashboard covers the last 15 minutes (all event types: the summary has no type filter). */
export const SUMMARY_SPAN_MS = 15 * 60_000;
const TOP_PRECISION = 4;

export interface Place {
  readonly cell: string;
  readonly lat: number;
  readonly lon: number;
}

interface Props {
  readonly viewerKey: string;
  readonly types: readonly EventType[];
  readonly filter: SegmentFilter;
  readonly onFly: (place: Place) => void;
  readonly onSummaryShown: (s: SummaryShown) => void;
  readonly onAuthError: (err: unknown) => void;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(2)} %`);

/** GET one filtered answer; it fails unless it echoes the filter asked. */
async function getFiltered<T extends FilterEcho>(query: string, filter: SegmentFilter, key: string, signal: AbortSignal): Promise<{ query: string; fk: string; answer: T }> {
  const answer = await getJson<T>(query, key, signal);
  checkEcho(filter, answer);
  return { query, fk: filterKey(filter), answer };
}

export function Dashboard({ viewerKey, types, filter, onFly, onSummaryShown, onAuthError }: Props) {
  const fk = filterKey(filter);
  /** An answer for another filter than the one selected now is not shown (it is being replaced). */
  const current = <T,>(d: { fk: string; answer: T } | undefined) => (d && d.fk === fk ? d.answer : undefined);
  const summary = usePoll(async (signal) => {
    const { from, to } = dashboardRange(Date.now(), SUMMARY_SPAN_MS);
    return getFiltered<SummaryAnswer & FilterEcho>(queryString('summary', { from, to, ...filterParams(filter) }), filter, viewerKey, signal);
  }, 2000, [viewerKey, fk], onAuthError);

  const typeParam = types.length === EVENT_TYPES.length ? undefined : types;
  const [by, setBy] = useState<TopOrder>('events');
  const top = usePoll(async (signal) => {
    const { from, to } = dashboardRange(Date.now(), 5 * 60_000);
    const got = await getFiltered<TopAnswer & FilterEcho>(queryString('top', { ...topParams({ from, to, precision: TOP_PRECISION, types: typeParam, limit: 8, by }), ...filterParams(filter) }), filter, viewerKey, signal);
    checkOrder(by, got.answer);
    return got;
  }, 5000, [viewerKey, typeParam?.join(','), fk, by]);

  const hot = usePoll(async (signal) => getFiltered<HotspotsAnswer & FilterEcho>(queryString('hotspots', { precision: TOP_PRECISION, windowS: 60, baselineS: 600, limit: 5, ...filterParams(filter) }), filter, viewerKey, signal), 5000, [viewerKey, fk]);

  const s = current(summary.data);
  // Under the floor the answer's figures are zeros standing for "hidden": show them as such, not as 0.
  const hiddenNote = s && summaryWithheldNote(s);
  const shown = (text: string) => (hiddenNote ? '–' : text);
  const users = knownUsers(s?.users);
  const topAnswer = current(top.data);
  // The list of the other order is being replaced: do not show it under this one's heading.
  const topShown = topAnswer && (topAnswer.by ?? 'events') === by ? topAnswer : undefined;
  const topRows = topShown?.rows;
  const topWithheld = withheldNote(topShown?.withheld);
  const hotRows = current(hot.data)?.rows;
  useEffect(() => {
    if (!summary.data || summary.data.fk !== fk) return;
    const a = summary.data.answer;
    onSummaryShown({
      query: summary.data.query, from: a.from, to: a.to, events: a.events, eventsPerSecond: a.eventsPerSecond, counts: { ...a.counts },
      clickThroughRate: a.clickThroughRate, conversionRate: a.conversionRate, users: knownUsers(a.users), frequency: a.frequency ?? null, withheld: a.withheld === 1 ? 1 : 0,
    });
  }, [summary.data, fk, onSummaryShown]);

  return (
    <aside className="dashboard">
      <section>
        <h2>Last 15 minutes {summary.error && <span className="error" title={summary.error}>⚠ {summary.error}</span>}</h2>
        <FilterTag filter={filter} testId="dashboard-filter" />
        {hiddenNote && <p className="privacy-note" data-testid="summary-withheld" data-k={s.privacyK}>{hiddenNote}</p>}
        <div className="big">
          <div><span data-testid="summary-events" data-value={s?.events ?? ''}>{s ? shown(int(s.events)) : '…'}</span><small>events</small></div>
          <div><span data-testid="summary-eps" data-value={s?.eventsPerSecond ?? ''}>{s ? shown(s.eventsPerSecond.toFixed(1)) : '…'}</span><small>events/s</small></div>
        </div>
        <Sparkline series={s?.series ?? []} />
        <table className="counts">
          <tbody>
            {EVENT_TYPES.map((t) => (
              <tr key={t}><td>{t}</td><td data-testid={`summary-count-${t}`} data-value={s?.counts[t] ?? ''}>{s ? shown(int(s.counts[t])) : '…'}</td></tr>
            ))}
          </tbody>
        </table>
        <div className="rates">
          <div>click-through <b data-testid="summary-ctr" data-value={s?.clickThroughRate ?? ''}>{s ? pct(s.clickThroughRate) : '…'}</b></div>
          <div>conversion <b data-testid="summary-cvr" data-value={s?.conversionRate ?? ''}>{s ? pct(s.conversionRate) : '…'}</b></div>
        </div>
        <div className="rates">
          <div title="unique users with any event (reach)">unique users <b data-testid="summary-users" data-value={users ?? ''}>{s ? shown(formatUsers(users)) : '…'}</b></div>
          <div title="impressions per user who saw one">frequency <b data-testid="summary-frequency" data-value={s?.frequency ?? ''}>{s ? formatFrequency(s.frequency) : '…'}</b></div>
        </div>
        <div className="rates reach-by-type">
          {USERS_BY_TYPE.map(({ type, label }) => {
            const n = knownUsers(s?.usersByType?.[type]);
            return <div key={type} title={`unique users who ${label}`}>{label} <b data-testid={`summary-users-${type}`} data-value={n ?? ''}>{s ? shown(formatUsers(n)) : '…'}</b></div>;
          })}
        </div>
      </section>
      <section>
        <h2>Top cells, 5 min {top.error && <span className="error" title={top.error}>⚠</span>}</h2>
        <div className="mode top-order" role="radiogroup" aria-label="top cells order">
          {TOP_ORDERS.map((o) => <button key={o} type="button" aria-pressed={by === o} onClick={() => setBy(o)}>{TOP_ORDER_LABEL[o]}</button>)}
        </div>
        <ol className="top" data-testid="top-cells" data-by={topShown?.by ?? ''}>
          {(topRows ?? []).map((r: CellRow) => {
            const u = knownUsers(r.users);
            // The figure the list is ordered by comes first and bold.
            const events = <span title="events">{int(r.total)} ev</span>;
            const reach = <span title="unique users">{formatUsers(u)} users</span>;
            return (
              <li key={r.cell}>
                <button type="button" onClick={() => onFly(r)} title="fly there">{r.cell}</button>
                <span className="top-n">{by === 'users' ? <><b>{reach}</b> · {events}</> : <><b>{events}</b> · {reach}</>}</span>
              </li>
            );
          })}
          {topRows && topRows.length === 0 && <li className="muted">no events</li>}
        </ol>
        {topWithheld && <p className="muted" data-testid="top-withheld" data-value={topShown?.withheld}>{topWithheld}</p>}
      </section>
      <section>
        <h2>Hot spots {hot.error && <span className="error" title={hot.error}>⚠</span>}</h2>
        <ul className="hot">
          {(hotRows ?? []).map((r) => (
            <li key={r.cell}>
              <button type="button" onClick={() => onFly(r)}>{r.cell}</button>
              <span>{r.rate.toFixed(2)}/s, ×{Number.isFinite(r.ratio) ? (r.ratio >= 100 ? Math.round(r.ratio).toLocaleString('en-US') : r.ratio.toFixed(1)) : '∞'} baseline</span>
            </li>
          ))}
          {hotRows && hotRows.length === 0 && <li className="muted">none: every cell near its baseline</li>}
        </ul>
      </section>
    </aside>
  );
}

function Sparkline({ series }: { readonly series: readonly (readonly [number, number])[] }) {
  const w = 300;
  const h = 48;
  if (series.length < 2) return <svg className="spark" width={w} height={h} />;
  const max = Math.max(1, ...series.map(([, n]) => n));
  const t0 = series[0]![0];
  const span = Math.max(1, series[series.length - 1]![0] - t0);
  const pts = series.map(([t, n]) => `${(((t - t0) / span) * w).toFixed(1)},${(h - 2 - (n / max) * (h - 4)).toFixed(1)}`).join(' ');
  return (
    <svg className="spark" width={w} height={h} aria-label="events per second, last 15 minutes">
      <polyline points={pts} fill="none" stroke="#fd8d3c" strokeWidth={1.5} />
      <text x={2} y={10}>peak {(max / 10).toFixed(1)}/s</text>
    </svg>
  );
}
