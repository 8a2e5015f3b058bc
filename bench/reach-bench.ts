/**
 * `adme bench reach`: what reach (unique users, actors/model/sketch.ts) costs and how exact it is, without
 * servers. Three parts, each a ratio or a distribution measured in the same run:
 *
 * - accuracy: seeded trials from 1k to 1M users, merged over 60 windows × 50 cells (bench/reach-accuracy.ts);
 * - state: partition 0 of the runtime bench's catch-up through the real fold, deltas and checkpoints, with
 *   per-segment sketches (the default) and without (`ADME_SEGMENT_REACH=off`): fold cost, heap held,
 *   checkpoint and rollup bytes;
 * - merge: the `/v1/summary` answer over a busy hour of rows (360 windows × 12 partitions), with reach
 *   against the same rows without it.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { captureCheckpoint, checkpointCommitted, emptyState, rollupWrites, takeDelta, type ShardState } from '../actors/logic.js';
import { foldRecords, type AggregationConfig } from '../actors/fold.js';
import { hash32 } from '../actors/hash.js';
import { EVENT_TYPES, Reach, TYPE_INDEX, encode, partitionFor, type AdEvent, type EventBatchRecord } from '../actors/model/index.js';
import { summaryAnswer } from '../gateway/query/answers.js';
import type { StoredRow } from '../gateway/query/rollups.js';
import { accuracyTrial, errorQuantile, mulberry32, type Trial } from './reach-accuracy.js';
import { eventStream } from './runtime-bench.js';

const log = (m: string) => console.error(`[bench reach] ${m}`);

export interface AccuracyRow {
  readonly users: number;
  readonly grid: string;
  readonly trials: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly meanError: number;
}

export interface StateRow {
  readonly name: string;
  readonly events: number;
  readonly foldUsPerEvent: number;
  readonly heapBytes: number | undefined;
  readonly checkpointBytesPerRound: number;
  readonly blockBytes: number;
}

export interface MergeRow {
  readonly name: string;
  readonly rows: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface ReachBenchResult {
  readonly accuracy: AccuracyRow[];
  readonly state: StateRow[];
  readonly merge: MergeRow[];
  readonly users: number;
}

export interface ReachBenchOptions {
  /** Trials per size (the 1M-user size runs a quarter of them, at least 5). */
  readonly trials: number;
  /** Events of the runtime bench's stream folded for the state part (partition 0 keeps ~1/12). */
  readonly events: number;
  /** Base cells per window in the merge part. */
  readonly cells: number;
}

function accuracy(o: ReachBenchOptions): AccuracyRow[] {
  const sizes: [number, number, number, number][] = [
    [1_000, o.trials, 60, 50], [10_000, o.trials, 60, 50], [100_000, Math.max(5, Math.round(o.trials / 2)), 60, 50],
    [1_000_000, Math.max(5, Math.round(o.trials / 4)), 60, 50], [200_000, Math.max(5, Math.round(o.trials / 2)), 10, 1],
  ];
  return sizes.map(([users, trials, windows, cells]) => {
    log(`accuracy: ${trials} trials of ${users.toLocaleString('en-US')} users over ${windows} × ${cells} sketches`);
    const ts: Trial[] = Array.from({ length: trials }, (_, i) => accuracyTrial(users * 7 + i, users, windows, cells));
    return {
      users, grid: `${windows} × ${cells}`, trials, p50: errorQuantile(ts, 0.5), p99: errorQuantile(ts, 0.99), max: errorQuantile(ts, 1),
      meanError: ts.reduce((a, t) => a + t.error, 0) / ts.length,
    };
  });
}

/** A forced full GC, if V8 lets us have one (heap figures are left out otherwise). */
function gcFn(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

function stateRun(name: string, events: readonly AdEvent[], config: AggregationConfig, gc: (() => void) | undefined): StateRow {
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const s: ShardState = emptyState();
  let foldMs = 0;
  let checkpointBytes = 0;
  let rounds = 0;
  let blockBytes = 0;
  const perRound = 2000;
  for (let i = 0; i < events.length; i += perRound) {
    const record = encode({ v: 1, at: 1, events: events.slice(i, i + perRound) } satisfies EventBatchRecord);
    const t0 = performance.now();
    foldRecords(s, { bytes: record, ends: Uint32Array.of(record.length), offsets: Float64Array.of(s.nextOffset) }, config);
    foldMs += performance.now() - t0;
    // A delta per round, as the runtime sends one every 100 ms: it drops each cell's fresh users.
    while (takeDelta(s, config, 0, 1, rounds, 0)) {
      // every changed cell, in as many deltas as it takes
    }
    const c = captureCheckpoint(s);
    checkpointCommitted(s, c);
    checkpointBytes += c.bytes;
    rounds++;
    if (rounds % 5 === 0) {
      const w = rollupWrites(s, config, 0, 1);
      // Blocks as stored (deflated columns). Closed windows stay in memory: the heap figure is of all folded.
      for (const b of [...w.finals, ...w.open]) blockBytes += b.counts.byteLength + b.values.byteLength + b.users.byteLength + (b.segs?.byteLength ?? 0) + (b.reach?.byteLength ?? 0);
    }
  }
  gc?.();
  const heapBytes = gc ? process.memoryUsage().heapUsed - heap0 : undefined;
  return { name, events: events.length, foldUsPerEvent: (foldMs * 1000) / events.length, heapBytes, checkpointBytesPerRound: checkpointBytes / rounds, blockBytes };
}

function state(o: ReachBenchOptions): StateRow[] {
  const stream = eventStream(7, 1_700_000_000_000, 40_000);
  const events: AdEvent[] = [];
  for (let i = 0; i < o.events; i++) {
    const e = stream.next().value as AdEvent;
    if (partitionFor(e.userId, 12) === 0) events.push(e);
  }
  log(`state: ${events.length.toLocaleString('en-US')} events of partition 0, per-segment sketches on, off, on again`);
  const base: AggregationConfig = { precision: 6, windowMs: 10_000, allowedLatenessMs: 30_000 };
  const gc = gcFn();
  return [
    stateRun('per-segment sketches (default)', events, base, gc),
    stateRun('per-cell sketches only (ADME_SEGMENT_REACH=off)', events, { ...base, segmentReach: false }, gc),
    stateRun('per-segment sketches, again', events, base, gc),
  ];
}

/** A busy hour's rows: 360 windows × 12 partitions, `cells` cells per window, a few users each. */
function hourRows(cells: number, withReach: boolean): StoredRow[] {
  const next = mulberry32(99);
  const out: StoredRow[] = [];
  for (let w = 0; w < 360; w++) {
    for (let c = 0; c < cells; c++) {
      const partition = c % 12;
      const sum = new Float64Array(EVENT_TYPES.length + 1);
      const n = 1 + (next() % 4);
      let reach: Reach | undefined;
      if (withReach) reach = new Reach();
      for (let k = 0; k < n; k++) {
        const type = k === 0 ? 'impression' : EVENT_TYPES[next() % 4]!;
        sum[TYPE_INDEX[type]]!++;
        reach?.add(TYPE_INDEX[type], hash32(`u${next() % 200_000}`));
      }
      out.push({ window: w * 10_000, partition, cell: `c${c}`, sum, reach });
    }
  }
  return out;
}

function merge(o: ReachBenchOptions): MergeRow[] {
  return [true, false].map((withReach) => {
    const rows = hourRows(o.cells, withReach);
    log(`merge: /v1/summary over ${rows.length.toLocaleString('en-US')} rows ${withReach ? 'with' : 'without'} reach`);
    const ms: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      summaryAnswer(rows, { from: 0, to: 3_600_000, windowMs: 10_000, privacyK: 10 });
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    return { name: withReach ? 'with reach (sketches merged)' : 'counts only (rows without sketches)', rows: rows.length, p50Ms: ms[Math.floor(ms.length / 2)]!, p99Ms: ms.at(-1)! };
  });
}

export function runReachBench(o: ReachBenchOptions): ReachBenchResult {
  const users = summaryAnswer(hourRows(o.cells, true), { from: 0, to: 3_600_000, windowMs: 10_000, privacyK: 0 }).users;
  return { accuracy: accuracy(o), state: state(o), merge: merge(o), users };
}

export function reachBenchMarkdown(r: ReachBenchResult): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
  const kib = (n: number) => `${(n / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} KiB`;
  const [on, off] = r.state;
  const lines = [
    '**Accuracy** (relative error of the merged estimate, seeded trials)',
    '',
    '| users | sketches merged (windows × cells) | trials | p50 | p99 | max | mean error |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
    ...r.accuracy.map((a) => `| ${a.users.toLocaleString('en-US')} | ${a.grid} | ${a.trials} | ${pct(a.p50)} | ${pct(a.p99)} | ${pct(a.max)} | ${pct(a.meanError)} |`),
    '',
    '**State** (partition 0 of the runtime bench\'s catch-up, the real fold, a delta and a checkpoint every 2 000 events)',
    '',
    '| run | events | fold µs/event | heap held | checkpoint bytes per round | rollup block bytes |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...r.state.map((s) => `| ${s.name} | ${s.events.toLocaleString('en-US')} | ${s.foldUsPerEvent.toFixed(2)} | ${s.heapBytes === undefined ? 'n/a' : kib(s.heapBytes)} | ${kib(s.checkpointBytesPerRound)} | ${kib(s.blockBytes)} |`),
  ];
  if (on && off) {
    lines.push('', `Per-segment sketches ÷ without: fold ${(on.foldUsPerEvent / off.foldUsPerEvent).toFixed(2)}×, heap ${on.heapBytes && off.heapBytes ? (on.heapBytes / off.heapBytes).toFixed(2) : 'n/a'}×, checkpoint bytes ${(on.checkpointBytesPerRound / off.checkpointBytesPerRound).toFixed(2)}×, block bytes ${(on.blockBytes / off.blockBytes).toFixed(2)}×.`);
  }
  lines.push(
    '',
    `**Merge** (\`/v1/summary\` of a busy hour, ${r.users.toLocaleString('en-US')} unique users, 12 runs)`,
    '',
    '| run | rows | p50 | p99 |',
    '| --- | ---: | ---: | ---: |',
    ...r.merge.map((m) => `| ${m.name} | ${m.rows.toLocaleString('en-US')} | ${m.p50Ms.toFixed(1)} ms | ${m.p99Ms.toFixed(1)} ms |`),
  );
  return lines.join('\n');
}
