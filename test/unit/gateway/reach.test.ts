import { describe, expect, it } from 'vitest';
import { hash32 } from '../../../actors/hash.js';
import {
  EVENT_TYPES, Reach, TYPE_INDEX, decode, packSegment, reachColumn, segmentKey, type CellsFrame, type DeltaRecord, type EventType,
} from '../../../actors/model/index.js';
import { StreamHub } from '../../../gateway/live/hub.js';
import { LiveStore } from '../../../gateway/live/store.js';
import { filterRows, hotspotsAnswer, rollupsAnswer, segmentsAnswer, summaryAnswer, topAnswer } from '../../../gateway/query/answers.js';
import type { StoredRow } from '../../../gateway/query/rollups.js';

const W = 10_000;
const N = EVENT_TYPES.length;
const ALL = [...EVENT_TYPES];

/** A reach of the users named, each with the type given (`u1:click`; the type defaults to impression). */
function reachOf(...users: string[]): Reach {
  const r = new Reach();
  for (const u of users) {
    const [id, type = 'impression'] = u.split(':') as [string, EventType?];
    r.add(TYPE_INDEX[type], hash32(id));
  }
  return r;
}

/** Users named u0 … u(n−1) with a prefix, as impressions. */
const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A stored row with counts per type (impressions first) and its reach. */
function row(window: number, cell: string, c: number[], reach: Reach | undefined, extra: Partial<StoredRow> = {}): StoredRow {
  const sum = new Float64Array(N + 1);
  c.forEach((n, i) => {
    sum[i] = n;
  });
  return { window, partition: 0, cell, sum, reach, ...extra };
}

describe('reach in the query answers', () => {
  // u1 is in two cells, two windows and two partitions: it counts once wherever they are merged.
  const rows = [
    row(0, 'u09tvw', [3, 1], reachOf('u1', 'u2', 'u3', 'u1:click')),
    row(0, 'u09tvw', [1], reachOf('u1'), { partition: 1 }),
    row(10_000, 'u09tvx', [2, 1], reachOf('u1', 'u4', 'u4:click')),
    row(10_000, 'xn76ur', [1], reachOf('u9')),
  ];

  it('merges users across partitions, cells and windows; per requested types', () => {
    const r = rollupsAnswer(rows, { from: 0, to: 20_000, precision: 4, stepMs: 20_000, types: ALL, privacyK: 0 });
    expect(r.rows.map((x) => [x.cell, x.total, x.users])).toEqual([['u09t', 8, 4], ['xn76', 1, 1]]);
    const clicks = rollupsAnswer(rows, { from: 0, to: 20_000, precision: 4, stepMs: 20_000, types: ['click'], privacyK: 0 });
    expect(clicks.rows.map((x) => [x.cell, x.total, x.users])).toEqual([['u09t', 2, 2]]);
    const s = summaryAnswer(rows, { from: 0, to: 20_000, windowMs: W, privacyK: 0 });
    expect(s).toMatchObject({ events: 9, users: 5, withheld: 0, privacyK: 0 });
    expect(s.usersByType).toMatchObject({ impression: 5, click: 2, install: 0 });
    expect(s.frequency).toBe(7 / 5);
  });

  it('top by users orders by reach, by events by events', () => {
    const busy = row(0, 'gcpvj0', [50], reachOf('a', 'b'));
    const wide = row(0, 'dr5reg', [10], reachOf(...many('w', 8)));
    const q = { from: 0, to: 10_000, precision: 6, types: ALL, limit: 5, privacyK: 0 };
    expect(topAnswer([busy, wide], { ...q, by: 'events' }).rows.map((r) => [r.cell, r.total, r.users])).toEqual([['gcpvj0', 50, 2], ['dr5reg', 10, 8]]);
    expect(topAnswer([busy, wide], { ...q, by: 'users' }).rows.map((r) => [r.cell, r.users])).toEqual([['dr5reg', 8], ['gcpvj0', 2]]);
  });

  it('a filter merges the reach of the matching segments only', () => {
    const shop = segmentKey('shop', 'c1');
    const maps = segmentKey('maps', 'c1');
    const seg = (n: number) => Float64Array.from([n, 0, 0, 0, 0, 0, 0]);
    const r = row(0, 'u09tvw', [5], reachOf('u1', 'u2', 'u3'), {
      segs: new Map([[shop, seg(3)], [maps, seg(2)]]),
      segReach: new Map([[shop, reachOf('u1', 'u2')], [maps, reachOf('u2', 'u3')]]),
    });
    const f = filterRows([r], { apps: ['shop'], campaigns: [] });
    expect(summaryAnswer(f, { from: 0, to: 10_000, windowMs: W, privacyK: 0 })).toMatchObject({ events: 3, users: 2 });
    expect(summaryAnswer(filterRows([r], { apps: [], campaigns: ['c1'] }), { from: 0, to: 10_000, windowMs: W, privacyK: 0 })).toMatchObject({ events: 5, users: 3 });
    const seen = segmentsAnswer([r], { from: 0, to: 10_000, limit: 10, privacyK: 0 });
    expect(seen.apps).toEqual([{ id: 'shop', events: 3, users: 2 }, { id: 'maps', events: 2, users: 2 }]);
    expect(seen.campaigns).toEqual([{ id: 'c1', events: 5, users: 3 }]);
    expect(segmentsAnswer([r], { from: 0, to: 10_000, limit: 10, privacyK: 3 })).toMatchObject({ apps: [], campaigns: [{ id: 'c1' }], withheld: 2 });
  });

  it('rows stored before reach add their own users estimate, for all types only', () => {
    const old = row(0, 'u09tvw', [4], undefined, { users: 3 });
    const s = summaryAnswer([old, row(0, 'u09tvx', [1], reachOf('u9'))], { from: 0, to: 10_000, windowMs: W, privacyK: 0 });
    expect(s).toMatchObject({ users: 4 });
    expect(s.usersByType.impression).toBe(1);
  });

  describe('the privacy floor', () => {
    const small = row(0, 'u09tvw', [9], reachOf('a', 'b', 'c'));
    const big = row(0, 'xn76ur', [12], reachOf(...many('x', 12)));
    const q = { from: 0, to: 10_000, precision: 6, types: ALL, limit: 10, by: 'events' as const };

    it('holds back cells below k and counts them; a cell at k is answered', () => {
      expect(topAnswer([small, big], { ...q, privacyK: 4 })).toMatchObject({ rows: [{ cell: 'xn76ur', users: 12 }], withheld: 1, privacyK: 4 });
      expect(topAnswer([small, big], { ...q, privacyK: 3 }).rows.map((r) => r.cell)).toEqual(['xn76ur', 'u09tvw']);
      expect(rollupsAnswer([small, big], { ...q, stepMs: W, privacyK: 13 })).toMatchObject({ rows: [], withheld: 2 });
    });

    it('a small cell still counts in the area it belongs to', () => {
      const area = rollupsAnswer([small, row(0, 'u09tvx', [1], reachOf('d', 'e'))], { ...q, precision: 4, stepMs: W, privacyK: 5 });
      expect(area.rows.map((r) => [r.cell, r.total, r.users])).toEqual([['u09t', 10, 5]]);
      expect(area.withheld).toBe(0);
    });

    it('an area below k answers nothing but that it is withheld', () => {
      const s = summaryAnswer([small], { from: 0, to: 10_000, windowMs: W, privacyK: 4 });
      expect(s).toMatchObject({ events: 0, users: 0, value: 0, clickThroughRate: null, frequency: null, withheld: 1, privacyK: 4 });
      expect(s.series).toEqual([[0, 0]]);
      expect(summaryAnswer([small], { from: 0, to: 10_000, windowMs: W, privacyK: 3 })).toMatchObject({ events: 9, users: 3, withheld: 0 });
      expect(summaryAnswer([], { from: 0, to: 10_000, windowMs: W, privacyK: 3 })).toMatchObject({ events: 0, withheld: 0 });
    });

    it('hot spots below k are held back', () => {
      const hot = [row(950_000, 'u09tvw', [30], reachOf('a', 'b')), row(950_000, 'xn76ur', [30], reachOf(...many('y', 5)))];
      const h = (k: number) => hotspotsAnswer(hot, { at: 960_000, windowS: 60, baselineS: 900, precision: 6, minEvents: 20, factor: 3, limit: 10, privacyK: k });
      expect(h(3)).toMatchObject({ rows: [{ cell: 'xn76ur', users: 5 }], withheld: 1 });
      expect(h(2).rows).toHaveLength(2);
    });
  });
});

/** A delta with one row per [window, cell, impressions (or counts per type), users, segments as [app, impressions, users]]. */
function delta(partition: number, seq: number, rows: [number, string, number | number[], string[], [string, number, string[]][]?][]): DeltaRecord {
  const counts = new Uint32Array(rows.length * N);
  const apps: string[] = [];
  const perRow: number[] = [];
  const packed: number[] = [];
  const segReach: Reach[] = [];
  rows.forEach(([, , imp, , segs = []], i) => {
    counts.set(typeof imp === 'number' ? [imp] : imp, i * N);
    perRow.push(segs.length);
    for (const [app, n, users] of segs) {
      packSegment(packed, apps.length, [n, 0, 0, 0, 0, 0, 0], 0);
      apps.push(app);
      segReach.push(reachOf(...users));
    }
  });
  return {
    v: 1, partition, epoch: 1, seq, at: 1000 + seq, oldestAt: 1, precision: 6, windowMs: W,
    windows: Float64Array.from(rows.map((r) => r[0])), cells: rows.map((r) => r[1]), counts,
    values: new Float64Array(rows.length), users: new Uint32Array(rows.length),
    segments: [apps, apps.map(() => ''), perRow, packed],
    reach: { rows: reachColumn(rows.map((r) => reachOf(...r[3]))), segs: reachColumn(segReach) },
  };
}

const viewUsers = (s: LiveStore, windowS: number, precision: number, apps: string[] = []) => {
  const v = s.acquire(windowS, precision, { apps, campaigns: [] });
  const out = Object.fromEntries([...s.viewReach(v)].map(([k, r]) => [k, r.users()]));
  s.release(v);
  return out;
};

describe('reach in the live store', () => {
  it('merges users over partitions and deltas, per base cell and per view cell, filtered too', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 120_000 });
    const held = s.acquire(60, 4, { apps: [], campaigns: [] }); // grown by union as deltas arrive
    s.viewReach(held);
    s.apply(delta(0, 1, [[0, 'u09tvw', 2, ['u1', 'u2'], [['shop', 1, ['u1']]]], [0, 'u09tvx', 1, ['u3']]]));
    s.apply(delta(1, 1, [[0, 'u09tvw', 1, ['u1'], [['maps', 1, ['u1']]]]]));
    s.apply(delta(0, 2, [[0, 'u09tvw', 3, ['u1', 'u2', 'u5'], [['shop', 2, ['u1', 'u5']]]], [10_000, 'u09tvw', 1, ['u6']]]));
    const base = [...s.rows(0, 10_000)].find((r) => r.cell === 'u09tvw')!.base;
    expect(s.reachOf(base)!.users()).toBe(3);
    expect(Object.fromEntries([...s.segmentReach(base)!].map(([k, r]) => [k, r.users()]))).toEqual({ [segmentKey('shop', undefined)]: 2, [segmentKey('maps', undefined)]: 1 });
    expect(held.reachStale).toBe(false); // no window left the view: kept by union, not rebuilt
    expect(Object.fromEntries([...held.reach].map(([k, r]) => [k, r.users()]))).toEqual({ u09t: 5 });
    expect(viewUsers(s, 60, 4)).toEqual({ u09t: 5 }); // built fresh: the same
    expect(viewUsers(s, 60, 6)).toEqual({ u09tvw: 4, u09tvx: 1 });
    expect(viewUsers(s, 60, 6, ['shop'])).toEqual({ u09tvw: 2 });
    expect(viewUsers(s, 10, 6)).toEqual({ u09tvw: 1 }); // the newest window only
    s.release(held);
  });

  it('rebuilds a view\'s users when windows leave it, and keeps them through freezing', () => {
    const s = new LiveStore({ windowMs: W, horizonMs: 300_000, freezeMs: 30_000 });
    const v = s.acquire(60, 6, { apps: [], campaigns: [] });
    s.viewReach(v);
    s.apply(delta(0, 1, [[0, 'u09tvw', 2, ['old1', 'old2']]]));
    s.apply(delta(0, 2, [[50_000, 'u09tvw', 1, ['new1']]]));
    expect(s.viewReach(v).get('u09tvw')!.users()).toBe(3);
    s.apply(delta(0, 3, [[60_000, 'u09tvw', 1, ['new2']]])); // window 0 leaves the 60 s view; 0-20 s freeze
    expect(s.viewReach(v).get('u09tvw')!.users()).toBe(2);
    const frozen = [...s.rows(0, 10_000)][0]!.base;
    expect(frozen.frozenReach).not.toBeNull();
    expect(s.reachOf(frozen)!.users()).toBe(2);
    expect(viewUsers(s, 300, 6)).toEqual({ u09tvw: 4 });
    s.release(v);
  });
});

describe('the live store\'s segment dictionary', () => {
  it('drops keys no cell names any more, and keeps the counts and users of the rest through the renumbering', () => {
    // 30 s held, the oldest of its 3 windows frozen; 3 new keys per window (a new campaign per event).
    const s = new LiveStore({ windowMs: W, horizonMs: 30_000, freezeMs: 20_000, compactKeysAt: 16 });
    const held = s.acquire(30, 6, { apps: ['shop-49'], campaigns: [] }); // before its key exists
    for (let w = 0; w < 50; w++) s.apply(delta(0, w + 1, [[w * W, 'u09tvw', 3, [`a${w}`, `b${w}`], [[`shop-${w}`, 2, [`a${w}`]], [`maps-${w}`, 1, [`b${w}`]], [`news-${w}`, 0, [`a${w}`]]]]]));
    expect(s.dictionarySize + s.stats.keysDropped).toBe(1 + 50 * 3); // "other" and every key ever seen
    expect(s.dictionarySize).toBeLessThanOrEqual(2 * (1 + 3 * 3) + 3); // at most twice what the last compaction kept, plus a window's
    const count = (app: string) => {
      const v = s.acquire(30, 6, { apps: [app], campaigns: [] });
      const n = v.cells.get('u09tvw')?.sum[0] ?? 0;
      s.release(v);
      return n;
    };
    expect([count('shop-47'), count('maps-47'), count('shop-49'), count('maps-49'), count('shop-46')]).toEqual([2, 1, 2, 1, 0]); // 47 is frozen, 49 open, 46 gone
    expect(held.cells.get('u09tvw')!.sum[0]).toBe(2); // a view held through it: its numbers forgotten, not mismatched
    expect(viewUsers(s, 30, 6)).toEqual({ u09tvw: 6 });
    expect([viewUsers(s, 30, 6, ['shop-47']), viewUsers(s, 30, 6, ['maps-49']), viewUsers(s, 30, 6, ['news-48'])]).toEqual([{ u09tvw: 1 }, { u09tvw: 1 }, { u09tvw: 1 }]);
    s.release(held);
  });
});

describe('reach in stream frames', () => {
  it('gives a viewer of a quiet view the view\'s totals at least once a second, whichever ticks its frames fall on', async () => {
    const { encode } = await import('../../../actors/model/index.js');
    let clock = 0;
    const hub = new StreamHub({ windowMs: W, horizonMs: 120_000, heartbeatMs: 1000, maxBuffered: 1 << 20, privacyK: 3 }, undefined, () => clock);
    hub.applyDeltas([delta(0, 1, [[0, 'u09tvw', [5, 1], ['a', 'b', 'c', 'a:click']], [0, 'xn76ur', 2, ['d', 'e']]])]);
    for (let t = 100; t <= 300; t += 100) hub.tick(t);
    const sent: Uint8Array[] = [];
    const v = hub.open({ send: (f) => (sent.push(f), true), buffered: () => 0 });
    clock = 350; // between two ticks, as a real subscription comes
    hub.message(v, encode({ type: 'subscribe', bbox: [-180, -90, 180, 90], precision: 6, windowS: 60, credit: 8 }));
    // Nothing changes: after the snapshot, frames are heartbeats, on ticks 14, 24, 34, … (never a tenth one).
    for (let t = 400; t <= 4_400; t += 100) hub.tick((clock = t));
    const frames = sent.map((f) => decode<CellsFrame>(f));
    expect(frames.map((f) => f.type)).toEqual(['snapshot', 'delta', 'delta', 'delta', 'delta']);
    expect(frames.map((f) => [f.viewUsers, f.withheld])).toEqual(Array.from({ length: 5 }, () => [5, 1]));
  });

  it('carries users per row and for the view; cells below k are left out of snapshots and removed by deltas', async () => {
    const { encode } = await import('../../../actors/model/index.js');
    const hub = new StreamHub({ windowMs: W, horizonMs: 120_000, heartbeatMs: 1000, maxBuffered: 1 << 20, privacyK: 3 }, undefined, () => 0);
    hub.applyDeltas([delta(0, 1, [[0, 'u09tvw', [5, 1], ['a', 'b', 'c', 'a:click']], [0, 'xn76ur', 2, ['d', 'e']]])]);
    const sent: Uint8Array[] = [];
    const v = hub.open({ send: (f) => (sent.push(f), true), buffered: () => 0 });
    hub.message(v, encode({ type: 'subscribe', bbox: [-180, -90, 180, 90], precision: 6, windowS: 60, credit: 8 }));
    hub.tick(100);
    const snap = decode<CellsFrame>(sent.at(-1)!);
    expect(snap.type).toBe('snapshot');
    expect(snap.cells).toEqual(['u09tvw']);
    expect([...snap.users!]).toEqual([3]);
    expect([...snap.impressionUsers!]).toEqual([3]);
    expect(snap).toMatchObject({ privacyK: 3, withheld: 1, viewUsers: 5 });
    expect(hub.stats.withheldRows).toBe(1); // the metric: rows held back from frames sent
    // xn76ur reaches k: it appears; u09tvw's window leaves the view later and takes its users along.
    hub.applyDeltas([delta(0, 2, [[0, 'xn76ur', 3, ['d', 'e', 'f']]])]);
    hub.tick(200);
    const d1 = decode<CellsFrame>(sent.at(-1)!);
    expect([d1.type, d1.cells, [...d1.total], [...d1.users!]]).toEqual(['delta', ['xn76ur'], [3], [3]]);
    // Only clicks subscribed: u09tvw has one clicking user, below k.
    const clicks: Uint8Array[] = [];
    const c = hub.open({ send: (f) => (clicks.push(f), true), buffered: () => 0 });
    hub.message(c, encode({ type: 'subscribe', bbox: [-180, -90, 180, 90], precision: 6, windowS: 60, credit: 8, types: ['click'] }));
    hub.tick(300);
    expect(decode<CellsFrame>(clicks.at(-1)!)).toMatchObject({ cells: [], withheld: 1, viewUsers: 1 });
  });

  it('without a floor every cell goes out, with its users', async () => {
    const { encode } = await import('../../../actors/model/index.js');
    const hub = new StreamHub({ windowMs: W, horizonMs: 120_000, heartbeatMs: 1000, maxBuffered: 1 << 20 }, undefined, () => 0);
    hub.applyDeltas([delta(0, 1, [[0, 'u09tvw', 1, ['a']]])]);
    const sent: Uint8Array[] = [];
    const v = hub.open({ send: (f) => (sent.push(f), true), buffered: () => 0 });
    hub.message(v, encode({ type: 'subscribe', bbox: [-180, -90, 180, 90], precision: 6, windowS: 60, credit: 8 }));
    hub.tick(100);
    expect(decode<CellsFrame>(sent.at(-1)!)).toMatchObject({ cells: ['u09tvw'], privacyK: 0, withheld: 0, viewUsers: 1 });
  });
});
