import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EVENT_LIMITS } from '../../../actors/model/index.js';
import { GatewayError } from '../../../gateway/errors.js';
import { answer, checkHttpBatch } from '../../../gateway/ingest.js';

const NOW = 1_767_000_000_000;
const packr = new Packr({ useRecords: false });
const MAX_BODY = 1024 * 1024;
const ok = { userId: 'u1', type: 'click', ts: NOW, lat: 48.85, lon: 2.35 };

const json = (v: unknown) => ({ ct: 'application/json', body: Buffer.from(JSON.stringify(v)) });
const mp = (v: unknown) => ({ ct: 'application/msgpack', body: packr.pack(v) });
const raw = (ct: string, s: string | Buffer) => ({ ct, body: Buffer.isBuffer(s) ? s : Buffer.from(s) });

/** The status the gateway would answer and the fields it names (`index:field`), without any server. */
function outcome(input: { ct: string; body: Buffer }): { status: number; fields: string[]; code: string } {
  try {
    const batch = checkHttpBatch(input.ct, input.body, NOW, DEFAULT_EVENT_LIMITS, MAX_BODY);
    const a = answer(batch);
    const body = a.body as { code?: string; errors?: { index?: number; field: string }[] };
    return { status: a.status, code: body.code ?? 'OK', fields: (body.errors ?? []).map((e) => `${e.index ?? '-'}:${e.field}`) };
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    return { status: err.status, code: err.code, fields: err.errors.map((e) => `${e.index ?? '-'}:${e.field}`) };
  }
}

const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};
const truncated = packr.pack([ok, ok]).subarray(0, 20);
const over = Array.from({ length: DEFAULT_EVENT_LIMITS.maxBatch + 1 }, () => ok);

// [name, input, status, code, fields named]
const table: [string, { ct: string; body: Buffer }, number, string, string[]][] = [
  // Wrong types
  ['userId number', json({ ...ok, userId: 7 }), 400, 'GW_BAD_EVENT', ['0:userId']],
  ['userId null', json({ ...ok, userId: null }), 400, 'GW_BAD_EVENT', ['0:userId']],
  ['userId missing', json({ type: 'click', ts: NOW, lat: 1, lon: 1 }), 400, 'GW_BAD_EVENT', ['0:userId']],
  ['userId empty', json({ ...ok, userId: '' }), 400, 'GW_BAD_EVENT', ['0:userId']],
  ['type unknown', json({ ...ok, type: 'view' }), 400, 'GW_BAD_EVENT', ['0:type']],
  ['type number', json({ ...ok, type: 3 }), 400, 'GW_BAD_EVENT', ['0:type']],
  ['type missing', json({ userId: 'u', ts: NOW, lat: 1, lon: 1 }), 400, 'GW_BAD_EVENT', ['0:type']],
  ['custom without name', json({ ...ok, type: 'custom' }), 400, 'GW_BAD_EVENT', ['0:name']],
  ['name on non-custom', json({ ...ok, name: 'x' }), 400, 'GW_BAD_EVENT', ['0:name']],
  ['custom name number', json({ ...ok, type: 'custom', name: 5 }), 400, 'GW_BAD_EVENT', ['0:name']],
  ['ts string', json({ ...ok, ts: String(NOW) }), 400, 'GW_BAD_EVENT', ['0:ts']],
  ['ts fraction', json({ ...ok, ts: NOW + 0.5 }), 400, 'GW_BAD_EVENT', ['0:ts']],
  ['ts in seconds (too old)', json({ ...ok, ts: Math.floor(NOW / 1000) }), 400, 'GW_BAD_EVENT', ['0:ts']],
  ['ts too far in the future', json({ ...ok, ts: NOW + DEFAULT_EVENT_LIMITS.tsFutureMs + 1 }), 400, 'GW_BAD_EVENT', ['0:ts']],
  ['ts too old', json({ ...ok, ts: NOW - DEFAULT_EVENT_LIMITS.tsPastMs - 1 }), 400, 'GW_BAD_EVENT', ['0:ts']],
  ['ts missing', json({ userId: 'u', type: 'click', lat: 1, lon: 1 }), 400, 'GW_BAD_EVENT', ['0:ts']],
  ['lat string', json({ ...ok, lat: '48.85' }), 400, 'GW_BAD_EVENT', ['0:lat']],
  ['lat NaN (msgpack)', mp({ ...ok, lat: NaN }), 400, 'GW_BAD_EVENT', ['0:lat']],
  ['lon Infinity (msgpack)', mp({ ...ok, lon: Infinity }), 400, 'GW_BAD_EVENT', ['0:lon']],
  ['lat -Infinity (msgpack)', mp({ ...ok, lat: -Infinity }), 400, 'GW_BAD_EVENT', ['0:lat']],
  ['lat above 90', json({ ...ok, lat: 90.0001 }), 400, 'GW_BAD_EVENT', ['0:lat']],
  ['lat below -90', json({ ...ok, lat: -91 }), 400, 'GW_BAD_EVENT', ['0:lat']],
  ['lon above 180', json({ ...ok, lon: 180.5 }), 400, 'GW_BAD_EVENT', ['0:lon']],
  ['lon below -180', json({ ...ok, lon: -200 }), 400, 'GW_BAD_EVENT', ['0:lon']],
  ['lat missing', json({ userId: 'u', type: 'click', ts: NOW, lon: 1 }), 400, 'GW_BAD_EVENT', ['0:lat']],
  ['lon null', json({ ...ok, lon: null }), 400, 'GW_BAD_EVENT', ['0:lon']],
  ['value string', json({ ...ok, value: '9.99' }), 400, 'GW_BAD_EVENT', ['0:value']],
  ['value huge', json({ ...ok, value: 1e15 }), 400, 'GW_BAD_EVENT', ['0:value']],
  ['value NaN (msgpack)', mp({ ...ok, value: NaN }), 400, 'GW_BAD_EVENT', ['0:value']],
  ['value bigint (msgpack uint64)', mp({ ...ok, value: 2n ** 63n }), 400, 'GW_BAD_EVENT', ['0:value']],
  // Huge strings
  ['userId over 128 chars', json({ ...ok, userId: 'u'.repeat(129) }), 400, 'GW_BAD_EVENT', ['0:userId']],
  ['userId of 1 MB', json({ ...ok, userId: 'u'.repeat(1_000_000) }), 400, 'GW_BAD_EVENT', ['0:userId']],
  ['id over 64 chars', json({ ...ok, id: 'i'.repeat(65) }), 400, 'GW_BAD_EVENT', ['0:id']],
  ['appId over 64 chars', json({ ...ok, appId: 'a'.repeat(65) }), 400, 'GW_BAD_EVENT', ['0:appId']],
  ['campaignId number', json({ ...ok, campaignId: 12 }), 400, 'GW_BAD_EVENT', ['0:campaignId']],
  ['props value over 256 chars', json({ ...ok, props: { note: 'x'.repeat(257) } }), 400, 'GW_BAD_EVENT', ['0:props.note']],
  ['props key over 64 chars', json({ ...ok, props: { ['k'.repeat(65)]: 1 } }), 400, 'GW_BAD_EVENT', [`0:props.${'k'.repeat(64)}…`]],
  ['props too many keys', json({ ...ok, props: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) }), 400, 'GW_BAD_EVENT', ['0:props']],
  ['props is an array', json({ ...ok, props: [1, 2] }), 400, 'GW_BAD_EVENT', ['0:props']],
  ['props is a string', json({ ...ok, props: 'a=1' }), 400, 'GW_BAD_EVENT', ['0:props']],
  // Deep nesting
  ['props nested object', json({ ...ok, props: { a: { b: 1 } } }), 400, 'GW_BAD_EVENT', ['0:props.a']],
  ['props nested array', json({ ...ok, props: { tags: ['a', 'b'] } }), 400, 'GW_BAD_EVENT', ['0:props.tags']],
  ['props null value', json({ ...ok, props: { a: null } }), 400, 'GW_BAD_EVENT', ['0:props.a']],
  ['deeply nested props (JSON, depth 10000)', raw('application/json', `{"userId":"u","type":"click","ts":${NOW},"lat":1,"lon":1,"props":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`), 400, 'GW_BAD_EVENT', ['0:props.a']],
  ['deeply nested event (msgpack, depth 200)', mp(nested(200)), 400, 'GW_BAD_EVENT', ['0:a', '0:userId', '0:type', '0:ts', '0:lat', '0:lon']],
  ['array nested 100000 deep (JSON)', raw('application/json', `${'['.repeat(100_000)}${']'.repeat(100_000)}`), 400, 'GW_BAD_EVENT', ['0:(event)']],
  // Unknown fields
  ['unknown field', json({ ...ok, latitude: 1 }), 400, 'GW_BAD_EVENT', ['0:latitude']],
  ['event is a string', json(['click']), 400, 'GW_BAD_EVENT', ['0:(event)']],
  ['event is null', json([null]), 400, 'GW_BAD_EVENT', ['0:(event)']],
  // Whole-body problems
  ['truncated msgpack', raw('application/msgpack', truncated), 400, 'GW_BAD_BODY', ['-:(body)']],
  ['msgpack with trailing bytes', raw('application/msgpack', Buffer.concat([packr.pack([ok]), Buffer.from([1])])), 400, 'GW_BAD_BODY', ['-:(body)']],
  ['malformed JSON', raw('application/json', '[{"userId": "u",'), 400, 'GW_BAD_BODY', ['-:(body)']],
  ['empty body', raw('application/json', ''), 400, 'GW_BAD_BODY', ['-:(body)']],
  ['JSON number body', json(42), 400, 'GW_BAD_BATCH', ['-:(batch)']],
  ['JSON null body', json(null), 400, 'GW_BAD_BATCH', ['-:(batch)']],
  ['empty batch', json([]), 400, 'GW_EMPTY_BATCH', ['-:(batch)']],
  ['empty batch (msgpack)', mp([]), 400, 'GW_EMPTY_BATCH', ['-:(batch)']],
  ['batch over the limit', json(over), 413, 'GW_BATCH_TOO_LARGE', []],
  ['body over the limit', raw('application/json', Buffer.alloc(MAX_BODY + 1, 32)), 413, 'GW_BODY_TOO_LARGE', []],
  ['wrong content type: text/plain', raw('text/plain', JSON.stringify(ok)), 415, 'GW_UNSUPPORTED_MEDIA_TYPE', []],
  ['missing content type', raw('', JSON.stringify(ok)), 415, 'GW_UNSUPPORTED_MEDIA_TYPE', []],
  ['form content type', raw('application/x-www-form-urlencoded', 'userId=u'), 415, 'GW_UNSUPPORTED_MEDIA_TYPE', []],
  ['msgpack sent as JSON', raw('application/json', packr.pack([ok])), 400, 'GW_BAD_BODY', ['-:(body)']],
];

describe('ingest validation table (status and field named, no server)', () => {
  it('has at least 40 bad inputs', () => {
    expect(table.length).toBeGreaterThanOrEqual(40);
  });

  it.each(table)('%s', (_name, input, status, code, fields) => {
    const got = outcome(input);
    expect(got.status).toBe(status);
    expect(got.code).toBe(code);
    if (status === 400 || fields.length > 0) expect(got.fields).toEqual(fields);
  });

  it('a batch with invalid events accepts exactly the valid siblings and names the others', () => {
    const a = answer(checkHttpBatch('application/json', Buffer.from(JSON.stringify([ok, { ...ok, lat: 95 }, ok, { ...ok, type: 'x', lon: 999 }])), NOW, DEFAULT_EVENT_LIMITS, MAX_BODY));
    expect(a.status).toBe(400);
    expect(a.body).toEqual({
      code: 'GW_BAD_EVENT', retriable: false, accepted: 2, acceptedIndexes: [0, 2],
      message: '2 of 4 events are invalid and were not accepted; the other 2 were',
      errors: [
        { index: 1, field: 'lat', reason: 'must be between -90 and 90, got 95' },
        { index: 3, field: 'type', reason: 'must be one of impression, click, install, purchase, session_start, custom' },
        { index: 3, field: 'lon', reason: 'must be between -180 and 180, got 999' },
      ],
    });
  });

  it.each([
    ['application/json', json([ok, ok])],
    ['application/json; charset=utf-8', raw('application/json; charset=utf-8', JSON.stringify(ok))],
    ['application/msgpack', mp([ok])],
    ['application/x-msgpack', raw('application/x-msgpack', packr.pack(ok))],
  ])('accepts %s', (_ct, input) => {
    const got = outcome(input);
    expect(got).toEqual({ status: 200, code: 'OK', fields: [] });
  });
});
