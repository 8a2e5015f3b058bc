import { describe, expect, it } from 'vitest';
import { encode, EVENT_TYPES, type DeltaRecord } from '../../../actors/model/index.js';
import type { LiveAccess } from '../../../gateway/live/access.js';
import { StreamHub, type ViewerPort } from '../../../gateway/live/hub.js';
import { framedLength, withHeader } from '../../../gateway/live/frames.js';
import { LiveLink, RemoteLive } from '../../../gateway/live/remote.js';
import type { LiveDown, LiveUp } from '../../../gateway/protocol.js';

const W = 10_000;
const N = EVENT_TYPES.length;
const WORLD = [-180, -90, 180, 90] as const;

function delta(seq: number, rows: [string, number][]): DeltaRecord {
  const counts = new Uint32Array(rows.length * N);
  rows.forEach(([, n], i) => {
    counts[i * N] = n;
  });
  return {
    v: 1, partition: 0, epoch: 1, seq, at: 5000 + seq, oldestAt: 4000 + seq, precision: 6, windowMs: W,
    windows: new Float64Array(rows.length).fill(100_000), cells: rows.map((r) => r[0]), counts,
    values: new Float64Array(rows.length), users: new Uint32Array(rows.length),
  };
}

/**
 * A hub on the "main thread" and a worker's RemoteLive, joined by synchronous message passing with
 * structured clones (what postMessage does), the transfer list honoured.
 */
function wired(maxBuffered = 1 << 20) {
  const clock = { now: 0 };
  const hub = new StreamHub({ windowMs: W, horizonMs: 900_000, heartbeatMs: 1000, maxBuffered }, undefined, () => clock.now);
  const access: LiveAccess = {
    open: (port) => {
      const v = hub.open(port);
      return { message: (b) => hub.message(v, b), close: () => hub.close(v) };
    },
    query: async (path, qs) => ({ status: 200, body: { path, qs } }),
    ready: () => true,
    metrics: () => ({}),
  };
  const down: LiveDown[] = [];
  const up: LiveUp[] = [];
  const link = new LiveLink(access, (m, transfer) => down.push(structuredClone(m, { transfer: transfer ?? [] })));
  const remote = new RemoteLive((m, transfer) => up.push(structuredClone(m, { transfer: transfer ?? [] })));
  /** Delivers every pending message both ways, flushing the link's outbox. */
  const pump = async () => {
    for (let i = 0; i < 10; i++) {
      for (const m of up.splice(0)) link.receive(m);
      link.flush();
      for (const m of down.splice(0)) remote.receive(m);
      await Promise.resolve();
      if (up.length === 0 && down.length === 0) return;
    }
  };
  return { hub, clock, access, link, remote, pump, down, up };
}

/** A socket on the worker thread: what the route module gives the live view. */
function socket(bufferedBytes = 0) {
  const got: Uint8Array[] = [];
  const s = { buffered: bufferedBytes };
  const port: ViewerPort = { send: (f) => (got.push(new Uint8Array(f)), true), buffered: () => s.buffered };
  return { port, got, s };
}

describe('the live view across threads (LiveLink ↔ RemoteLive)', () => {
  it('delivers to a remote viewer the very bytes a local viewer of the same view gets, one body per flush', async () => {
    const w = wired();
    w.hub.applyDeltas([delta(1, [['u09tvw', 5], ['gcpvj0', 2]])]);
    const sub = encode({ type: 'subscribe', bbox: WORLD, precision: 6, windowS: 10, credit: 3 });
    const local = socket();
    const lv = w.access.open(local.port);
    const remotes = [socket(), socket()];
    const rvs = remotes.map((r) => w.remote.open(r.port));
    await w.pump();
    lv.message(sub);
    for (const rv of rvs) rv.message(new Uint8Array(sub));
    await w.pump();
    w.hub.applyDeltas([delta(2, [['u09tvw', 7]])]);
    w.clock.now = 1000;
    w.hub.tick(1000);
    const before = w.down.length;
    w.link.flush();
    expect(w.down.length - before).toBe(1); // one message for both viewers' frames
    const m = w.down.at(-1)!;
    expect(m.type === 'live-frames' && [m.bodies.length, m.frames.length]).toEqual([1, 8]);
    await w.pump();
    expect(local.got).toHaveLength(2);
    for (const r of remotes) expect(r.got).toEqual(local.got); // snapshot, then the delta, byte for byte
    expect(w.hub.viewerCount).toBe(3);
    rvs[0]!.close();
    await w.pump();
    expect(w.hub.viewerCount).toBe(2);
  });

  it('skips a remote viewer whose socket is full until the worker reports it drained', async () => {
    const w = wired(1000);
    w.hub.applyDeltas([delta(1, [['u09tvw', 5]])]);
    const r = socket();
    const rv = w.remote.open(r.port);
    rv.message(encode({ type: 'subscribe', bbox: WORLD, precision: 6, windowS: 10, credit: 8 }));
    await w.pump();
    expect(r.got).toHaveLength(1);
    r.s.buffered = 5000; // the client stopped reading
    w.hub.applyDeltas([delta(2, [['u09tvw', 6]])]);
    w.clock.now = 1000;
    w.hub.tick(1000);
    await w.pump();
    expect(r.got).toHaveLength(2); // the worker learns the socket is full only after this send
    w.hub.applyDeltas([delta(3, [['u09tvw', 7]])]);
    w.clock.now = 1100;
    w.hub.tick(1100);
    await w.pump();
    expect([r.got.length, w.hub.stats.skippedBusy]).toEqual([2, 1]);
    r.s.buffered = 0;
    // The worker re-reports a socket that held bytes until it is empty (its timer; called here directly).
    (w.remote as unknown as { report(ids: number[]): void }).report([]);
    await w.pump();
    w.clock.now = 1200;
    w.hub.tick(1200);
    await w.pump();
    expect(r.got).toHaveLength(3);
    w.remote.close();
  });

  it('answers queries and readiness through the main thread', async () => {
    const w = wired();
    expect(w.remote.ready()).toBe(false);
    w.link.ready(true);
    await w.pump();
    expect(w.remote.ready()).toBe(true);
    const answer = w.remote.query('/v1/top', 'limit=3');
    await w.pump();
    expect(await answer).toEqual({ status: 200, body: { path: '/v1/top', qs: 'limit=3' } });
  });
});

describe('framedLength', () => {
  it('is the length withHeader builds, for every size of seq and sub', () => {
    const body = encode({ type: 'delta', at: 1, cells: ['u09tvw'] });
    for (const seq of [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 31, 2 ** 32 - 1]) {
      for (const sub of [1, 200, 70_000]) expect([seq, sub, framedLength(body, seq, sub)]).toEqual([seq, sub, withHeader(body, seq, sub).byteLength]);
    }
  });
});
