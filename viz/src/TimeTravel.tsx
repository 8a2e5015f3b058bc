/**
 * Time travel: a scrubber over the last hours that replays stored rollups (`/v1/rollups`, 60 s buckets,
 * the viewport's box and precision) on the map, with play/pause and a button back to the live stream.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { EventType } from '../../actors/model/event.js';
import type { RollupsAnswer } from '../../actors/model/query.js';
import type { Bbox } from '../../actors/model/stream.js';
import { getJson, queryString } from './api.js';
import type { Cell } from './state.js';
import { bucketsOf, replayOf, totalsOf, type Replay } from './timetravel.js';

const STEP_MS = 60_000;
const HOURS = [1, 2, 6, 12, 24] as const;
const PLAY_EVERY_MS = 300;

interface Props {
  readonly viewerKey: string;
  readonly bbox: Bbox;
  readonly precision: number;
  readonly types: readonly EventType[] | undefined;
  readonly active: boolean;
  readonly onActive: (active: boolean) => void;
  /** The bucket to draw (its cells and start time), or null to draw the live stream. */
  readonly onShow: (shown: { cells: readonly Cell[]; at: number; stepS: number } | null) => void;
}

interface Loaded {
  readonly buckets: number[];
  readonly replay: Replay;
  readonly totals: number[];
}

export function TimeTravel({ viewerKey, bbox, precision, types, active, onActive, onShow }: Props) {
  const [hours, setHours] = useState<number>(2);
  const [loaded, setLoaded] = useState<Loaded | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [index, setIndex] = useState(0);
  const [playing, setPlaying] = useState(false);
  const hasLoaded = useRef(false);
  const typesKey = types?.join(',');
  const bboxKey = bbox.join(',');

  // (Re)load while active, when the range, viewport or filters change; debounced for map drags.
  useEffect(() => {
    if (!active) return;
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      const to = Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS;
      const from = to - hours * 3_600_000;
      setError(undefined);
      getJson<RollupsAnswer>(queryString('rollups', { bbox: bboxKey, from, to, precision, types: typesKey, step: STEP_MS / 1000 }), viewerKey, ctl.signal)
        .then((answer) => {
          const buckets = bucketsOf(answer.from, answer.to, answer.stepMs);
          const replay = replayOf(answer);
          // Keep the scrubber where it was when only the viewport changed; start at the end otherwise.
          if (!hasLoaded.current) setIndex(buckets.length - 1);
          hasLoaded.current = true;
          setLoaded({ buckets, replay, totals: totalsOf(replay, buckets) });
        })
        .catch((err: unknown) => {
          if (!ctl.signal.aborted) setError(err instanceof Error ? err.message : String(err));
        });
    }, 400);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [active, hours, bboxKey, precision, typesKey, viewerKey]);

  useEffect(() => {
    if (!active) {
      hasLoaded.current = false;
      setLoaded(undefined);
      setPlaying(false);
    }
  }, [active]);

  const at = loaded?.buckets[Math.min(index, loaded.buckets.length - 1)];
  useEffect(() => {
    if (!active || !loaded || at === undefined) {
      onShow(null);
      return;
    }
    onShow({ cells: loaded.replay.get(at) ?? [], at, stepS: STEP_MS / 1000 });
  }, [active, loaded, at, onShow]);

  useEffect(() => {
    if (!playing || !loaded) return;
    const timer = setInterval(() => {
      setIndex((i) => {
        if (i + 1 >= loaded.buckets.length) {
          setPlaying(false);
          return i;
        }
        return i + 1;
      });
    }, PLAY_EVERY_MS);
    return () => clearInterval(timer);
  }, [playing, loaded]);

  const max = useMemo(() => Math.max(1, ...(loaded?.totals ?? [1])), [loaded]);

  return (
    <footer className={`timetravel ${active ? 'active' : ''}`}>
      {!active ? (
        <button type="button" onClick={() => onActive(true)}>Time travel</button>
      ) : (
        <>
          <button type="button" onClick={() => setPlaying((p) => !p)} disabled={!loaded}>{playing ? 'Pause' : 'Play'}</button>
          <div className="scrub">
            <svg className="histogram" viewBox={`0 0 ${Math.max(1, loaded?.totals.length ?? 1)} 1`} preserveAspectRatio="none">
              {(loaded?.totals ?? []).map((n, i) => (
                <rect key={i} x={i} width={0.9} y={1 - n / max} height={n / max} className={i === index ? 'now' : ''} />
              ))}
            </svg>
            <input
              type="range" min={0} max={Math.max(0, (loaded?.buckets.length ?? 1) - 1)} value={index}
              onChange={(e) => { setPlaying(false); setIndex(Number(e.target.value)); }}
              disabled={!loaded} aria-label="replay time"
            />
          </div>
          <span className="when" data-testid="replay-time">{at !== undefined ? `${new Date(at).toLocaleTimeString()} (60 s)` : error ? '' : 'loading…'}</span>
          <select value={hours} onChange={(e) => setHours(Number(e.target.value))} aria-label="replay range">
            {HOURS.map((h) => <option key={h} value={h}>last {h} h</option>)}
          </select>
          <button type="button" className="live" onClick={() => onActive(false)}>● Live</button>
          {error && <span className="error">⚠ {error}</span>}
        </>
      )}
    </footer>
  );
}
