/**
 * Time travel: a scrubber over the last hours that replays stored rollups on the map (60 s buckets, the
 * viewport's box and precision, the selected types, apps and campaigns), with play/pause and a button
 * back to the live stream. Each bucket is one `/v1/rollups` request, cached while the viewport and
 * filters stay; the histogram under the scrubber comes from the summary's 10 s series over the same box
 * and filter.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { EventType } from '../../actors/model/event.js';
import type { FilterEcho, RollupsAnswer, SummaryAnswer } from '../../actors/model/query.js';
import { filterKey, type SegmentFilter } from '../../actors/model/segment.js';
import type { Bbox } from '../../actors/model/stream.js';
import { getJson, queryString } from './api.js';
import { FilterTag } from './Controls.js';
import { checkEcho, filterParams } from './filter.js';
import { answerPrivacy, type ViewPrivacy } from './reach.js';
import type { Cell } from './state.js';
import { bucketTotals, bucketsOf, replayOf } from './timetravel.js';

const STEP_MS = 60_000;
const HOURS = [1, 2, 6, 12, 24] as const;
const PLAY_EVERY_MS = 300;

export interface ReplayShown {
  readonly cells: readonly Cell[];
  readonly at: number;
  readonly stepS: number;
  /** The floor the bucket's answer applied, and how many of its cells it held back. */
  readonly privacy: ViewPrivacy;
}

/** One replayed bucket as loaded. */
interface Bucket {
  readonly cells: readonly Cell[];
  readonly privacy: ViewPrivacy;
}

interface Props {
  readonly viewerKey: string;
  readonly bbox: Bbox;
  readonly precision: number;
  readonly types: readonly EventType[] | undefined;
  readonly filter: SegmentFilter;
  readonly active: boolean;
  readonly onActive: (active: boolean) => void;
  /** The bucket to draw, or null to draw the live stream. */
  readonly onShow: (shown: ReplayShown | null) => void;
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function TimeTravel({ viewerKey, bbox, precision, types, filter, active, onActive, onShow }: Props) {
  const [hours, setHours] = useState<number>(2);
  const [buckets, setBuckets] = useState<number[] | undefined>();
  const [totals, setTotals] = useState<number[]>([]);
  const [index, setIndex] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [shownAt, setShownAt] = useState<number | undefined>();
  const typesKey = types?.join(',');
  const bboxKey = bbox.join(',');
  const fk = filterKey(filter);
  /** Buckets loaded (or loading) for the current box, precision, types and filter. */
  const cache = useRef(new Map<number, Promise<Bucket>>());

  // The range: when time travel opens or the range length changes.
  useEffect(() => {
    if (!active) {
      setBuckets(undefined);
      setPlaying(false);
      setShownAt(undefined);
      return;
    }
    const to = Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS;
    const b = bucketsOf(to - hours * 3_600_000, to, STEP_MS);
    setBuckets(b);
    setIndex(b.length - 1);
  }, [active, hours]);

  // Its histogram: for the range, and again when the filter changes (the scrubber stays where it is).
  useEffect(() => {
    setTotals(buckets ? buckets.map(() => 0) : []);
    if (!buckets || buckets.length === 0) return;
    const ctl = new AbortController();
    setError(undefined);
    getJson<SummaryAnswer & FilterEcho>(queryString('summary', { from: buckets[0]!, to: buckets[buckets.length - 1]! + STEP_MS, bbox: bboxKey, ...filterParams(filter) }), viewerKey, ctl.signal)
      .then((s) => {
        checkEcho(filter, s);
        setTotals(bucketTotals(s.series, buckets, STEP_MS));
      })
      .catch((err: unknown) => { if (!ctl.signal.aborted) setError(errText(err)); });
    return () => ctl.abort();
    // The histogram is not refetched for every pan: it follows the box it opened with.
  }, [buckets, fk, viewerKey]);

  useEffect(() => {
    cache.current = new Map();
  }, [bboxKey, precision, typesKey, fk, viewerKey]);

  const load = useCallback((at: number): Promise<Bucket> => {
    let p = cache.current.get(at);
    if (!p) {
      const q = queryString('rollups', { bbox: bboxKey, from: at, to: at + STEP_MS, precision, types: typesKey, step: STEP_MS / 1000, ...filterParams(filter) });
      p = getJson<RollupsAnswer & FilterEcho>(q, viewerKey).then((a) => {
        checkEcho(filter, a);
        // One bucket asked, so the answer's withheld count is that bucket's.
        return { cells: replayOf(a).get(at) ?? [], privacy: answerPrivacy(a) };
      });
      const mine = cache.current;
      p.catch(() => mine.delete(at)); // a failed bucket is asked again next time
      mine.set(at, p);
    }
    return p;
    // `filter` changes exactly when its key does (it is the page's state).
  }, [bboxKey, precision, typesKey, filter, viewerKey]);

  // Draw the bucket under the scrubber (debounced for drags); while playing, fetch the next one too.
  const at = buckets?.[Math.min(index, buckets.length - 1)];
  useEffect(() => {
    if (!active || at === undefined) {
      onShow(null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      load(at).then(({ cells, privacy }) => {
        if (!live) return;
        setError(undefined);
        setShownAt(at);
        onShow({ cells, at, stepS: STEP_MS / 1000, privacy });
      }, (err: unknown) => { if (live) setError(errText(err)); });
      if (playing) void load(at + STEP_MS).catch(() => undefined);
    }, playing ? 0 : 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [active, at, load, onShow, playing]);

  // Playing: step on once the current bucket is drawn.
  useEffect(() => {
    if (!playing || !buckets || shownAt !== at) return;
    const timer = setTimeout(() => {
      if (index + 1 >= buckets.length) setPlaying(false);
      else setIndex(index + 1);
    }, PLAY_EVERY_MS);
    return () => clearTimeout(timer);
  }, [playing, buckets, shownAt, at, index]);

  const max = useMemo(() => Math.max(1, ...totals), [totals]);

  if (!active) {
    return (
      <footer className="timetravel">
        <button type="button" onClick={() => onActive(true)}>Time travel</button>
        <span className="muted">replay the stored rollups of the last hours on this map</span>
      </footer>
    );
  }
  return (
    <footer className="timetravel active">
      <button type="button" onClick={() => setPlaying((p) => !p)} disabled={!buckets}>{playing ? 'Pause' : 'Play'}</button>
      <div className="scrub">
        <svg className="histogram" viewBox={`0 0 ${Math.max(1, totals.length)} 1`} preserveAspectRatio="none" aria-hidden="true">
          {totals.map((n, i) => (
            <rect key={i} x={i} width={0.9} y={1 - n / max} height={n / max} className={i === index ? 'now' : ''} />
          ))}
        </svg>
        <input
          type="range" min={0} max={Math.max(0, (buckets?.length ?? 1) - 1)} value={index}
          onChange={(e) => { setPlaying(false); setIndex(Number(e.target.value)); }}
          disabled={!buckets} aria-label="replay time"
        />
      </div>
      <span className="when" data-testid="replay-time" data-value={shownAt ?? ''}>
        {shownAt !== undefined ? `${new Date(shownAt).toLocaleTimeString()} + 60 s` : 'loading…'}
      </span>
      <select value={hours} onChange={(e) => setHours(Number(e.target.value))} aria-label="replay range">
        {HOURS.map((h) => <option key={h} value={h}>last {h} h</option>)}
      </select>
      <FilterTag filter={filter} testId="replay-filter" />
      <button type="button" className="live" onClick={() => onActive(false)}>● Live</button>
      {error && <span className="error">⚠ {error}</span>}
    </footer>
  );
}
