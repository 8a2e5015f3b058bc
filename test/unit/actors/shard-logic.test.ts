import { describe, expect, it } from 'vitest';
import { ManualClock, stepThrough, packRecords, type ShardHostMsg, type ShardStart } from '../../../runtime/index.js';
import { decode, encode, type AdEvent, type DeltaRecord } from '../../../actors/model/index.js';
import { cellsByKey } from '../../../actors/logic.js';
import { initShard, logic, stepShard, type Shard, type ShardConfig, type ShardEffect, type ShardSettings } from '../../../actors/shard-logic.js';

const PARIS = { lat: 48.8566, lon: 2.3522 };
const T0 = Date.UTC(2026, 10, 1);
const ev = (i: number, extra: Partial<AdEvent> = {}): AdEvent => ({ userId: `u${i % 7}`, type: 'impression', ts: T0 + i * 10, ...PARIS, ...extra });

const SETTINGS: ShardSettings = { checkpointEveryMs: 1000, checkpointEveryEvents: 1_000_000, maxUncheckpointedEvents: 1_000_000, rollupEveryMs: 0, deltaEveryMs: 100, sinks: true };

function config(settings: Partial<ShardSettings> = {}): ShardConfig {
  return { aggregation: { precision: 6, windowMs: 10_000, allowedLatenessMs: 30_000 }, settings: { ...SETTINGS, ...settings }, deltasTopic: 'd', phase: 0 };
}

function start(cfg: ShardConfig, parts: [string, Uint8Array][] = [], nextOffset = 0, epoch = 1): ShardStart {
  return { partition: 3, epoch, nextOffset, parts, config: cfg };
}

/** Records (one per list of events) at consecutive offsets from `offset`, as the host hands them over. */
function recordsMsg(offset: number, ...records: unknown[][]): ShardHostMsg {
  return packRecords(records.map((events, i) => ({ offset: offset + i, value: Buffer.from(encode({ v: 1, at: 500, events })) })));
}

const ofType = <T extends ShardEffect['type']>(effects: readonly ShardEffect[], type: T) => effects.filter((e): e is Extract<ShardEffect, { type: T }> => e.type === type);

function cellTotals(s: Shard): Record<string, number[]> {
  return Object.fromEntries([...cellsByKey(s.agg)].sort(([a], [b]) => a.localeCompare(b)).map(([k, cw]) => [k, [...cw.counts]]));
}

describe('shard logic: step(state, message) → effects', () => {
  it('folds records, answers accepted with the next offset, and sends a delta on its interval', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard(start(config()), clock);
    const out = stepShard(s, recordsMsg(0, [ev(1), ev(2)], [ev(3, { type: 'click' })]), clock);
    expect(ofType(out, 'accepted')).toEqual([{ type: 'accepted', nextOffset: 2 }]);
    expect(ofType(out, 'm.batch')[0]).toMatchObject({ events: 3, late: 0, invalid: 0 });
    clock.advance(100);
    const sends = ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'send');
    expect(sends).toHaveLength(1);
    const d = decode<DeltaRecord>(sends[0]!.records[0]!.value);
    expect([d.partition, d.epoch, d.seq, d.cells.length, [...d.counts].slice(0, 2)]).toEqual([3, 1, 1, 1, [2, 1]]);
  });

  it('a checkpoint round is save, then docs, then commit; a restore from the saved parts gives the same state', () => {
    const clock = new ManualClock(T0);
    const cfg = config();
    const { state: s } = initShard(start(cfg), clock);
    stepShard(s, recordsMsg(0, [ev(1), ev(2), ev(3)], [ev(4, { appId: 'a', campaignId: 'c' })]), clock);
    clock.advance(1000);
    const save = ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'save');
    expect(save).toHaveLength(1);
    expect(save[0]!.nextOffset).toBe(2);
    const docs = ofType(stepShard(s, { type: 'saved', tag: save[0]!.tag, bytesWritten: 10, ms: 1 }, clock), 'docs');
    expect(docs[0]!.writes.map((w) => `${w.op}:${w.collection}`)).toEqual(['insert:rollups', 'delete:rollups_open', 'upsert:rollups_open']);
    const end = stepShard(s, { type: 'written', tag: save[0]!.tag, results: [{ inserted: 0, existing: 0 }, null, { written: 1, stale: 0 }], ms: 1 }, clock);
    expect(ofType(end, 'commit')).toEqual([{ type: 'commit', nextOffset: 2 }]);

    const parts = save[0]!.parts.map(([n, b]) => [n, b!] as [string, Uint8Array]);
    const { state: r } = initShard(start(cfg, parts, 2, 2), clock);
    expect(r.agg.nextOffset).toBe(2);
    expect(cellTotals(r)).toEqual(cellTotals(s));
  });

  it('a delta goes out while the shard\'s own save is in flight', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard(start(config()), clock);
    stepShard(s, recordsMsg(0, [ev(1)]), clock);
    clock.advance(1000);
    const first = stepThrough(logic, s, { type: 'tick' }, clock);
    expect(ofType(first, 'save')).toHaveLength(1);
    stepShard(s, recordsMsg(1, [ev(2)]), clock);
    clock.advance(100);
    const next = stepThrough(logic, s, { type: 'tick' }, clock);
    expect(ofType(next, 'send')).toHaveLength(1);
    expect(ofType(next, 'save')).toHaveLength(0);
  });

  it('a tick sends the delta and asks itself for the round; the round is a step of its own, asked once', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard(start(config()), clock);
    stepShard(s, recordsMsg(0, [ev(1)]), clock);
    clock.advance(1000);
    const tick = stepShard(s, { type: 'tick' }, clock);
    expect(tick.map((e) => e.type).filter((t) => !t.startsWith('m.'))).toEqual(['send', 'self']);
    // A second tick before the round ran asks nothing more.
    expect(stepShard(s, { type: 'tick' }, clock).filter((e) => e.type === 'self')).toEqual([]);
    const round = stepShard(s, { type: 'round' }, clock);
    expect(ofType(round, 'save')).toHaveLength(1);
    // With the round in flight, neither a tick nor a stray round starts another.
    clock.advance(1000);
    expect(stepShard(s, { type: 'tick' }, clock).filter((e) => e.type === 'self' || e.type === 'save')).toEqual([]);
    expect(stepShard(s, { type: 'round' }, clock)).toEqual([]);
  });

  it('backpressure: past the allowance a batch is held unanswered until a checkpoint lands; a failed save is retried after a back-off', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard(start(config({ maxUncheckpointedEvents: 2 })), clock);
    expect(ofType(stepShard(s, recordsMsg(0, [ev(1), ev(2)]), clock), 'accepted')).toHaveLength(1);
    const held = stepShard(s, recordsMsg(1, [ev(3)]), clock);
    expect(ofType(held, 'accepted')).toHaveLength(0);
    expect(ofType(held, 'm.stalled')).toEqual([{ type: 'm.stalled', on: true }]);
    const save1 = ofType(held, 'save')[0]!;
    const fail = stepShard(s, { type: 'failed', tag: save1.tag, error: { code: 'NoHostAvailableError', message: 'down', retriable: true } }, clock);
    expect(ofType(fail, 'm.checkpointFailure')).toHaveLength(1);
    expect(ofType(fail, 'accepted')).toHaveLength(0);
    // The back-off (200 ms after one failure): no save before it, one after.
    clock.advance(100);
    expect(ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'save')).toHaveLength(0);
    clock.advance(150);
    const save2 = ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'save')[0]!;
    expect(save2.nextOffset).toBe(1);
    const docs = stepShard(s, { type: 'saved', tag: save2.tag, bytesWritten: 1, ms: 1 }, clock);
    const released = stepShard(s, { type: 'written', tag: save2.tag, results: ofType(docs, 'docs')[0]!.writes.map((w) => (w.op === 'delete' ? null : { inserted: 0, existing: 0, written: 0, stale: 0 })), ms: 1 }, clock);
    expect(ofType(released, 'm.stalled')).toEqual([{ type: 'm.stalled', on: false }]);
    expect(ofType(released, 'accepted')).toEqual([{ type: 'accepted', nextOffset: 2 }]);
    expect(s.agg.totals.events).toBe(3);
  });

  it('fenced: after a save refused by the epoch fence the shard writes nothing more', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard(start(config()), clock);
    stepShard(s, recordsMsg(0, [ev(1)]), clock);
    clock.advance(1000);
    const save = ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'save')[0]!;
    const out = stepShard(s, { type: 'failed', tag: save.tag, error: { code: 'RT_FENCED', message: 'fenced', retriable: false } }, clock);
    expect(out.map((e) => e.type)).toEqual(['m.fenced']);
    clock.advance(5000);
    expect(stepThrough(logic, s, { type: 'tick' }, clock)).toEqual([]);
    expect(stepShard(s, recordsMsg(1, [ev(2)]), clock)).toEqual([]);
  });

  it('records from Kafka are validated like the gateway\'s input: an event typed "toString" is kept aside, not folded', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard(start(config()), clock);
    const bad = { userId: 'u1', type: 'toString', ts: T0, ...PARIS };
    const out = stepShard(s, recordsMsg(0, [ev(1), bad, { ...ev(2), lat: 91 }]), clock);
    expect(ofType(out, 'm.batch')[0]).toMatchObject({ events: 1, invalid: 2 });
    expect(s.agg.totals).toMatchObject({ events: 1, invalid: 2 });
    expect(Object.values(cellTotals(s))).toEqual([[1, 0, 0, 0, 0, 0]]);
    // An undecodable record is kept aside too, whole.
    const junk = packRecords([{ offset: 1, value: Buffer.from([0x85, 0xa1, 0x61]) }]);
    stepShard(s, junk, clock);
    clock.advance(1000);
    const save = ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'save')[0]!;
    const docs = ofType(stepShard(s, { type: 'saved', tag: save.tag, bytesWritten: 1, ms: 1 }, clock), 'docs')[0]!;
    const invalid = docs.writes.find((w) => w.collection === 'invalid_events');
    expect(invalid?.op === 'insert' && invalid.docs.map((d) => [d._id, d.reason])).toEqual([
      ['3:0:1', 'type must be one of impression, click, install, purchase, session_start, custom'],
      ['3:0:2', 'lat must be between -90 and 90, got 91'],
      ['3:1:-1', expect.stringMatching(/^undecodable msgpack/)],
    ]);
  });

  it('a batch that starts past the position is a gap in the log: counted, logged, and taken', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard(start(config(), [], 5), clock);
    // The host seeks back once before it hands such a batch over: the log really starts later (retention).
    const out = stepShard(s, recordsMsg(8, [ev(1)]), clock);
    expect(ofType(out, 'm.gap')).toEqual([{ type: 'm.gap', records: 3 }]);
    expect(ofType(out, 'accepted')).toEqual([{ type: 'accepted', nextOffset: 9 }]);
  });

  it('while catching up, a round writes finals but leaves the open windows for when the shard has caught up', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard(start(config()), clock);
    const behind = (m: ShardHostMsg, n: number) => ({ ...m, behind: n }) as ShardHostMsg;
    const upserts = (effects: readonly ShardEffect[]) => ofType(effects, 'docs')[0]!.writes.filter((w) => w.op === 'upsert').flatMap((w) => (w.op === 'upsert' ? w.docs.map((d) => d._id) : []));
    const round = () => {
      clock.advance(1000);
      const save = ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'save')[0]!;
      const out = stepShard(s, { type: 'saved', tag: save.tag, bytesWritten: 1, ms: 1 }, clock);
      const docs = ofType(out, 'docs')[0]!;
      stepShard(s, { type: 'written', tag: save.tag, results: docs.writes.map((w) => (w.op === 'delete' ? null : { inserted: 0, existing: 0, written: 1, stale: 0 })), ms: 1 }, clock);
      return upserts(out);
    };
    // 50 records still behind the one fetched: catching up.
    stepShard(s, behind(recordsMsg(0, [ev(1)]), 50), clock);
    expect(round()).toEqual([]);
    // Caught up (nothing behind): the open window's document goes out with the changes kept for it.
    stepShard(s, behind(recordsMsg(1, [ev(2)]), 0), clock);
    expect(round()).toEqual([`10000:${Math.floor(T0 / 10_000) * 10_000}:3`]);
  });

  it('live, finals go out every round the rollup cadence allows, open windows at most every openRollupEveryMs', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard(start(config({ rollupEveryMs: 0, openRollupEveryMs: 3000 })), clock);
    const round = (): { inserts: string[]; upserts: string[] } | undefined => {
      clock.advance(1000);
      const save = ofType(stepThrough(logic, s, { type: 'tick' }, clock), 'save')[0];
      if (!save) return undefined;
      const out = stepShard(s, { type: 'saved', tag: save.tag, bytesWritten: 1, ms: 1 }, clock);
      const docs = ofType(out, 'docs')[0]!;
      stepShard(s, { type: 'written', tag: save.tag, results: docs.writes.map((w) => (w.op === 'delete' ? null : { inserted: 0, existing: 0, written: 1, stale: 0 })), ms: 1 }, clock);
      const ids = (op: string) => docs.writes.filter((w) => w.op === op).flatMap((w) => ('docs' in w ? w.docs.map((d) => d._id) : []));
      return { inserts: ids('insert'), upserts: ids('upsert') };
    };
    const w0 = Math.floor(T0 / 10_000) * 10_000;
    // Rounds 1 and 2 s after the start: events, but the open window waits for its cadence (3 s).
    stepShard(s, recordsMsg(0, [ev(1)]), clock);
    expect(round()).toEqual({ inserts: [], upserts: [] });
    stepShard(s, recordsMsg(1, [ev(2)]), clock);
    expect(round()).toEqual({ inserts: [], upserts: [] });
    // 3 s: it goes out, with the changes kept for it; then waits 3 s again.
    stepShard(s, recordsMsg(2, [ev(3)]), clock);
    expect(round()).toEqual({ inserts: [], upserts: [`10000:${w0}:3`] });
    stepShard(s, recordsMsg(3, [ev(4)]), clock);
    expect(round()).toEqual({ inserts: [], upserts: [] });
    // An event 41 s later closes the window: its finals go out at once, not on the open cadence.
    stepShard(s, recordsMsg(4, [ev(4100)]), clock);
    expect(round()).toEqual({ inserts: [`10000:${w0}::3`], upserts: [] });
    // No new event: a round only for what is due, the new window's open document at 6 s; then none.
    expect(round()).toEqual({ inserts: [], upserts: [`10000:${w0 + 40_000}:3`] });
    expect(round()).toBeUndefined();
  });

  it('a flush answers once its round is durable, or at once when sinks are off', () => {
    const clock = new ManualClock(T0);
    const { state: s } = initShard(start(config()), clock);
    stepShard(s, recordsMsg(0, [ev(1)]), clock);
    const f = stepShard(s, { type: 'flush', tag: 7, full: true }, clock);
    const save = ofType(f, 'save')[0]!;
    expect(ofType(f, 'flushed')).toHaveLength(0);
    const docs = ofType(stepShard(s, { type: 'saved', tag: save.tag, bytesWritten: 1, ms: 1 }, clock), 'docs')[0]!;
    const done = stepShard(s, { type: 'written', tag: save.tag, results: docs.writes.map((w) => (w.op === 'delete' ? null : { inserted: 1, existing: 0, written: 1, stale: 0 })), ms: 1 }, clock);
    expect(ofType(done, 'flushed')).toEqual([{ type: 'flushed', tag: 7 }]);
    const { state: off } = initShard(start(config({ sinks: false })), clock);
    expect(stepShard(off, { type: 'flush', tag: 8, full: false }, clock)).toEqual([{ type: 'flushed', tag: 8 }]);
  });

  it('a rebalance\'s flush is the checkpoint alone; a stop\'s (full) writes the open windows too', () => {
    const clock = new ManualClock(T0);
    const cfg = config({ rollupEveryMs: 5000, openRollupEveryMs: 30_000 });
    const w0 = Math.floor(T0 / 10_000) * 10_000;
    const flush = (s: Shard, full: boolean) => {
      const save = ofType(stepShard(s, { type: 'flush', tag: 1, full }, clock), 'save')[0]!;
      expect(save.nextOffset).toBe(1);
      return stepShard(s, { type: 'saved', tag: save.tag, bytesWritten: 1, ms: 1 }, clock);
    };
    const { state: a } = initShard(start(cfg), clock);
    stepShard(a, recordsMsg(0, [ev(1)]), clock);
    // Nothing due yet: durable at once, no document written.
    const rebalance = flush(a, false);
    expect(ofType(rebalance, 'docs')).toEqual([]);
    expect(ofType(rebalance, 'flushed')).toEqual([{ type: 'flushed', tag: 1 }]);
    const { state: b } = initShard(start(cfg), clock);
    stepShard(b, recordsMsg(0, [ev(1)]), clock);
    const upserts = ofType(flush(b, true), 'docs')[0]!.writes.flatMap((w) => (w.op === 'upsert' ? w.docs.map((d) => d._id) : []));
    expect(upserts).toEqual([`10000:${w0}:3`]);
  });

  it('a round\'s encoding is sliced a window at a time: deltas go out between slices, batches wait for the last, and the save is the state as of the round\'s start', () => {
    const clock = new ManualClock(T0);
    const cfg = config({ encodeSliceCells: 1 });
    // Three windows (10 s each; ev(i) is at i × 10 ms), the second with an app and campaign.
    const batch = recordsMsg(0, [ev(1), ev(2)], [ev(1100, { appId: 'a', campaignId: 'c' })], [ev(2100), ev(2200)]);
    const { state: s } = initShard(start(cfg), clock);
    stepShard(s, batch, clock);
    const { state: whole } = initShard(start(config()), clock);
    stepShard(whole, batch, clock);
    const wholeSave = ofType(stepShard(whole, { type: 'flush', tag: 1, full: false }, clock), 'save')[0]!;

    const first = stepShard(s, { type: 'flush', tag: 1, full: false }, clock);
    expect(ofType(first, 'save')).toEqual([]);
    const tag = (first.find((e) => e.type === 'self') as { msg: { type: 'encode'; tag: number } }).msg.tag;
    // Between slices: a batch waits unanswered, a tick still sends the delta, a stray round starts nothing.
    expect(ofType(stepShard(s, recordsMsg(3, [ev(2300)]), clock), 'accepted')).toEqual([]);
    clock.advance(100);
    expect(ofType(stepShard(s, { type: 'tick' }, clock), 'send')).toHaveLength(1);
    expect(stepShard(s, { type: 'round' }, clock)).toEqual([]);
    // One window per slice: three checkpoint parts, then three open windows' documents (rollups are due).
    let last: ShardEffect[] = [];
    let slices = 1;
    while (ofType(last, 'save').length === 0 && slices < 20) {
      last = stepShard(s, { type: 'encode', tag }, clock);
      slices++;
    }
    expect(slices).toBe(7);
    const save = ofType(last, 'save')[0]!;
    // The save holds the state as of offset 3, the same parts as an unsliced round's; the held batch goes in after it.
    expect(save.nextOffset).toBe(3);
    expect(save.parts.map(([n]) => n).sort()).toEqual(wholeSave.parts.map(([n]) => n).sort());
    expect(ofType(last, 'accepted')).toEqual([{ type: 'accepted', nextOffset: 4 }]);
    const restored = initShard(start(cfg, save.parts.map(([n, b]) => [n, b!]), 3, 2), clock).state;
    const wholeRestored = initShard(start(cfg, wholeSave.parts.map(([n, b]) => [n, b!]), 3, 2), clock).state;
    expect(cellTotals(restored)).toEqual(cellTotals(wholeRestored));
    expect(Object.values(cellTotals(restored)).reduce((a, c) => a + c.reduce((x, y) => x + y, 0), 0)).toBe(5);
    expect(Object.values(cellTotals(s)).reduce((a, c) => a + c.reduce((x, y) => x + y, 0), 0)).toBe(6);
  });
});
