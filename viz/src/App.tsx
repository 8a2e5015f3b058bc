/** The page: key prompt, then the live map with its controls, dashboard and time travel. */
import { FlyToInterpolator, WebMercatorViewport, type Layer, type MapViewState, type PickingInfo } from '@deck.gl/core';
import DeckGL, { type DeckGLRef } from '@deck.gl/react';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { EVENT_TYPES, type EventType } from '../../actors/model/event.js';
import type { SegmentsAnswer } from '../../actors/model/query.js';
import type { SegmentFilter } from '../../actors/model/segment.js';
import { precisionForZoom, type CellsFrame } from '../../actors/model/stream.js';
import { filterFromAddress, showFilterInAddress } from './address.js';
import { ApiError, getJson, queryString } from './api.js';
import { FINE_FROM_ZOOM, loadCountries, type Countries, type Detail } from './basemap.js';
import { Filters, KeyPrompt, Legend, StatusBar } from './Controls.js';
import { Dashboard, SUMMARY_SPAN_MS, type Place } from './Dashboard.js';
import { drillRange, type DrillRequest } from './drill.js';
import { DrillPanel } from './DrillPanel.js';
import { subscribeFields } from './filter.js';
import type { SummaryShown } from './hooks.js';
import { baseMapLayer, cellLayer, heatLayer, type MapMode } from './layers.js';
import { bboxOf, dashboardRange, sameBbox, type ConnState } from './protocol.js';
import { NO_PRIVACY, formatFrequency, formatUsers, frequencyOf, type ViewPrivacy } from './reach.js';
import { CellMap, columnsOf, type Cell, type CellColumns } from './state.js';
import { StreamClient, streamUrl, type Subscription } from './stream.js';
import { TimeTravel, type ReplayShown } from './TimeTravel.js';
import { forgetKey, saveKey, takeKey } from './key.js';
import { hooks } from './test-hooks.js';
import { usePoll } from './usePoll.js';

const INITIAL_VIEW: MapViewState = { longitude: 10, latitude: 25, zoom: 1, pitch: 0, bearing: 0 };
/** Coalesce viewport changes (drags, fly-to) into one subscribe. */
const SUBSCRIBE_DEBOUNCE_MS = 250;
/** How often the app and campaign choices are reloaded (/v1/segments over the dashboard's 15 minutes). */
const SEGMENTS_EVERY_MS = 15_000;

export function App() {
  const [key, setKey] = useState<string | null>(() => takeKey());
  const [keyError, setKeyError] = useState<string | undefined>();
  const onBadKey = useCallback((message: string) => {
    forgetKey();
    setKeyError(message);
    setKey(null);
  }, []);
  if (!key) return <KeyPrompt error={keyError} onKey={(k) => { saveKey(k); setKeyError(undefined); setKey(k); }} />;
  return <Viewer viewerKey={key} onBadKey={onBadKey} />;
}

function Viewer({ viewerKey, onBadKey }: { readonly viewerKey: string; readonly onBadKey: (message: string) => void }) {
  const [viewState, setViewState] = useState<MapViewState>(INITIAL_VIEW);
  const [size, setSize] = useState({ width: 0, height: 0 });
  const [mode, setMode] = useState<MapMode>('heatmap');
  const [baseShown, setBaseShown] = useState(true);
  const [types, setTypes] = useState<EventType[]>([...EVENT_TYPES]);
  const [windowS, setWindowS] = useState(60);
  // The app and campaign filter starts from the address bar (a shared link) and is kept there.
  const [filter, setFilter] = useState<SegmentFilter>(filterFromAddress);
  const [conn, setConn] = useState<{ state: ConnState; detail: string }>({ state: 'connecting', detail: '' });
  const [shapes, setShapes] = useState<Partial<Record<Detail, Countries>>>({});
  const [baseError, setBaseError] = useState<string | undefined>();
  const [live, setLive] = useState<{ cols: CellColumns; version: number; dataAt: number; frameAgeMs: number | undefined; privacy: ViewPrivacy }>({ cols: columnsOf([]), version: 0, dataAt: 0, frameAgeMs: undefined, privacy: NO_PRIVACY });
  const [replaying, setReplaying] = useState(false);
  const [replay, setReplay] = useState<ReplayShown | null>(null);
  const [hover, setHover] = useState<PickingInfo<Cell> | null>(null);
  const [streamError, setStreamError] = useState<string | undefined>();
  /** The cell whose raw events the side panel lists, and when it was clicked (the live range ends there). */
  const [drill, setDrill] = useState<{ cell: string; at: number } | null>(null);

  const mapRef = useRef<HTMLDivElement>(null);
  const deckRef = useRef<DeckGLRef>(null);
  const cellMap = useRef(new CellMap());
  const stream = useRef<StreamClient | null>(null);

  const detail: Detail = viewState.zoom >= FINE_FROM_ZOOM ? 'fine' : 'coarse';
  const loadingShapes = useRef(new Set<Detail>());
  useEffect(() => {
    if (loadingShapes.current.has(detail)) return;
    loadingShapes.current.add(detail);
    loadCountries(detail).then((c) => setShapes((s) => ({ ...s, [detail]: c })), (err: unknown) => setBaseError(String(err)));
  }, [detail]);
  // Until the fine shapes arrive, the coarse ones stand in.
  const countries = shapes[detail] ?? shapes.coarse;

  // Map size, for the subscription box.
  useEffect(() => {
    const el = mapRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setSize({ width: el.clientWidth, height: el.clientHeight }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const precision = precisionForZoom(viewState.zoom);
  const bbox = useMemo(() => {
    if (size.width === 0 || size.height === 0) return undefined;
    const vp = new WebMercatorViewport({ ...viewState, width: size.width, height: size.height });
    return bboxOf(vp.getBounds());
  }, [viewState, size]);
  const [subBbox, setSubBbox] = useState(bbox);
  useEffect(() => {
    const t = setTimeout(() => setSubBbox((prev) => (bbox && prev && sameBbox(prev, bbox) ? prev : bbox)), SUBSCRIBE_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [bbox]);
  const typesParam = useMemo(() => (types.length === EVENT_TYPES.length ? undefined : types), [types]);

  useEffect(() => {
    hooks.filter = { apps: filter.apps, campaigns: filter.campaigns };
    showFilterInAddress(filter);
  }, [filter]);

  const onAuthError = useCallback((err: unknown) => {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) onBadKey(`The key was refused: ${err.message}`);
  }, [onBadKey]);

  // The filter choices: apps and campaigns seen anywhere in the last 15 minutes, busiest first.
  const segments = usePoll(async (signal) => {
    const { from, to } = dashboardRange(Date.now(), SUMMARY_SPAN_MS);
    const query = queryString('segments', { from, to });
    return { query, answer: await getJson<SegmentsAnswer>(query, viewerKey, signal) };
  }, SEGMENTS_EVERY_MS, [viewerKey], onAuthError);
  useEffect(() => {
    if (!segments.data) return;
    const { query, answer } = segments.data;
    hooks.segments = { query, apps: answer.apps.map((a) => a.id), campaigns: answer.campaigns.map((c) => c.id) };
  }, [segments.data]);

  // The stream: one client per key; frames go into the cell map, then one set of columns per frame.
  useEffect(() => {
    const map = cellMap.current;
    const client = new StreamClient(streamUrl(viewerKey), {
      onFrame(frame: CellsFrame) {
        try {
          map.apply(frame);
        } catch (err) {
          setStreamError(String(err));
          return false;
        }
        hooks.frames++;
        hooks.lastFrame = { type: frame.type, seq: frame.seq, sub: frame.sub, rows: frame.cells.length, at: frame.at, dataAt: frame.dataAt, windowS: frame.windowS, precision: frame.precision };
        hooks.privacy = map.privacy;
        // A heartbeat (empty delta) only refreshes the freshness numbers: nothing to redraw.
        const changed = frame.type === 'snapshot' || frame.cells.length > 0;
        if (changed) {
          hooks.mapVersion++;
          hooks.cells = map.size;
          hooks.cellTotal = map.total();
        }
        setLive((prev) => ({
          cols: changed ? map.columns() : prev.cols,
          version: changed ? prev.version + 1 : prev.version,
          dataAt: frame.dataAt || prev.dataAt,
          frameAgeMs: frame.oldestAt > 0 ? frame.at - frame.oldestAt : prev.frameAgeMs,
          privacy: map.privacy,
        }));
        return changed;
      },
      onState(state, detail) {
        hooks.connection = state;
        setConn({ state, detail });
      },
      onServerError: setStreamError,
      onSubscribed(msg) {
        hooks.subscribed = msg;
        hooks.subscribes++;
      },
    });
    stream.current = client;
    client.start();
    return () => {
      client.stop();
      stream.current = null;
      map.clear();
    };
  }, [viewerKey]);

  useEffect(() => {
    if (!subBbox) return;
    const sub: Subscription = { bbox: subBbox, precision, windowS, ...(typesParam ? { types: typesParam } : {}), ...subscribeFields(filter) };
    stream.current?.subscribe(sub);
  }, [subBbox, precision, windowS, typesParam, filter]);
  const onSummaryShown = useCallback((s: SummaryShown) => {
    hooks.summaryShown = s;
  }, []);
  const onFly = useCallback((p: Place) => {
    setViewState((vs) => ({ ...vs, longitude: p.lon, latitude: p.lat, zoom: Math.max(vs.zoom, 7), transitionDuration: 1500, transitionInterpolator: new FlyToInterpolator() }));
  }, []);
  const onReplayActive = useCallback((active: boolean) => {
    setReplaying(active);
    if (!active) setReplay(null);
    // Back to live (or into time travel): the panel's live range ends now, not at the click.
    setDrill((d) => d && { ...d, at: Date.now() });
  }, []);
  const onCellClick = useCallback((info: PickingInfo<Cell>) => {
    if (info.object) setDrill({ cell: info.object.cell, at: Date.now() });
  }, []);
  const onReplayShow = useCallback((shown: ReplayShown | null) => {
    hooks.replay = shown ? { at: shown.at, cells: shown.cells.length, total: shown.cells.reduce((n, c) => n + c.total, 0), privacy: shown.privacy } : null;
    setReplay(shown);
  }, []);

  // Replay columns are rebuilt when the scrubber moves; live ones once per applied frame.
  const replayCols = useMemo(() => (replay ? columnsOf(replay.cells) : undefined), [replay]);
  const cols = replaying && replayCols ? replayCols : live.cols;
  const version = replaying && replay ? -replay.at : live.version;

  // Layers are rebuilt only when their data changes: every deck redraw is costly on a software renderer.
  const baseLayer = useMemo(() => (countries ? baseMapLayer(countries) : undefined), [countries]);
  const dataLayer = useMemo(() => (mode === 'heatmap' ? heatLayer(cols, version) : cellLayer(cols.cells, version, setHover, onCellClick)), [mode, cols, version, onCellClick]);
  const layers: Layer[] = baseLayer && baseShown ? [baseLayer, dataLayer] : [dataLayer];

  hooks.mode = mode;
  hooks.flyTo = (longitude, latitude, zoom) => setViewState((vs) => ({ ...vs, longitude, latitude, zoom }));
  hooks.showBaseMap = setBaseShown;
  hooks.project = (lon, lat) => {
    const vp = deckRef.current?.deck?.getViewports()[0];
    const rect = mapRef.current?.getBoundingClientRect();
    if (!vp || !rect) throw new Error('the map is not drawn yet');
    const [x, y] = vp.project([lon, lat]);
    return [rect.left + x!, rect.top + y!];
  };

  // The panel follows the replayed bucket, the types and the app and campaign filter. A new object per
  // render is fine: the panel reloads only when the query it makes of it changes.
  const drillReplay = replaying ? replay : null;
  const drillRequest: DrillRequest | null = drill && { cell: drill.cell, ...drillRange(drill.at, drillReplay), types: typesParam, filter };

  const hasBaseMap = countries !== undefined;
  const onAfterRender = useCallback(() => {
    const version = hooks.mapVersion;
    requestAnimationFrame(() => {
      // On screen now (onAfterRender can come before the frame is presented): ask for the next frame.
      stream.current?.drawn();
      requestAnimationFrame(() => {
        hooks.renders++;
        hooks.renderedVersion = version;
        if (hasBaseMap && version > 0) hooks.ready = true;
      });
    });
  }, [hasBaseMap]);

  return (
    <div className="app">
      <header>
        <h1>AdME</h1>
        <Filters
          types={types} onTypes={setTypes} windowS={windowS} onWindow={setWindowS} filter={filter} onFilter={setFilter}
          segments={segments.data?.answer} segmentsError={segments.error} mode={mode} onMode={setMode}
        />
        <StatusBar state={conn.state} detail={conn.detail} dataAt={live.dataAt} frameAgeMs={live.frameAgeMs} cells={cols.length} replaying={replaying} filter={filter} />
      </header>
      <main>
        <div className="map" ref={mapRef}>
          <DeckGL
            ref={deckRef}
            viewState={viewState}
            onViewStateChange={({ viewState: vs }) => setViewState(vs)}
            controller={{ dragRotate: false, touchRotate: false }}
            layers={layers}
            deviceProps={{ type: 'webgl', webgl: { antialias: false } }}
            onAfterRender={onAfterRender}
            getTooltip={null}
          />
          <Legend precision={precision} filter={filter} privacy={replaying && replay ? replay.privacy : live.privacy} />
          {hover?.object && mode === 'cells' && <CellTooltip cell={hover.object} x={hover.x} y={hover.y} windowS={replaying && replay ? replay.stepS : windowS} />}
          {(baseError ?? streamError) && <div className="map-error">⚠ {baseError ?? streamError}</div>}
          {drillRequest && (
            <DrillPanel viewerKey={viewerKey} request={drillRequest} replayed={drillReplay !== null} onClose={() => setDrill(null)} onAuthError={onAuthError} />
          )}
        </div>
        <Dashboard viewerKey={viewerKey} types={types} filter={filter} onFly={onFly} onSummaryShown={onSummaryShown} onAuthError={onAuthError} />
      </main>
      {subBbox && <TimeTravel viewerKey={viewerKey} bbox={subBbox} precision={precision} types={typesParam} filter={filter} active={replaying} onActive={onReplayActive} onShow={onReplayShow} />}
    </div>
  );
}

const IMPRESSION = EVENT_TYPES.indexOf('impression');

function CellTooltip({ cell, x, y, windowS }: { readonly cell: Cell; readonly x: number; readonly y: number; readonly windowS: number }) {
  // Impressions per user who saw one (not per user of the selected types, which may not include impressions).
  const frequency = frequencyOf(cell.counts[IMPRESSION] ?? 0, cell.impressionUsers);
  return (
    <div className="tooltip" style={{ left: x + 12, top: y + 12 }} data-testid="cell-tooltip">
      <b>{cell.cell}</b> · {cell.rate.toFixed(2)} events/s ({cell.total.toLocaleString('en-US')} in {windowS} s)
      <table>
        <tbody>
          {EVENT_TYPES.map((t, i) => <tr key={t}><td>{t}</td><td>{cell.counts[i]!.toLocaleString('en-US')}</td></tr>)}
          <tr><td>value</td><td>{cell.value.toFixed(2)}</td></tr>
          {/* Only what the stream said: a row without users is unknown reach, not zero. */}
          {cell.users !== undefined && <tr><td title="unique users with an event of the selected types">users (reach)</td><td data-testid="tooltip-users">{formatUsers(cell.users)}</td></tr>}
          {frequency !== null && <tr><td title="impressions ÷ unique users who saw one">frequency</td><td data-testid="tooltip-frequency">{formatFrequency(frequency)}</td></tr>}
        </tbody>
      </table>
    </div>
  );
}
