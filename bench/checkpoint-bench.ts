/**
 * `adme bench checkpoint`: what checkpoints of one partition's state write and hold, without servers.
 * The runtime bench's event model goes through the real fold (actors/fold.ts); a checkpoint is taken
 * every round and committed to an in-memory store, the way the Cassandra store does (parts passed as
 * unchanged are kept, parts left out are dropped), and closed windows are evicted every 5 rounds, as
 * the rollup cadence does. Deterministic: the numbers depend on the code, not on the machine's load.
 */
import { partMsgpack } from '../actors/blocks.js';
import { CHANGED_CHECKPOINT, captureCheckpoint, markChanged, checkpointCommitted, emptyState, finalsWritten, restoreCheckpoint, rollupWrites } from '../actors/logic.js';
import { encode, partitionFor, type AdEvent, type EventBatchRecord } from '../actors/model/index.js';
import { foldRecords, type AggregationConfig } from '../actors/fold.js';
import { eventStream } from './runtime-bench.js';

const CONFIG: AggregationConfig = { precision: 6, windowMs: 10_000, allowedLatenessMs: 30_000 };
const PARTITIONS = 12;
const ROLLUP_EVERY_ROUNDS = 5;

export interface CheckpointScenario {
  readonly name: string;
  readonly rounds: number;
  /** Bytes written per round as stored (window parts deflated; mean, max), and their msgpack before deflating. */
  readonly meanBytes: number;
  readonly maxBytes: number;
  readonly meanPlainBytes: number;
  readonly meanEncodeMs: number;
  /** At the end: bytes the committed checkpoint holds, its parts, the live cells, and the bytes of the
   * live state written whole (a fresh checkpoint of the state restored from the store). */
  readonly heldBytes: number;
  readonly heldParts: number;
  readonly liveCells: number;
  readonly liveBytes: number;
}

/** Partition 0's share of `events` events of the stream, one checkpoint per `perRound` of them. */
function scenario(name: string, events: Generator<AdEvent>, total: number, perRound: number, config: AggregationConfig = CONFIG): CheckpointScenario {
  const s = emptyState();
  let store = new Map<string, Uint8Array>();
  const bytes: number[] = [];
  let plain = 0;
  let encodeMs = 0;
  let round: AdEvent[] = [];
  for (let i = 0; i < total; i++) {
    const e = events.next().value as AdEvent;
    if (partitionFor(e.userId, PARTITIONS) !== 0) continue;
    round.push(e);
    if (round.length < perRound) continue;
    const record = encode({ v: 1, at: 1, events: round } satisfies EventBatchRecord);
    foldRecords(s, { bytes: record, ends: Uint32Array.of(record.length), offsets: Float64Array.of(s.nextOffset) }, config);
    round = [];
    const t0 = performance.now();
    const c = captureCheckpoint(s);
    encodeMs += performance.now() - t0;
    const next = new Map<string, Uint8Array>();
    for (const [part, b] of c.parts) {
      next.set(part, b ?? store.get(part)!);
      if (b) plain += partMsgpack(b).byteLength;
    }
    store = next;
    checkpointCommitted(s, c);
    bytes.push(c.bytes);
    if (bytes.length % ROLLUP_EVERY_ROUNDS === 0) finalsWritten(s, rollupWrites(s, config, 0, 1).finalWindows);
  }
  const n = bytes.length;
  return {
    name, rounds: n, meanBytes: bytes.reduce((a, b) => a + b, 0) / n, maxBytes: Math.max(...bytes), meanPlainBytes: plain / n, meanEncodeMs: encodeMs / n,
    heldBytes: [...store.values()].reduce((a, b) => a + b.byteLength, 0), heldParts: store.size, liveCells: s.cellCount,
    liveBytes: wholeStateBytes(store, s.nextOffset),
  };
}

/** Bytes of the state in `store` written as a first checkpoint would: every window one base part. */
function wholeStateBytes(store: ReadonlyMap<string, Uint8Array>, nextOffset: number): number {
  const s = restoreCheckpoint(nextOffset, store);
  s.checkpointLayout.clear();
  for (const cells of s.windows.values()) for (const cw of cells.values()) markChanged(s, cw, CHANGED_CHECKPOINT);
  return captureCheckpoint(s).bytes;
}

/**
 * A hostile producer: every event in one cell (Paris) under a campaign id never seen before, at
 * `rate` events/s of event time. Without a cap, the cell's segment list grows with every event.
 */
function* freshCampaignEverywhere(start: number, rate: number): Generator<AdEvent> {
  for (let i = 0; ; i++) {
    yield { userId: `u${i % 5000}`, type: 'impression', ts: start + Math.floor((i * 1000) / rate), lat: 48.8566, lon: 2.3522, appId: 'app-1', campaignId: `c-${i}` };
  }
}

export function runCheckpointBench(): CheckpointScenario[] {
  const start = Date.UTC(2026, 0, 1);
  return [
    // The runtime bench's catch-up: 2M events at 20k events/s of event time, ~12k per partition per round.
    scenario('catch-up (2M events, 12k per partition per round)', eventStream(1, start, 20_000), 2_000_000, 12_000),
    // Its live run: 50k events/s with event time = wall time, one round per second (~4.2k per partition).
    scenario('live (50k events/s for 120 s, 1 round/s)', eventStream(7, start, 50_000), 50_000 * 120, 4_170),
    // The same two without app and campaign: what the segments add.
    scenario('catch-up, no app or campaign', eventStream(1, start, 20_000, false), 2_000_000, 12_000),
    scenario('live, no app or campaign', eventStream(7, start, 50_000, false), 50_000 * 120, 4_170),
    // A producer naming a new campaign in every event, all in one cell: the segment cap's case.
    scenario('one cell, a new campaign per event (12k events/s, 60 s), cap 64', freshCampaignEverywhere(start, 12_000), 12_000 * 60, 1_000),
    scenario('the same without a cap', freshCampaignEverywhere(start, 12_000), 12_000 * 60, 1_000, { ...CONFIG, maxSegmentsPerCell: Number.MAX_SAFE_INTEGER }),
  ];
}

export function checkpointBenchMarkdown(rs: readonly CheckpointScenario[]): string {
  const kib = (n: number) => `${(n / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} KiB`;
  return [
    '| partition 0 of 12 | rounds | written per round (mean, as stored) | max | msgpack before deflating (mean) | encode per round | held at the end | parts held | live cells | live state written whole |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rs.map((r) => `| ${r.name} | ${r.rounds} | ${kib(r.meanBytes)} | ${kib(r.maxBytes)} | ${kib(r.meanPlainBytes)} | ${r.meanEncodeMs.toFixed(1)} ms | ${kib(r.heldBytes)} | ${r.heldParts} | ${r.liveCells} | ${kib(r.liveBytes)} |`),
  ].join('\n');
}
