/**
 * Small pieces of the page: filters (event types, app and campaign pickers, window, view), the legend,
 * the connection and freshness bar, the tag that marks filtered panels, the key prompt.
 */
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { EVENT_TYPES, type EventType } from '../../actors/model/event.js';
import type { SegmentCount, SegmentsAnswer } from '../../actors/model/query.js';
import { MAX_FILTER_IDS, isFiltered, type SegmentFilter } from '../../actors/model/segment.js';
import { LIVE_WINDOWS_S } from '../../actors/model/stream.js';
import { DIMENSIONS, choicesOf, clearDim, filterLabel, isFull, listSummary, toggleId, type Dimension } from './filter.js';
import type { MapMode } from './layers.js';
import type { ConnState } from './protocol.js';
import { privacyLines, type ViewPrivacy } from './reach.js';
import { CLASS_COLORS, classLabel } from './scale.js';

const WINDOW_LABEL: Record<number, string> = { 10: '10 s', 60: '1 min', 300: '5 min', 900: '15 min' };

interface FiltersProps {
  readonly types: readonly EventType[];
  readonly onTypes: (t: EventType[]) => void;
  readonly windowS: number;
  readonly onWindow: (s: number) => void;
  readonly filter: SegmentFilter;
  readonly onFilter: (f: SegmentFilter) => void;
  /** The choices: `/v1/segments` over the last 15 minutes (undefined until the first answer). */
  readonly segments: SegmentsAnswer | undefined;
  readonly segmentsError: string | undefined;
  readonly mode: MapMode;
  readonly onMode: (m: MapMode) => void;
}

export function Filters({ types, onTypes, windowS, onWindow, filter, onFilter, segments, segmentsError, mode, onMode }: FiltersProps) {
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
      {DIMENSIONS.map((dim) => (
        <SegmentPicker
          key={dim} dim={dim} selected={filter[dim]} seen={segments?.[dim]} error={segmentsError} full={isFull(filter, dim)}
          onToggle={(id) => onFilter(toggleId(filter, dim, id))} onAll={() => onFilter(clearDim(filter, dim))}
        />
      ))}
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

const int = (n: number) => Math.round(n).toLocaleString('en-US');

interface PickerProps {
  readonly dim: Dimension;
  readonly selected: readonly string[];
  readonly seen: readonly SegmentCount[] | undefined;
  readonly error: string | undefined;
  readonly full: boolean;
  readonly onToggle: (id: string) => void;
  readonly onAll: () => void;
}

/**
 * One app or campaign picker: a button saying what is selected, opening a checkbox list (the group is
 * labelled "apps" or "campaigns", each checkbox by its id) with the events of each id next to it.
 * Escape or a click elsewhere closes it.
 */
function SegmentPicker({ dim, selected, seen, error, full, onToggle, onAll }: PickerProps) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const listId = useId();
  useEffect(() => {
    if (!open) return;
    const away = (e: PointerEvent) => {
      if (!box.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', away);
    return () => document.removeEventListener('pointerdown', away);
  }, [open]);
  const choices = useMemo(() => choicesOf(seen, selected), [seen, selected]);
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Escape' || !open) return;
    setOpen(false);
    button.current?.focus();
  };
  return (
    <div className="pick" ref={box} onKeyDown={onKeyDown}>
      <button
        ref={button} type="button" className={selected.length > 0 ? 'on' : ''} aria-expanded={open} aria-controls={listId}
        data-testid={`filter-${dim}`} title={selected.join(', ') || `all ${dim}`} onClick={() => setOpen((o) => !o)}
      >
        {dim}: {listSummary(selected)} ▾
      </button>
      {open && (
        <div id={listId} className="pick-list" role="group" aria-label={dim}>
          <label className="pick-all"><input type="checkbox" checked={selected.length === 0} onChange={onAll} aria-label={`all ${dim}`} />all</label>
          {choices.map((c) => (
            <label key={c.id} className={c.events === undefined ? 'unseen' : ''} title={c.events === undefined ? 'not seen in the last 15 minutes; kept selected' : c.id}>
              <input type="checkbox" checked={c.selected} disabled={full && !c.selected} onChange={() => onToggle(c.id)} aria-label={c.id} />
              <span className="pick-id">{c.id}</span>
              <span className="pick-n">{c.events === undefined ? '—' : int(c.events)}</span>
            </label>
          ))}
          {!seen && !error && <span className="muted">loading…</span>}
          {seen && choices.length === 0 && <span className="muted">none in the last 15 minutes</span>}
          {full && <span className="muted">at most {MAX_FILTER_IDS} {dim}</span>}
          {error && <span className="error" title={error}>⚠ {error}</span>}
        </div>
      )}
    </div>
  );
}

/** Marks a panel as filtered, naming the filter; nothing when unfiltered. */
export function FilterTag({ filter, testId }: { readonly filter: SegmentFilter; readonly testId?: string }) {
  if (!isFiltered(filter)) return null;
  const label = filterLabel(filter);
  return <span className="filter-tag" data-testid={testId} title={filterLabel(filter, Infinity)}>only {label}</span>;
}

/** The colour scale, and under it the privacy floor and the view's reach when the stream (or a replayed answer) gives them. */
export function Legend({ precision, filter, privacy }: { readonly precision: number; readonly filter: SegmentFilter; readonly privacy: ViewPrivacy }) {
  const lines = privacyLines(privacy);
  return (
    <div className="legend">
      <div className="legend-title">events/s per cell <small>(geohash {precision})</small></div>
      {isFiltered(filter) && <div className="legend-filter"><FilterTag filter={filter} testId="legend-filter" /></div>}
      {CLASS_COLORS.map((c, i) => (
        <div key={i} className="legend-row">
          <span className="swatch" style={{ background: `rgb(${c.join(',')})` }} />
          {classLabel(i)}
        </div>
      ))}
      {lines.length > 0 && (
        <div className="legend-privacy" data-testid="legend-privacy" data-k={privacy.privacyK} data-withheld={privacy.withheld} data-users={privacy.viewUsers ?? ''}>
          {lines.map((l) => <div key={l}>{l}</div>)}
        </div>
      )}
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
  readonly filter: SegmentFilter;
}

export function StatusBar({ state, detail, dataAt, frameAgeMs, cells, replaying, filter }: StatusProps) {
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
      <FilterTag filter={filter} testId="active-filter" />
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
