/**
 * The drill-down panel: a clicked cell's latest raw events from the archive (`/v1/events`), newest
 * first, a page at a time ("load older"), with a link that copies the first page's query. Its rules and
 * states are in drill.ts; this fetches whatever page the state says is loading.
 */
import { useEffect, useReducer, useState } from 'react';
import { isFiltered } from '../../actors/model/segment.js';
import { ApiError, getJson } from './api.js';
import { FilterTag } from './Controls.js';
import {
  checkPage, drillable, drillReducer, drillStart, drillStatus, eventsQuery, localTime, shortUserId,
  MIN_DRILL_PRECISION, type DrillRequest, type EventsAnswer,
} from './drill.js';
import { hooks } from './test-hooks.js';

interface Props {
  readonly viewerKey: string;
  readonly request: DrillRequest;
  /** The range is the replayed bucket (time travel), not the last minutes. */
  readonly replayed: boolean;
  readonly onClose: () => void;
  readonly onAuthError: (err: unknown) => void;
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function DrillPanel({ viewerKey, request, replayed, onClose, onAuthError }: Props) {
  const { cell, from, to, types, filter } = request;
  return (
    <aside className="drill" data-testid="drill" aria-label={`raw events of cell ${cell}`}>
      <div className="drill-head">
        <b>{cell}</b>
        <span className="muted" data-testid="drill-range" data-from={from} data-to={to}>
          {localTime(from)}–{localTime(to)} {replayed ? '(replayed minute)' : '(last 15 min)'}
        </span>
        <button type="button" className="drill-close" onClick={onClose} aria-label="close">×</button>
      </div>
      {(types || isFiltered(filter)) && (
        <div className="drill-filter">
          {types && <span className="muted">only {types.join(', ')} </span>}
          <FilterTag filter={filter} />
        </div>
      )}
      {drillable(cell)
        ? <DrillEvents key={eventsQuery(request)} viewerKey={viewerKey} request={request} onAuthError={onAuthError} />
        : <p className="muted">Zoom in: raw events are listed for cells of geohash {MIN_DRILL_PRECISION} or finer.</p>}
    </aside>
  );
}

/** The events of one request: mounted anew (`key`) when the cell, range, types or filter change. */
function DrillEvents({ viewerKey, request, onAuthError }: Omit<Props, 'replayed' | 'onClose'>) {
  const [state, dispatch] = useReducer(drillReducer, request, drillStart);
  const status = drillStatus(state);
  const pending = state.phase.type === 'loading' ? state.phase.query : undefined;

  useEffect(() => {
    if (pending === undefined) return;
    const ctl = new AbortController();
    getJson<EventsAnswer>(pending, viewerKey, ctl.signal)
      .then((answer) => {
        checkPage(state.request, answer);
        dispatch({ type: 'page', query: pending, answer });
      })
      .catch((err: unknown) => {
        if (ctl.signal.aborted) return;
        onAuthError(err);
        dispatch({ type: 'failed', query: pending, status: err instanceof ApiError ? err.status : undefined, message: errText(err) });
      });
    return () => ctl.abort();
    // state.request is fixed for this component (it is remounted for another request).
  }, [pending, viewerKey, onAuthError]);

  useEffect(() => () => { hooks.drill = null; }, []);
  useEffect(() => {
    hooks.drill = { query: eventsQuery(state.request), status, events: state.events.length, next: state.next };
  }, [state, status]);

  return (
    <>
      <CopyQuery query={eventsQuery(state.request)} />
      {state.events.length > 0 && (
        <table className="drill-events" data-testid="drill-events">
          <thead><tr><th>time</th><th>type</th><th>user</th><th>app</th><th>campaign</th><th>value</th></tr></thead>
          <tbody>
            {state.events.map((e) => (
              <tr key={`${e.partition}:${e.offset}:${e.index}`}>
                <td title={new Date(e.ts).toISOString()}>{localTime(e.ts)}</td>
                <td>{e.type}{e.late && <small title="behind the watermark: not in the counts"> late</small>}{e.duplicate && <small title="a repeated client id: counted once"> dup</small>}</td>
                <td title={e.userId}>{shortUserId(e.userId)}</td>
                <td title={e.appId}>{e.appId ?? '—'}</td>
                <td title={e.campaignId}>{e.campaignId ?? '—'}</td>
                <td>{e.value !== undefined ? e.value.toFixed(2) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="drill-foot" data-testid="drill-status" data-value={status}>
        {status === 'loading' && <span className="muted">loading…</span>}
        {status === 'empty' && <span className="muted">no archived events in this cell and range</span>}
        {state.phase.type === 'failed' && (
          <>
            <span className="error">⚠ {status === 'unavailable' ? 'the archive is unavailable: ' : ''}{state.phase.message}</span>
            <button type="button" onClick={() => dispatch({ type: 'retry' })}>retry</button>
          </>
        )}
        {(status === 'loading-older' || (status === 'events' && state.next !== null)) && (
          <button type="button" onClick={() => dispatch({ type: 'more' })} disabled={status === 'loading-older'}>
            {status === 'loading-older' ? 'loading…' : 'load older'}
          </button>
        )}
        {status === 'events' && state.next === null && <span className="muted">{state.events.length} events, no older ones</span>}
      </div>
    </>
  );
}

/**
 * "copy query": the first page's URL (no key: it goes as a header) to the clipboard; where the page may
 * not use it (plain http off localhost), a selected text field to copy from instead.
 */
function CopyQuery({ query }: { readonly query: string }) {
  const [shown, setShown] = useState<'link' | 'copied' | 'field'>('link');
  const url = `${location.origin}${query}`;
  const copy = () => {
    // navigator.clipboard is undefined outside secure contexts, whatever the DOM types say.
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (clipboard) clipboard.writeText(url).then(() => setShown('copied'), () => setShown('field'));
    else setShown('field');
  };
  return (
    <div className="drill-copy">
      <button type="button" className="link" onClick={copy} title={url} data-testid="drill-copy">copy query</button>
      {shown === 'copied' && <span className="muted"> copied</span>}
      {shown === 'field' && (
        <input readOnly value={url} aria-label="events query" autoFocus onFocus={(e) => e.currentTarget.select()} data-testid="drill-url" />
      )}
    </div>
  );
}
