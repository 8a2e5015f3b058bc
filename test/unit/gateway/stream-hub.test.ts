import { describe, expect, it } from 'vitest';
import { decode, encode, EVENT_TYPES, type CellsFrame, type DeltaRecord, type ErrorFrame } from '../../../actors/model/index.js';
import { withHeader } from '../../../gateway/live/frames.js';
import { StreamHub, type ViewerPort } from '../../../gateway/live/hub.js';

const W = 10_000;
const N = EVENT_TYPES.length;
const WORLD = [-180, -90, 180, 90] as const;

function delta(seq: number, rows: [string, number][], partition = 0): DeltaRecord {
  const counts = new Uint32Array(rows.length * N);
  rows.forEach(([, n], i) => {
    counts[i * N] = n;
  });
  return {
    v: 1, partition, epoch: 1, seq, at: 5000 + seq, oldestAt: 4000 + seq, precision: 6, windowMs: W,
    windows: new Float64Array(rows.length).fill(100_000), cells: rows.map((r) => r[0]), counts,
    values: new Float64Array(rows.length), users: new Uint32Array(rows.length),
  };
}

function fakeViewer(hub: StreamHub, buffered = 0) {
  const frames: (CellsFrame | ErrorFrame)[] = [];
  const port: ViewerPort = { send: (f) => (frames.push(decode(f)), true), buffered: () => buffered };
  const v = hub.open(port);
  return { v, frames, say: (m: unknown) => hub.message(v, encode(m)) };
}

const rows = (f: CellsFrame) => Object.fromEntries(f.cells.map((c, i) => [c, f.total[i]]));
/** A hub on a fake clock: `clock.now` is what a message handler sees; tests tick at explicit times. */
const clock = { now: 0 };
const hubOf = () => new StreamHub({ windowMs: W, horizonMs: 900_000, heartbeatMs: 1000, maxBuffered: 1 << 20 }, undefined, () => clock.now);
function tickAt(hub: StreamHub, t: number): void {
  clock.now = t;
  hub.tick(t);
}

describe('StreamHub', () => {
  it('answers a subscribe with a snapshot, then sends only with credit, at most one frame per tick, newest state only', () => {
    const hub = hubOf();
    hub.applyDeltas([delta(1, [['u09tvw', 5], ['gcpvj0', 2]])]);
    const a = fakeViewer(hub);
    clock.now = 990;
    a.say({ type: 'subscribe', bbox: WORLD, precision: 6, windowS: 10 }); // answered at once
    expect(a.frames).toHaveLength(1);
    tickAt(hub, 1000);
    expect(a.frames).toHaveLength(1);
    const snap = a.frames[0] as CellsFrame;
    expect(snap).toMatchObject({ type: 'snapshot', seq: 1, sub: 1, from: 100_000, to: 110_000, windowS: 10, precision: 6, dataAt: 5001 });
    expect(rows(snap)).toEqual({ u09tvw: 5, gcpvj0: 2 });

    // Two changes while the viewer has no credit: nothing is sent, nothing queues.
    hub.applyDeltas([delta(2, [['u09tvw', 6]])]);
    hub.applyDeltas([delta(3, [['u09tvw', 9]])]);
    tickAt(hub, 1100);
    expect(a.frames).toHaveLength(1);
    clock.now = 1150;
    a.say({ type: 'credit' }); // it missed tick 1100: served at once, with that tick's state
    expect(a.frames).toHaveLength(2);
    const d = a.frames[1] as CellsFrame;
    expect(d).toMatchObject({ type: 'delta', seq: 2, sub: 1, oldestAt: 4002 });
    expect(rows(d)).toEqual({ u09tvw: 9 }); // the newest value, one row
    expect(Array.from(d.counts.subarray(0, N))).toEqual([9, 0, 0, 0, 0, 0]);

    // Plenty of credit: still one frame per tick.
    hub.applyDeltas([delta(4, [['gcpvj0', 3]])]);
    a.say({ type: 'credit', n: 5 }); // already served in this tick: waits
    expect(a.frames).toHaveLength(2);
    tickAt(hub, 1200);
    hub.applyDeltas([delta(5, [['gcpvj0', 4]])]);
    tickAt(hub, 1200);
    expect(a.frames).toHaveLength(4);
    expect(rows(a.frames[2] as CellsFrame)).toEqual({ gcpvj0: 3 });
    expect(rows(a.frames[3] as CellsFrame)).toEqual({ gcpvj0: 4 });
  });

  it('sends nothing outside the viewport, and sums the subscribed types only', () => {
    const hub = hubOf();
    const paris = fakeViewer(hub);
    paris.say({ type: 'subscribe', bbox: [2, 48, 3, 49.5], precision: 4, windowS: 10, types: ['impression'], credit: 8 });
    hub.applyDeltas([delta(1, [['u09tvw', 5], ['u09tvx', 1], ['xn76ur', 7]])]); // two in Paris, one in Tokyo
    tickAt(hub, 1000);
    hub.applyDeltas([delta(2, [['xn76ur', 8]])]);
    tickAt(hub, 1200); // only Tokyo changed: nothing is sent
    hub.applyDeltas([delta(3, [['u09tvw', 6]])]);
    tickAt(hub, 1400);
    expect(paris.frames.map((f) => (f as CellsFrame).type)).toEqual(['snapshot', 'delta', 'delta']);
    expect(paris.frames.map((f) => rows(f as CellsFrame))).toEqual([{}, { u09t: 6 }, { u09t: 7 }]);
  });

  it('shares one encoding between viewers asking for the same frame, each with its own seq', () => {
    const hub = hubOf();
    hub.applyDeltas([delta(1, [['u09tvw', 5]])]);
    const viewers = Array.from({ length: 50 }, () => fakeViewer(hub));
    for (const x of viewers) x.say({ type: 'subscribe', bbox: WORLD, precision: 3, windowS: 60, credit: 2 });
    hub.applyDeltas([delta(2, [['u09tvw', 6]])]);
    tickAt(hub, 1100);
    expect(hub.stats.encodings).toBe(2); // the snapshot when they subscribed, the delta at the tick
    expect(hub.stats.frames).toBe(100);
    expect(viewers.every((x) => x.frames.map((f) => (f as CellsFrame).seq).join() === '1,2')).toBe(true);
  });

  it('resends a snapshot on resync, on a delta gap, and skips a viewer whose socket is full', () => {
    const hub = hubOf();
    hub.applyDeltas([delta(1, [['u09tvw', 5]])]);
    const a = fakeViewer(hub);
    const busy = fakeViewer(hub, 2 << 20);
    a.say({ type: 'subscribe', bbox: WORLD, precision: 6, windowS: 10, credit: 8 });
    busy.say({ type: 'subscribe', bbox: WORLD, precision: 6, windowS: 10, credit: 8 });
    tickAt(hub, 1000);
    a.say({ type: 'resync' });
    tickAt(hub, 1100);
    hub.applyDeltas([delta(5, [['u09tvw', 9]])]); // seq 2-4 lost
    tickAt(hub, 1200);
    expect(a.frames.map((f) => (f as CellsFrame).type)).toEqual(['snapshot', 'snapshot', 'snapshot']);
    expect(rows(a.frames[2] as CellsFrame)).toEqual({ u09tvw: 9 });
    expect(busy.frames).toHaveLength(0);
    expect(hub.stats.skippedBusy).toBe(4); // when it subscribed and at each of the three ticks
  });

  it('answers a bad message with an error naming the problem and keeps the subscription', () => {
    const hub = hubOf();
    const a = fakeViewer(hub);
    a.say({ type: 'subscribe', bbox: WORLD, precision: 6, windowS: 10 });
    a.say({ type: 'subscribe', bbox: WORLD, precision: 9 });
    a.say({ type: 'zoom' });
    hub.message(a.v, Uint8Array.of(0x82, 0xa1)); // a map cut short
    expect(a.frames[0]).toMatchObject({ type: 'snapshot', sub: 1, precision: 6 });
    expect(a.frames.slice(1, 3)).toEqual([
      { type: 'error', code: 'STREAM_BAD_MESSAGE', message: 'subscribe.precision must be an integer 1-6, got 9' },
      { type: 'error', code: 'STREAM_BAD_MESSAGE', message: 'unknown message type "zoom" (expected subscribe, credit or resync)' },
    ]);
    expect((a.frames[3] as ErrorFrame).message).toMatch(/^not msgpack/);
    a.say({ type: 'credit' });
    tickAt(hub, 1000);
    expect(a.frames).toHaveLength(4); // nothing new to send
    expect(hub.viewerCount).toBe(1);
  });

  it('withHeader adds seq and sub to any encoded map', () => {
    for (const body of [{ a: 1 }, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]))]) {
      expect(decode(withHeader(encode(body), 7, 3))).toEqual({ seq: 7, sub: 3, ...body });
    }
  });
});
