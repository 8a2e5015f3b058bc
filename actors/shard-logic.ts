/**
 * The shard: owner of one partition of `adme.events.v1`, as a state machine `step(state, message) →
 * effects` (runtime/core/logic.ts) that lives on the worker thread owning the partition. It holds the
 * partition's next offset, its ownership epoch and the geohash × window aggregation (logic.ts), decodes
 * and folds the records it is handed, and asks for I/O as effects:
 *
 *   save (the round's raw events as archive blocks by area and hour, beside the state's rows;
 *         then state + next offset, one conditional write fenced by the epoch) ─▶ Cassandra
 *   then docs: rollups (final blocks, versioned open ones), late and invalid events ─▶ MongoDB
 *   then commit (the offset, for monitoring tools only)                  ─▶ Kafka consumer group
 *   send: deltas (changed cells, ≤ one per deltaEveryMs)                  ─▶ Kafka adme.deltas.v1
 *
 * One checkpoint round at a time: save (with the archive), then docs, then commit. Rollups are written only from a state
 * that has been checkpointed, so MongoDB never runs ahead of Cassandra, and a restore re-sends everything
 * it holds: exactly-once effect through crashes. Deltas go out on their own interval whatever a round
 * is doing: a save in flight never holds a delta back, and a tick that finds a round due only sends the
 * delta and asks itself for the round (ShardSelfMsg). Every outcome comes back as a message, so every
 * change of the state happens inside a step.
 */
import type { ActorLogic, ArchiveBlock, Clock, DocWrite, SelfMessage, ShardHostMsg, ShardPortEffect, ShardStart } from '../runtime/index.js';
import {
  INVALID_EVENTS_COLLECTION, LATE_EVENTS_COLLECTION, OPEN_ROLLUPS_COLLECTION, ROLLUPS_COLLECTION, encodeOwned, type FinalBlock,
} from './model/index.js';
import {
  captureSteps, checkpointCommitted, checkpointFailed, emptyState, finalsWritten, holdsClosedWindow, invalidDocs, lateDocs, restoreCheckpoint, rollupsFailed, rollupWriteSteps, takeDelta,
  type CheckpointCapture, type RollupWrites, type ShardState,
} from './logic.js';
import { foldRecords, type AggregationConfig } from './fold.js';
import { ArchiveCollector } from './archive.js';

export interface ShardSettings {
  readonly checkpointEveryMs: number;
  readonly checkpointEveryEvents: number;
  /** Past this many events not yet checkpointed, the shard stops taking batches (backpressure). */
  readonly maxUncheckpointedEvents: number;
  readonly rollupEveryMs: number;
  /**
   * Open windows' documents are rewritten at most this often (default: `rollupEveryMs`); finals go out
   * every `rollupEveryMs`. ADME_OPEN_ROLLUP_MS, docs/runtime.md.
   */
  readonly openRollupEveryMs?: number;
  readonly deltaEveryMs: number;
  /** Checkpoints and rollups on (normal) or off (benchmark of the checkpoint tax only). */
  readonly sinks: boolean;
  /** Raw events archived before each checkpoint (ADME_ARCHIVE; only with sinks on). */
  readonly archive?: boolean;
  /**
   * A round's encoding (checkpoint parts, rollup documents) goes on in another step once a step has
   * encoded this many cells, so the other shards of the thread get their turn (ADME_ENCODE_SLICE_CELLS).
   */
  readonly encodeSliceCells?: number;
}

/** Default of {@link ShardSettings.encodeSliceCells}: about 10 ms of encoding on the bench machine. */
export const ENCODE_SLICE_CELLS = 4096;

/** The shard's configuration, carried in its start input. */
export interface ShardConfig {
  readonly aggregation: AggregationConfig;
  readonly settings: ShardSettings;
  readonly deltasTopic: string;
  /** Spread of the first checkpoint over the interval, 0..1 (so shards do not all save at once). */
  readonly phase: number;
}

/** Effects of AdME's own, beside the runtime's port effects: the process turns them into metrics. */
export type ShardMetricEffect =
  | { readonly type: 'm.batch'; readonly events: number; readonly late: number; readonly invalid: number; readonly duplicates: number; readonly otherSegment: number; readonly foldAgeMs: number | null }
  | { readonly type: 'm.checkpoint'; readonly bytes: number; readonly ms: number; readonly encodeMs: number }
  | { readonly type: 'm.checkpointFailure' }
  | { readonly type: 'm.archive'; readonly blocks: number; readonly events: number; readonly bytes: number; readonly ms: number }
  | { readonly type: 'm.rollups'; readonly finals: number; readonly existing: number; readonly open: number; readonly stale: number; readonly ms: number }
  /** One delta send acknowledged: each record's age, the wait for the main thread, the send itself. */
  | { readonly type: 'm.deltas'; readonly agesMs: readonly number[]; readonly waitMs: number; readonly sendMs: number }
  | { readonly type: 'm.gap'; readonly records: number }
  | { readonly type: 'm.epoch'; readonly epoch: number }
  | { readonly type: 'm.stalled'; readonly on: boolean }
  | { readonly type: 'm.cells'; readonly cells: number }
  | { readonly type: 'm.fenced' };

/**
 * The shard's messages to itself. `round`: start the checkpoint round that a tick found due. A tick only
 * sends the delta; the round runs as a step of its own behind what the thread has queued, so it never
 * holds back this shard's delta nor the other shards' ticks. `encode`: go on with the round's encoding,
 * which is sliced (a catch-up's round encodes tens of thousands of cells, 100 ms and more in one step):
 * each slice is a step behind what the thread has queued meanwhile.
 */
export type ShardSelfMsg = { readonly type: 'round' } | { readonly type: 'encode'; readonly tag: number };
export type ShardMsg = ShardHostMsg | ShardSelfMsg;

export type ShardEffect = ShardPortEffect | ShardMetricEffect | SelfMessage<ShardSelfMsg>;

/**
 * One checkpoint round: what was captured, and how far it got. `encode`: the state as of `nextOffset` is
 * being encoded, a slice per step; batches handed over meanwhile wait in {@link Shard.held} (folding
 * them would change what is being encoded). Then `save`, then `docs`.
 */
interface Round {
  readonly tag: number;
  stage: 'encode' | 'save' | 'docs';
  /** The encoding still to do (stage `encode`); it sets `capture` and `rollups`. */
  encoding: Generator<number, void> | null;
  capture: CheckpointCapture | null;
  /** Archive blocks this round writes: the first ones of {@link Shard.archivePending}. */
  archived: number;
  readonly nextOffset: number;
  readonly events: number;
  rollups: RollupWrites | null;
  /** Whether `rollups` holds the open windows' documents (their cadence is longer). */
  readonly openWritten: boolean;
  readonly late: number;
  readonly invalid: number;
  readonly startedAt: number;
  /** Time spent encoding, summed over the steps it took. */
  encodeMs: number;
  /** Flush requests this round answers. */
  readonly flushes: number[];
}

type RecordsMsg = Extract<ShardHostMsg, { type: 'records' }>;

export interface Shard {
  readonly partition: number;
  readonly epoch: number;
  readonly config: ShardConfig;
  agg: ShardState;
  /** Raw events folded since the last round started (null: archive off). */
  readonly archive: ArchiveCollector | null;
  /** Sealed archive blocks not yet below a committed checkpoint: written again by the next round if one fails. */
  archivePending: ArchiveBlock[];
  eventsSinceCheckpoint: number;
  round: Round | null;
  /** Flush requests waiting for the round after the one in flight. */
  flushes: number[];
  /** One of those asks for every open window's rollups (a graceful stop). */
  flushFull: boolean;
  /**
   * Batches not taken yet, in log order: too many events wait for a checkpoint. Their `accepted` is held
   * back (the host hands over a few batches ahead, so more than one can wait).
   */
  readonly held: RecordsMsg[];
  failures: number;
  retryAt: number;
  /** Delta sends not yet acknowledged, by tag: the oldest event time of each delta record. */
  readonly deltasInFlight: Map<number, number[]>;
  deltaSeq: number;
  lastDeltaAt: number;
  lastCheckpointAt: number;
  lastRollupAt: number;
  /** When the open windows' documents were last written. */
  lastOpenRollupAt: number;
  lastStatsAt: number;
  nextTag: number;
  /** A newer owner holds the partition: nothing more is written. */
  fenced: boolean;
  /**
   * The last batch left more than another batch's worth of records behind it in the log: the shard is
   * catching up, and its open windows' documents wait (see startRound).
   */
  catchingUp: boolean;
  /** A `round` message to itself is queued (one at a time). */
  roundAsked: boolean;
  /** Batches are held for backpressure (`m.stalled` on), not only for a round's encoding. */
  stalled: boolean;
}

/**
 * Delta sends that may overlap: a slow acknowledgement (a busy broker) does not halve the delta rate; the
 * sink keeps them in order. Beyond this, cells stay dirty for the next delta.
 */
const MAX_DELTAS_IN_FLIGHT = 2;
const STATS_EVERY_MS = 1000;

export function initShard(start: ShardStart, clock: Clock): { state: Shard; effects: ShardEffect[] } {
  const config = start.config as ShardConfig;
  const now = clock.now();
  const agg = config.settings.sinks ? restoreCheckpoint(start.nextOffset, new Map(start.parts)) : emptyState(0);
  const last = now - Math.floor(config.phase * config.settings.checkpointEveryMs);
  const archive = config.settings.sinks && config.settings.archive ? new ArchiveCollector(agg.nextOffset) : null;
  const state: Shard = {
    partition: start.partition, epoch: start.epoch, config, agg, archive, archivePending: [], eventsSinceCheckpoint: 0, round: null, flushes: [], flushFull: false, held: [],
    failures: 0, retryAt: 0, deltasInFlight: new Map(), deltaSeq: 0, lastDeltaAt: 0, lastCheckpointAt: last, lastRollupAt: last, lastOpenRollupAt: last,
    lastStatsAt: now, nextTag: 1, fenced: false, catchingUp: false, roundAsked: false, stalled: false,
  };
  const bytes = start.parts.reduce((a, [, b]) => a + b.byteLength, 0);
  return {
    state,
    effects: [
      { type: 'm.epoch', epoch: start.epoch },
      { type: 'log', message: config.settings.sinks
        ? `restored epoch ${start.epoch} at offset ${agg.nextOffset} (${agg.cellCount} cells in ${agg.windows.size} windows, ${bytes} B checkpoint, ${clock.now() - now} ms)`
        : 'started without checkpoints (sinks off) at offset 0' },
    ],
  };
}

export function stepShard(s: Shard, m: ShardMsg, clock: Clock): ShardEffect[] {
  const out: ShardEffect[] = [];
  if (s.fenced) return out;
  switch (m.type) {
    case 'records':
      records(s, m, clock, out);
      break;
    case 'tick':
      tick(s, clock, out);
      break;
    case 'round':
      s.roundAsked = false;
      if (roundDue(s, clock.now())) startRound(s, clock, s.held.length > 0, false, [], out);
      break;
    case 'encode':
      if (s.round?.tag === m.tag && s.round.stage === 'encode') encodeSlice(s, clock, out);
      break;
    case 'flush':
      if (!s.config.settings.sinks) out.push({ type: 'flushed', tag: m.tag });
      else if (s.round) {
        s.flushes.push(m.tag);
        s.flushFull ||= m.full;
      } else if (!startRound(s, clock, true, m.full, [m.tag], out)) out.push({ type: 'flushed', tag: m.tag });
      break;
    case 'saved':
      if (s.round?.tag === m.tag) saved(s, m, clock, out);
      break;
    case 'written':
      if (s.round?.tag === m.tag) written(s, m.results, m.ms, clock, out);
      break;
    case 'sent': {
      const ages = s.deltasInFlight.get(m.tag);
      if (ages) {
        s.deltasInFlight.delete(m.tag);
        const now = clock.now();
        out.push({ type: 'm.deltas', agesMs: ages.map((a) => now - a), waitMs: m.waitMs, sendMs: m.ms });
      }
      break;
    }
    case 'failed':
      failed(s, m, clock, out);
      break;
  }
  return out;
}

/** The shard's logic as the runtime hosts it. */
export const logic: ActorLogic<Shard, ShardMsg, ShardEffect, ShardStart> = { init: initShard, step: stepShard };

/** A batch handed over. `resumed`: a held batch taken now, ahead of those held after it. */
function records(s: Shard, m: RecordsMsg, clock: Clock, out: ShardEffect[], resumed = false): void {
  if (!resumed && s.held.length > 0) {
    // Behind batches already waiting: it follows them, in log order.
    s.held.push(m);
    return;
  }
  if (s.round?.stage === 'encode') {
    // The state is being encoded: the batch waits for the encoding's last slice.
    if (resumed) s.held.unshift(m);
    else s.held.push(m);
    return;
  }
  const pos = s.agg.nextOffset;
  const n = m.offsets.length;
  let first = 0;
  while (first < n && m.offsets[first]! < pos) first++;
  if (first === n) {
    out.push({ type: 'accepted', nextOffset: pos });
    return;
  }
  if (m.offsets[first]! > pos) {
    // The host seeks back to our position when a fetch starts past it; if the log still starts
    // later, retention removed those records.
    out.push({ type: 'log', message: `records ${pos}..${m.offsets[first]! - 1} are gone from the log (retention shorter than the checkpoint interval?)` });
    out.push({ type: 'm.gap', records: m.offsets[first]! - pos });
  }
  const { settings } = s.config;
  if (settings.sinks && s.eventsSinceCheckpoint >= settings.maxUncheckpointedEvents) {
    // Backpressure: the batch waits, unanswered, until a checkpoint lands (e.g. while Cassandra is down).
    if (!s.stalled) out.push({ type: 'm.stalled', on: true });
    s.stalled = true;
    if (resumed) s.held.unshift(m);
    else s.held.push(m);
    startRound(s, clock, true, false, [], out);
    return;
  }
  fold(s, m, first, clock, out);
}

function fold(s: Shard, m: RecordsMsg, first: number, clock: Clock, out: ShardEffect[]): void {
  const start = first === 0 ? 0 : m.ends[first - 1]!;
  const f = foldRecords(s.agg, first === 0 ? m : { bytes: m.bytes.subarray(start), ends: m.ends.subarray(first).map((e) => e - start), offsets: m.offsets.subarray(first) }, s.config.aggregation, s.archive);
  s.catchingUp = m.behind > m.offsets.length;
  const now = clock.now();
  s.eventsSinceCheckpoint += f.events;
  out.push({
    type: 'm.batch', events: f.events - f.late, late: f.late, invalid: f.invalid, duplicates: f.duplicates, otherSegment: f.otherSegment, foldAgeMs: f.oldestAt > 0 ? now - f.oldestAt : null,
  });
  const x = f.firstInvalid;
  if (x) {
    out.push({ type: 'log', message: `${f.invalid} invalid record(s)/event(s) kept aside in ${INVALID_EVENTS_COLLECTION}, first at offset ${x.offset}${x.index >= 0 ? ` event ${x.index}` : ''}: ${x.reason}` });
  }
  out.push({ type: 'accepted', nextOffset: s.agg.nextOffset });
  if (s.config.settings.sinks && s.eventsSinceCheckpoint >= s.config.settings.checkpointEveryEvents) startRound(s, clock, false, false, [], out);
}

function tick(s: Shard, clock: Clock, out: ShardEffect[]): void {
  const { settings } = s.config;
  const now = clock.now();
  if (now - s.lastDeltaAt >= settings.deltaEveryMs) sendDelta(s, now, out);
  // The round in a step of its own (ShardSelfMsg): this step's delta goes out without waiting for it.
  if (!s.roundAsked && roundDue(s, now)) {
    s.roundAsked = true;
    out.push({ type: 'self', msg: { type: 'round' } });
  }
  if (now - s.lastStatsAt >= STATS_EVERY_MS) {
    s.lastStatsAt = now;
    out.push({ type: 'm.cells', cells: s.agg.cellCount });
  }
}

/** Whether a tick's round is due: sinks on, none in flight, and batches held or the interval passed. */
function roundDue(s: Shard, now: number): boolean {
  return s.config.settings.sinks && !s.round && (s.held.length > 0 || now - s.lastCheckpointAt >= s.config.settings.checkpointEveryMs);
}

function sendDelta(s: Shard, now: number, out: ShardEffect[]): void {
  if (s.deltasInFlight.size >= MAX_DELTAS_IN_FLIGHT) return;
  const { aggregation } = s.config;
  const records: { partition: number; value: Uint8Array }[] = [];
  const oldest: number[] = [];
  // A big change (a catch-up) goes out as several records, each under Kafka's message size limit.
  for (let d = takeDelta(s.agg, aggregation, s.partition, s.epoch, s.deltaSeq + 1, now); d; d = takeDelta(s.agg, aggregation, s.partition, s.epoch, s.deltaSeq + 1, now)) {
    s.deltaSeq++;
    records.push({ partition: s.partition, value: encodeOwned(d) });
    oldest.push(d.oldestAt);
  }
  if (records.length === 0) return;
  s.lastDeltaAt = now;
  const tag = s.nextTag++;
  s.deltasInFlight.set(tag, oldest);
  out.push({ type: 'send', tag, at: now, topic: s.config.deltasTopic, records });
}

/**
 * Takes a snapshot now (state, offset, the rollups and late and invalid events it implies) and asks for
 * it to be saved. False when nothing was started (a round in flight, a back-off, or nothing to save).
 */
/**
 * Starts a checkpoint round if one is due, or whatever is due when `force` (a flush, backpressure): the
 * checkpoint, and the rollups their cadence asks for. `everything`: every open window's rollups as well
 * (a graceful stop's flush).
 */
function startRound(s: Shard, clock: Clock, force: boolean, everything: boolean, flushes: number[], out: ShardEffect[]): boolean {
  const now = clock.now();
  if (s.round || now < s.retryAt) return false;
  const a = s.agg;
  const settings = s.config.settings;
  const writeRollups = everything || now - s.lastRollupAt >= settings.rollupEveryMs;
  // While catching up, event time runs ahead fast and an open window is closed (and final) within
  // seconds: rewriting it whole every round was most of what MongoDB did in a catch-up, for documents
  // superseded at once (docs/runtime.md). Live, an open window is rewritten whole at most every
  // `openRollupEveryMs`: at 10 k events/s, rewriting them every 5 s kept FerretDB at half a core.
  // Finals are written as always; a graceful stop writes everything.
  const writeOpen = everything || (!s.catchingUp && now - s.lastOpenRollupAt >= (settings.openRollupEveryMs ?? settings.rollupEveryMs));
  // Without new events, rollups are a reason for a round only when some are due: finals, or open windows.
  const rollupsDue = a.rollupDirty.length > 0 && writeRollups && (writeOpen || holdsClosedWindow(a, s.config.aggregation));
  if (!force && s.eventsSinceCheckpoint === 0 && !rollupsDue && a.pendingLate.length === 0 && a.pendingInvalid.length === 0) {
    s.lastCheckpointAt = now;
    return false;
  }
  const tag = s.nextTag++;
  const r: Round = {
    tag, stage: 'encode', encoding: null, capture: null, archived: 0, nextOffset: a.nextOffset, events: s.eventsSinceCheckpoint, rollups: null,
    openWritten: writeRollups && writeOpen, late: a.pendingLate.length, invalid: a.pendingInvalid.length, startedAt: now, encodeMs: 0, flushes,
  };
  r.encoding = encodeRound(s, r, writeRollups, writeOpen);
  s.round = r;
  encodeSlice(s, clock, out);
  return true;
}

/** A round's encoding: the checkpoint's parts, then the rollup documents due; it yields after each part or document. */
function* encodeRound(s: Shard, r: Round, writeRollups: boolean, writeOpen: boolean): Generator<number, void> {
  r.capture = yield* captureSteps(s.agg);
  if (writeRollups) r.rollups = yield* rollupWriteSteps(s.agg, s.config.aggregation, s.partition, s.epoch, writeOpen);
}

/**
 * Encodes parts and documents until the slice's cells are spent. If there is more, the shard asks itself to go on
 * (behind the thread's queue); else the round's save goes out and the batches held meanwhile are folded.
 */
function encodeSlice(s: Shard, clock: Clock, out: ShardEffect[]): void {
  const r = s.round!;
  const t0 = clock.now();
  const budget = s.config.settings.encodeSliceCells ?? ENCODE_SLICE_CELLS;
  let spent = 0;
  for (;;) {
    const step = r.encoding!.next();
    if (step.done) break;
    spent += step.value;
    if (spent >= budget) {
      r.encodeMs += clock.now() - t0;
      out.push({ type: 'self', msg: { type: 'encode', tag: r.tag } });
      return;
    }
  }
  r.encoding = null;
  const a = s.agg;
  if (s.archive && s.archive.count > 0) s.archivePending.push(...s.archive.seal(s.partition, a.nextOffset));
  else if (s.archive) s.archive.firstOffset = a.nextOffset;
  r.archived = s.archivePending.length;
  r.encodeMs += clock.now() - t0;
  r.stage = 'save';
  // The archive with the checkpoint: its commit waits for the archive of every event below its offset.
  out.push({ type: 'save', tag: r.tag, nextOffset: r.nextOffset, parts: [...r.capture!.parts], ...(r.archived > 0 ? { archive: s.archivePending.slice() } : {}) });
  takeHeld(s, clock, out);
}

function saved(s: Shard, m: Extract<ShardHostMsg, { type: 'saved' }>, clock: Clock, out: ShardEffect[]): void {
  const r = s.round!;
  const { bytesWritten: bytes, ms } = m;
  // Before any eviction below: the next checkpoint builds on exactly what was committed.
  checkpointCommitted(s.agg, r.capture!);
  if (r.archived > 0) {
    let events = 0;
    for (let i = 0; i < r.archived; i++) events += s.archivePending[i]!.count;
    out.push({ type: 'm.archive', blocks: r.archived, events, bytes: m.archive?.bytesWritten ?? 0, ms: m.archive?.ms ?? 0 });
  }
  s.archivePending.splice(0, r.archived);
  s.eventsSinceCheckpoint -= r.events;
  s.lastCheckpointAt = r.startedAt;
  out.push({ type: 'm.checkpoint', bytes, ms, encodeMs: r.encodeMs });
  const writes: DocWrite[] = [];
  const w = r.rollups;
  if (w) {
    // Finals first: once they are in, the open document of their window is obsolete.
    writes.push({ op: 'insert', collection: ROLLUPS_COLLECTION, docs: w.finals as unknown as (FinalBlock & Record<string, unknown>)[] });
    writes.push({ op: 'delete', collection: OPEN_ROLLUPS_COLLECTION, ids: w.obsoleteOpenIds });
    writes.push({ op: 'upsert', collection: OPEN_ROLLUPS_COLLECTION, docs: w.open.map(({ _id, version, ...fields }) => ({ _id, version, fields })) });
  }
  if (r.late > 0) writes.push({ op: 'insert', collection: LATE_EVENTS_COLLECTION, docs: lateDocs(s.agg, s.partition).slice(0, r.late) });
  if (r.invalid > 0) writes.push({ op: 'insert', collection: INVALID_EVENTS_COLLECTION, docs: invalidDocs(s.agg, s.partition).slice(0, r.invalid) });
  if (writes.length === 0) {
    endRound(s, clock, out);
    return;
  }
  r.stage = 'docs';
  out.push({ type: 'docs', tag: r.tag, writes });
}

function written(s: Shard, results: readonly unknown[], ms: number, clock: Clock, out: ShardEffect[]): void {
  const r = s.round!;
  const w = r.rollups;
  if (w) {
    const ins = results[0] as { inserted: number; existing: number };
    const up = results[2] as { written: number; stale: number };
    finalsWritten(s.agg, w.finalWindows);
    out.push({ type: 'm.rollups', finals: ins.inserted, existing: ins.existing, open: up.written, stale: up.stale, ms });
    s.lastRollupAt = r.startedAt;
    if (r.openWritten) s.lastOpenRollupAt = r.startedAt;
  }
  s.agg.pendingLate.splice(0, r.late);
  s.agg.pendingInvalid.splice(0, r.invalid);
  endRound(s, clock, out);
}

function endRound(s: Shard, clock: Clock, out: ShardEffect[]): void {
  const r = s.round!;
  s.round = null;
  s.failures = 0;
  out.push({ type: 'commit', nextOffset: r.nextOffset });
  for (const tag of r.flushes) out.push({ type: 'flushed', tag });
  afterRound(s, clock, out);
}

/** A round ended (or failed): a held batch may go in now, and waiting flushes get their round. */
function afterRound(s: Shard, clock: Clock, out: ShardEffect[]): void {
  takeHeld(s, clock, out);
  if (s.flushes.length > 0 && !s.round) {
    const tags = s.flushes;
    const full = s.flushFull;
    s.flushes = [];
    s.flushFull = false;
    if (!startRound(s, clock, true, full, tags, out)) for (const tag of tags) out.push({ type: 'flushed', tag });
  }
}

/** Folds the held batches, in order, while the allowance lets it and no round is being encoded. */
function takeHeld(s: Shard, clock: Clock, out: ShardEffect[]): void {
  while (s.held.length > 0 && s.round?.stage !== 'encode' && s.eventsSinceCheckpoint < s.config.settings.maxUncheckpointedEvents) records(s, s.held.shift()!, clock, out, true);
  if (s.stalled && s.held.length === 0) {
    s.stalled = false;
    out.push({ type: 'm.stalled', on: false });
  }
}

function failed(s: Shard, m: Extract<ShardHostMsg, { type: 'failed' }>, clock: Clock, out: ShardEffect[]): void {
  if (s.deltasInFlight.has(m.tag)) {
    s.deltasInFlight.delete(m.tag);
    out.push({ type: 'log', message: `a delta send failed: ${m.error.message}` });
    return;
  }
  const r = s.round;
  if (!r || r.tag !== m.tag) return;
  s.round = null;
  // A failed save (its archive write included) marks the capture changed again; the pending archive
  // blocks go with the next round.
  if (r.stage === 'save') checkpointFailed(s.agg, r.capture!);
  if (r.rollups) rollupsFailed(s.agg, r.rollups);
  for (const tag of r.flushes) out.push({ type: 'flushed', tag });
  if (m.error.code === 'RT_FENCED') {
    // A newer owner holds the partition: this shard is a zombie. Nothing more is written.
    s.fenced = true;
    out.push({ type: 'm.fenced' });
    return;
  }
  s.failures++;
  const backoff = Math.min(5000, 100 * 2 ** Math.min(s.failures, 6));
  s.retryAt = clock.now() + backoff;
  out.push({ type: 'm.checkpointFailure' });
  out.push({ type: 'log', message: `checkpoint/rollup write failed (${s.failures}x, retry in ${backoff} ms): ${m.error.message}` });
  afterRound(s, clock, out);
}
