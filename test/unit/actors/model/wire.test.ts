import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EVENT_LIMITS, murmur2, packWireRecord, partitionFor, scanEventBatch, scanEventFrame, userHash, validateBatch, wireEvent,
  type AdEvent, type EventBatchRecord,
} from '../../../../actors/model/index.js';

const NOW = Date.UTC(2026, 5, 1);
// The gateway's decoder (gateway/ingest.ts): what the ordinary path sees.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const packr = new Packr({ useRecords: false });

/** A seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A msgpack writer that picks, at random, any of the encodings msgpack allows for a value (str8 for a
 * short string, map16 for a small map, float64 for an integer, ...): what other client libraries send.
 */
function writer(r: () => number) {
  const out: number[] = [];
  const u = (n: number, bytes: number) => {
    for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
  };
  const f64 = (v: number) => {
    const b = new DataView(new ArrayBuffer(8));
    b.setFloat64(0, v);
    out.push(0xcb, ...new Uint8Array(b.buffer));
  };
  const head = (n: number, fix: number, fixMax: number, c16: number, c32: number) => {
    const pick = r();
    if (n <= fixMax && pick < 0.6) out.push(fix | n);
    else if (n < 0x10000 && pick < 0.85) { out.push(c16); u(n, 2); } else { out.push(c32); u(n, 4); }
  };
  const value = (v: unknown): void => {
    if (typeof v === 'string') {
      const bytes = [...Buffer.from(v, 'utf8')];
      const pick = r();
      if (bytes.length < 32 && pick < 0.5) out.push(0xa0 | bytes.length);
      else if (bytes.length < 256 && pick < 0.7) out.push(0xd9, bytes.length);
      else if (pick < 0.85) { out.push(0xda); u(bytes.length, 2); } else { out.push(0xdb); u(bytes.length, 4); }
      out.push(...bytes);
    } else if (typeof v === 'number') {
      const pick = r();
      if (Number.isInteger(v) && v >= 0 && v < 128 && pick < 0.3) out.push(v);
      else if (Number.isInteger(v) && v >= 0 && v < 2 ** 32 && pick < 0.6) { out.push(0xce); u(v, 4); } else if (Number.isInteger(v) && v < 0 && v >= -128 && pick < 0.6) out.push(0xd0, v & 0xff);
      else if (Number.isInteger(v) && v >= 0 && pick < 0.7) { out.push(0xcf); u(v, 8); } // uint64: the ordinary path only
      else if (Math.fround(v) === v && pick < 0.85) {
        const b = new DataView(new ArrayBuffer(4));
        b.setFloat32(0, v);
        out.push(0xca, ...new Uint8Array(b.buffer));
      } else f64(v);
    } else if (typeof v === 'boolean') out.push(v ? 0xc3 : 0xc2);
    else if (v === null) out.push(0xc0);
    else if (Array.isArray(v)) {
      head(v.length, 0x90, 15, 0xdc, 0xdd);
      v.forEach(value);
    } else {
      const entries = Object.entries(v as object);
      head(entries.length, 0x80, 15, 0xde, 0xdf);
      for (const [k, x] of entries) {
        value(k);
        value(x);
      }
    }
  };
  return (v: unknown) => {
    out.length = 0;
    value(v);
    return Uint8Array.from(out);
  };
}

/** Valid events and ones a mutation made invalid (or unusual but valid), at random. */
function randomEvent(r: () => number): Record<string, unknown> {
  const e: Record<string, unknown> = {
    userId: `u-${Math.floor(r() * 1e6)}`,
    type: ['impression', 'click', 'install', 'purchase', 'session_start'][Math.floor(r() * 5)],
    ts: NOW - Math.floor(r() * 3_600_000),
    lat: Math.round((r() * 180 - 90) * 1e5) / 1e5,
    lon: r() < 0.1 ? 12.5 : Math.round((r() * 360 - 180) * 1e5) / 1e5,
  };
  if (r() < 0.5) e.appId = `app-${Math.floor(r() * 4)}`;
  if (r() < 0.5) e.campaignId = `cmp-${Math.floor(r() * 12)}`;
  if (r() < 0.3) e.value = Math.round(r() * 1000) / 10;
  if (r() < 0.2) e.props = { os: r() < 0.5 ? 'ios' : 'android', v: Math.floor(r() * 9), beta: r() < 0.5 };
  if (r() < 0.1) { e.type = 'custom'; e.name = 'level_up'; }
  if (r() < 0.3) {
    const mutations: (() => void)[] = [
      () => { e.lat = 91; },
      () => { e.type = 'toString'; },
      () => { e.userId = ''; },
      () => { e.userId = 'ü'.repeat(3); }, // valid, but not ASCII: the ordinary path
      () => { e.ts = (e.ts as number) + 0.5; },
      () => { e.ts = NOW + 3_600_000; },
      () => { e.extra = 1; },
      () => { e.name = 'x'; },
      () => { delete e.lon; },
      () => { e.value = null; },
      () => { e.props = { nested: { a: 1 } }; },
      () => { e.props = { ['k'.repeat(65)]: 1 }; },
      () => { e.campaignId = 'c'.repeat(65); },
      () => { e.value = 2e12; },
    ];
    mutations[Math.floor(r() * mutations.length)]!();
  }
  return e;
}

/** A map as msgpackr writes it, with one more entry (already encoded) appended. */
function withEntry(obj: object, entry: number[]): Uint8Array {
  const b = Uint8Array.from([...packr.pack(obj), ...entry]);
  if (b[0]! >= 0x80 && b[0]! <= 0x8e) b[0]!++;
  else if (b[0] === 0xde) b[2]!++; // map16 (fewer than 255 keys here)
  else throw new Error(`not a small map: 0x${b[0]!.toString(16)}`);
  return b;
}

/** The ordinary path: decode, then validate; `undefined` when the batch is refused as a whole. */
function ordinary(body: Uint8Array, allowSingle = true) {
  try {
    return validateBatch(unpackr.unpack(body), NOW, DEFAULT_EVENT_LIMITS, allowSingle);
  } catch {
    return undefined;
  }
}

describe('scanEventBatch: a batch checked in place', () => {
  it('agrees with decode + validate on 3000 seeded batches in any msgpack encoding: accepts only all-valid batches, and their bytes decode to the validated events', () => {
    const r = rng(7);
    const write = writer(r);
    let fast = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const events = Array.from({ length: 1 + Math.floor(r() * 8) }, () => randomEvent(r));
      const body = r() < 0.5 ? packr.pack(events) : write(events);
      const scanned = scanEventBatch(body, NOW, DEFAULT_EVENT_LIMITS);
      if (!scanned) continue;
      fast++;
      const slow = ordinary(body)!;
      expect(slow.errors).toEqual([]);
      expect(scanned.map((e) => unpackr.unpack(e.bytes) as unknown)).toEqual(slow.events);
      expect(scanned.map((e) => e.hash)).toEqual(slow.events.map((e) => userHash(e.userId)));
    }
    expect(fast).toBeGreaterThan(300); // the fast path is taken, not only declined
  });

  it('takes every all-valid ASCII batch msgpackr writes (what the JS clients send)', () => {
    const r = rng(11);
    for (let trial = 0; trial < 500; trial++) {
      const events = Array.from({ length: 1 + Math.floor(r() * 50) }, () => wireEventSource(r));
      const body = packr.pack(events);
      expect(ordinary(body)!.errors).toEqual([]);
      const scanned = scanEventBatch(body, NOW, DEFAULT_EVENT_LIMITS);
      expect(scanned?.length).toBe(events.length);
    }
  });

  it('a single event object is a batch of one, where allowed', () => {
    const e = { userId: 'u1', type: 'click', ts: NOW, lat: 1.5, lon: 2 };
    expect(scanEventBatch(packr.pack(e), NOW, DEFAULT_EVENT_LIMITS, true)?.map((w) => unpackr.unpack(w.bytes) as unknown)).toEqual([e]);
    expect(scanEventBatch(packr.pack(e), NOW, DEFAULT_EVENT_LIMITS, false)).toBeUndefined();
  });

  it.each([
    ['a repeated key', Uint8Array.from([0x91, ...withEntry({ userId: 'u', type: 'click', ts: NOW, lat: 0, lon: 0 }, [0xa3, 0x6c, 0x61, 0x74, 0x01])])],
    ['a props key __proto__', packr.pack([{ userId: 'u', type: 'click', ts: NOW, lat: 0, lon: 0, props: JSON.parse('{"__proto__": 1}') as object }])],
    ['a repeated props key', Uint8Array.from([0x91, ...withEntry({ userId: 'u', type: 'click', ts: NOW, lat: 0, lon: 0 }, [0xa5, ...Buffer.from('props'), 0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02])])],
    ['trailing bytes', Uint8Array.from([...packr.pack([{ userId: 'u', type: 'click', ts: NOW, lat: 0, lon: 0 }]), 0x00])],
    ['a truncated body', packr.pack([{ userId: 'u', type: 'click', ts: NOW, lat: 0, lon: 0 }]).subarray(0, 20)],
    ['an empty batch', packr.pack([])],
    ['more events than maxBatch', packr.pack(Array.from({ length: DEFAULT_EVENT_LIMITS.maxBatch + 1 }, () => ({ userId: 'u', type: 'click', ts: NOW, lat: 0, lon: 0 })))],
    ['NaN latitude', packr.pack([{ userId: 'u', type: 'click', ts: NOW, lat: NaN, lon: 0 }])],
  ])('declines %s', (_name, body) => {
    expect(scanEventBatch(body, NOW, DEFAULT_EVENT_LIMITS)).toBeUndefined();
  });

  it('the 64-bit ts that it declines is accepted by the ordinary path (client libraries other than JS write one)', () => {
    const ts = Buffer.alloc(9);
    ts[0] = 0xcf;
    ts.writeBigUInt64BE(BigInt(NOW), 1);
    const body = withEntry({ userId: 'u', type: 'click', lat: 0, lon: 0 }, [0xa2, 0x74, 0x73, ...ts]);
    expect(scanEventBatch(withEntry({ userId: 'u', type: 'click', lat: 0, lon: 0 }, [0xa2, 0x74, 0x73, 0xcb, ...Buffer.from(new Float64Array([NOW]).buffer).reverse()]), NOW, DEFAULT_EVENT_LIMITS)).toHaveLength(1);
    expect(scanEventBatch(body, NOW, DEFAULT_EVENT_LIMITS)).toBeUndefined();
    expect(ordinary(body)).toEqual({ events: [{ userId: 'u', type: 'click', lat: 0, lon: 0, ts: NOW }], acceptedIndexes: [0], errors: [] });
  });
});

/** A valid event with ASCII strings only. */
function wireEventSource(r: () => number): AdEvent {
  const e = randomEvent(rng(Math.floor(r() * 2 ** 31)));
  const ok = validateBatch([e], NOW, DEFAULT_EVENT_LIMITS).events[0];
  return ok && /^[\x20-\x7e]*$/.test(JSON.stringify(ok)) ? ok : { userId: 'fallback', type: 'click', ts: NOW, lat: 0, lon: 0 };
}

describe('scanEventFrame', () => {
  const events = [{ userId: 'u1', type: 'click', ts: NOW, lat: 1, lon: 2 }];
  it('reads {seq, events} in either order', () => {
    for (const frame of [{ seq: 7, events }, { events, seq: 7 }]) {
      const got = scanEventFrame(packr.pack(frame), NOW, DEFAULT_EVENT_LIMITS);
      expect(got?.seq).toBe(7);
      expect(got?.events.map((e) => unpackr.unpack(e.bytes) as unknown)).toEqual(events);
    }
  });
  it.each([
    ['a negative seq', { seq: -1, events }],
    ['a fractional seq', { seq: 1.5, events }],
    ['an extra key', { seq: 1, events, x: 1 }],
    ['a single event instead of an array', { seq: 1, events: events[0] }],
    ['an invalid event', { seq: 1, events: [{ ...events[0], lat: 100 }] }],
  ])('declines %s', (_name, frame) => {
    expect(scanEventFrame(packr.pack(frame), NOW, DEFAULT_EVENT_LIMITS)).toBeUndefined();
  });
});

describe('packWireRecord', () => {
  it.each([0, 3, 15, 16, 65535, 65536])('decodes to the record encode() gives, %i events', (n) => {
    const events: AdEvent[] = Array.from({ length: n }, (_, i) => ({ userId: `u${i % 7}`, type: 'click', ts: NOW + i, lat: 1, lon: 2 }));
    const record = unpackr.unpack(packWireRecord(NOW + 123, events.map(wireEvent))) as EventBatchRecord;
    expect(record).toEqual({ v: 1, at: NOW + 123, events });
  });
});

describe('the partitioner over bytes', () => {
  it('murmur2 of a range is murmur2 of that slice, and userHash picks the same partition as partitionFor', () => {
    const bytes = Buffer.from('xx-some-user-id-ü-yy');
    for (let start = 0; start < 5; start++) {
      for (let end = bytes.length - 4; end <= bytes.length; end++) expect(murmur2(bytes, start, end)).toBe(murmur2(bytes.subarray(start, end)));
    }
    for (const id of ['u1', 'user-ü-1', 'a'.repeat(400)]) {
      expect((userHash(id) & 0x7fffffff) % 12).toBe(partitionFor(id, 12));
      expect(userHash(id)).toBe(murmur2(Buffer.from(id, 'utf8')));
    }
  });
});
