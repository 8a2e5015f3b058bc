/** The side panel: events/s sparkline, counts per type, click-through and conversion, top cells, hot spots. */
import { useEffect } from 'react';
import { EVENT_TYPES, type EventType } from '../../actors/model/event.js';
import type { CellRow, HotspotsAnswer, SummaryAnswer, TopAnswer } from '../../actors/model/query.js';
import { getJson, queryString } from './api.js';
import type { SummaryShown } from './hooks.js';
import { dashboardRange } from './protocol.js';
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
  readonly onFly: (place: Place) => void;
  readonly onSummaryShown: (s: SummaryShown) => void;
  readonly onAuthError: (err: unknown) => void;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(2)} %`);

export function Dashboard({ viewerKey, types, onFly, onSummaryShown, onAuthError }: Props) {
  const summary = usePoll(async (signal) => {
    const { from, to } = dashboardRange(Date.now(), SUMMARY_SPAN_MS);
    const query = queryString('summary', { from, to });
    return { query, answer: await getJson<SummaryAnswer>(query, viewerKey, signal) };
  }, 2000, [viewerKey], onAuthError);

  const typeParam = types.length === EVENT_TYPES.length ? undefined : types;
  const top = usePoll(async (signal) => {
    const { from, to } = dashboardRange(Date.now(), 5 * 60_000);
    return getJson<TopAnswer>(queryString('top', { from, to, precision: TOP_PRECISION, types: typeParam, limit: 8 }), viewerKey, signal);
  }, 5000, [viewerKey, typeParam?.join(',')]);

  const hot = usePoll(async (signal) => getJson<HotspotsAnswer>(queryString('hotspots', { precision: TOP_PRECISION, windowS: 60, baselineS: 600, limit: 5 }), viewerKey, signal), 5000, [viewerKey]);

  const s = summary.data?.answer;
  useEffect(() => {
    if (!summary.data) return;
    const a = summary.data.answer;
    onSummaryShown({ query: summary.data.query, from: a.from, to: a.to, events: a.events, eventsPerSecond: a.eventsPerSecond, counts: { ...a.counts }, clickThroughRate: a.clickThroughRate, conversionRate: a.conversionRate });
  }, [summary.data, onSummaryShown]);

  return (
    <aside className="dashboard">
      <section>
        <h2>Last 15 minutes {summary.error && <span className="error" title={summary.error}>⚠ {summary.error}</span>}</h2>
        <div className="big">
          <div><span data-testid="summary-events" data-value={s?.events ?? ''}>{s ? int(s.events) : '…'}</span><small>events</small></div>
          <div><span data-testid="summary-eps" data-value={s?.eventsPerSecond ?? ''}>{s ? s.eventsPerSecond.toFixed(1) : '…'}</span><small>events/s</small></div>
        </div>
        <Sparkline series={s?.series ?? []} />
        <table className="counts">
          <tbody>
            {EVENT_TYPES.map((t) => (
              <tr key={t}><td>{t}</td><td data-testid={`summary-count-${t}`} data-value={s?.counts[t] ?? ''}>{s ? int(s.counts[t]) : '…'}</td></tr>
            ))}
          </tbody>
        </table>
        <div className="rates">
          <div>click-through <b data-testid="summary-ctr" data-value={s?.clickThroughRate ?? ''}>{s ? pct(s.clickThroughRate) : '…'}</b></div>
          <div>conversion <b data-testid="summary-cvr" data-value={s?.conversionRate ?? ''}>{s ? pct(s.conversionRate) : '…'}</b></div>
        </div>
      </section>
      <section>
        <h2>Top cells, 5 min {top.error && <span className="error" title={top.error}>⚠</span>}</h2>
        <ol className="top">
          {(top.data?.rows ?? []).map((r: CellRow) => (
            <li key={r.cell}><button type="button" onClick={() => onFly(r)} title="fly there">{r.cell}</button><span>{int(r.total)}</span></li>
          ))}
          {top.data && top.data.rows.length === 0 && <li className="muted">no events</li>}
        </ol>
      </section>
      <section>
        <h2>Hot spots {hot.error && <span className="error" title={hot.error}>⚠</span>}</h2>
        <ul className="hot">
          {(hot.data?.rows ?? []).map((r) => (
            <li key={r.cell}>
              <button type="button" onClick={() => onFly(r)}>{r.cell}</button>
              <span>{r.rate.toFixed(2)}/s, ×{Number.isFinite(r.ratio) ? (r.ratio >= 100 ? Math.round(r.ratio).toLocaleString('en-US') : r.ratio.toFixed(1)) : '∞'} baseline</span>
            </li>
          ))}
          {hot.data && hot.data.rows.length === 0 && <li className="muted">none: every cell near its baseline</li>}
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
