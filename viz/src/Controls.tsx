/** Small pieces of the page: filters, the legend, the connection and freshness bar, the key prompt. */
import { useEffect, useState } from 'react';
import { EVENT_TYPES, type EventType } from '../../actors/model/event.js';
import { LIVE_WINDOWS_S } from '../../actors/model/stream.js';
import type { MapMode } from './layers.js';
import type { ConnState } from './protocol.js';
import { CLASS_COLORS, classLabel } from './scale.js';

const WINDOW_LABEL: Record<number, string> = { 10: '10 s', 60: '1 min', 300: '5 min', 900: '15 min' };

interface FiltersProps {
  readonly types: readonly EventType[];
  readonly onTypes: (t: EventType[]) => void;
  readonly windowS: number;
  readonly onWindow: (s: number) => void;
  readonly mode: MapMode;
  readonly onMode: (m: MapMode) => void;
}

export function Filters({ types, onTypes, windowS, onWindow, mode, onMode }: FiltersProps) {
  const toggle = (t: EventType) => {
    const next = types.includes(t) ? types.filter((x) => x !== t) : EVENT_TYPES.filter((x) => x === t || types.includes(x));
    if (next.length > 0) onTypes(next); // at least one type stays selected
  };
  return (
    <div className="filters">
      <fieldset>
        <legend>event types</legend>
        {EVENT_TYPES.map((t) => (
          <label key={t}><input type="checkbox" checked={types.includes(t)} onChange={() => toggle(t)} />{t}</label>
        ))}
      </fieldset>
      <label>window{' '}
        <select value={windowS} onChange={(e) => onWindow(Number(e.target.value))} aria-label="window">
          {LIVE_WINDOWS_S.map((s) => <option key={s} value={s}>{WINDOW_LABEL[s]}</option>)}
        </select>
      </label>
      <div className="mode" role="radiogroup" aria-label="map view">
        <button type="button" aria-pressed={mode === 'heatmap'} onClick={() => onMode('heatmap')}>heatmap</button>
        <button type="button" aria-pressed={mode === 'cells'} onClick={() => onMode('cells')}>cells</button>
      </div>
    </div>
  );
}

export function Legend({ precision }: { readonly precision: number }) {
  return (
    <div className="legend">
      <div className="legend-title">events/s per cell <small>(geohash {precision})</small></div>
      {CLASS_COLORS.map((c, i) => (
        <div key={i} className="legend-row">
          <span className="swatch" style={{ background: `rgb(${c.join(',')})` }} />
          {classLabel(i)}
        </div>
      ))}
    </div>
  );
}

interface StatusProps {
  readonly state: ConnState;
  readonly detail: string;
  /** Emit time of the newest actor delta in the stream (0 = none yet). */
  readonly dataAt: number;
  /** at − oldestAt of the last frame that carried new events, ms. */
  readonly frameAgeMs: number | undefined;
  readonly cells: number;
  readonly replaying: boolean;
}

export function StatusBar({ state, detail, dataAt, frameAgeMs, cells, replaying }: StatusProps) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, []);
  const age = dataAt > 0 ? Math.max(0, now - dataAt) : undefined;
  const stale = age !== undefined && age > 10_000;
  return (
    <div className="status">
      <span className={`conn conn-${state}`} data-testid="connection" title={detail}>● {state}</span>
      <span className={stale ? 'stale' : ''} data-testid="data-age">data age {age === undefined ? '—' : age < 10_000 ? `${(age / 1000).toFixed(1)} s` : `${Math.round(age / 1000)} s`}</span>
      {frameAgeMs !== undefined && <span title="gateway accept → on this page's stream">latency {Math.round(frameAgeMs)} ms</span>}
      <span>{cells.toLocaleString('en-US')} cells</span>
      {replaying && <span className="replaying">replaying stored rollups</span>}
    </div>
  );
}

export function KeyPrompt({ onKey, error }: { readonly onKey: (key: string) => void; readonly error: string | undefined }) {
  const [value, setValue] = useState('');
  return (
    <form className="key-prompt" onSubmit={(e) => { e.preventDefault(); if (value.trim()) onKey(value.trim()); }}>
      <h1>AdME live map</h1>
      <p>Paste a viewer key (a key with the <code>view</code> scope: <code>adme keys create --scope view</code>).</p>
      {error && <p className="error">{error}</p>}
      <input type="password" value={value} onChange={(e) => setValue(e.target.value)} placeholder="viewer key" aria-label="viewer key" autoFocus />
      <button type="submit">Open</button>
    </form>
  );
}
