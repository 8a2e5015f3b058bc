import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WS_CLOSE, isNack, partitionFor, type AdEvent } from '../../actors/model/index.js';
import { TrafficModel } from '../../bench/gateway-traffic.js';
import { WsProducer, postEvents } from '../../bench/gateway-client.js';
import { encodeMsgpack, revokeKey, readKeyFile } from '../../gateway/index.js';
import { ADME_BIN, waitFor } from '../support/env.js';
import { byUser, readEvents, testGateway, type TestGateway } from './gateway-helpers.js';

describe('ingestion gateway against real Kafka', () => {
  let t: TestGateway;
  let key: string;
  const sent: AdEvent[] = [];

  beforeAll(async () => {
    t = await testGateway();
    key = t.key(['ingest']);
  });
  afterAll(async () => {
    await t.gw.close();
  });

  it('answers 200 only for events it then reads back from the topic exactly as sent, in per-user order, on the user\'s partition', async () => {
    // Three producers run concurrently, each sending its own users' events in order (the order of one
    // user's events is defined by one producer's sequence of requests).
    const http = async (format: 'json' | 'msgpack', seed: number) => {
      const model = new TrafficModel({ seed, users: 40 });
      for (let i = 0; i < 15; i++) {
        const events = model.batch(1 + (i % 7) * 10, Date.now());
        sent.push(...events);
        const a = await postEvents(t.url, key, events, format);
        expect(a.status).toBe(200);
        expect(a.body).toEqual({ accepted: events.length });
      }
    };
    const ws = async () => {
      const model = new TrafficModel({ seed: 13, users: 40 });
      const p = await WsProducer.connect(`${t.url.replace('http', 'ws')}/v1/ingest`, key);
      for (let i = 0; i < 15; i++) {
        const events = model.batch(25, Date.now());
        sent.push(...events); // pushed before the await: per-user order is send order
        const r = await p.send(events);
        expect(r).toEqual({ seq: i, accepted: 25 });
      }
      await p.close();
    };
    await Promise.all([http('json', 11), http('msgpack', 12), ws()]);

    const got = await readEvents(t.cfg.topic, sent.length);
    const all = [...got.values()].flat();
    expect(all).toHaveLength(sent.length);
    for (const [partition, events] of got) expect(events.every((e) => partitionFor(e.userId, 4) === partition)).toBe(true);
    // Exactly as sent, per user, in order (users are spread over partitions; one user's events sit on one).
    const want = byUser(sent);
    const have = byUser([...got.values()].flat());
    expect(have.size).toBe(want.size);
    for (const [user, events] of want) expect(have.get(user)).toEqual(events);
  });

  it('accepts the valid siblings of a batch with invalid events, names the others, and only the valid ones reach Kafka', async () => {
    const t2 = await testGateway();
    try {
      const k = t2.key(['ingest']);
      const good = (i: number): AdEvent => ({ userId: `mixed-${i}`, type: 'purchase', ts: Date.now(), lat: 10, lon: 20, value: i, id: `m${i}` });
      const body = [good(0), { ...good(1), lat: 'x' }, good(2), { ...good(3), ts: 5 }, good(4)];
      const a = await postEvents(t2.url, k, body as AdEvent[], 'json');
      expect(a.status).toBe(400);
      expect(a.body).toMatchObject({ code: 'GW_BAD_EVENT', retriable: false, accepted: 3, acceptedIndexes: [0, 2, 4] });
      expect((a.body.errors as { index: number; field: string }[]).map((e) => `${e.index}:${e.field}`)).toEqual(['1:lat', '3:ts']);
      const got = [...(await readEvents(t2.cfg.topic, 3)).values()].flat();
      expect(got.map((e) => e.id).sort()).toEqual(['m0', 'm2', 'm4']);
    } finally {
      await t2.gw.close();
    }
  });

  it('401 without a key or with an unknown or revoked one, 403 without ingest scope, 415, 413', async () => {
    const e: AdEvent = { userId: 'x', type: 'click', ts: Date.now(), lat: 0, lon: 0 };
    expect((await postEvents(t.url, undefined, [e])).status).toBe(401);
    expect((await postEvents(t.url, `${key.slice(0, -2)}xx`, [e])).status).toBe(401);
    const inQuery = await fetch(`${t.url}/v1/events?key=${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(e) });
    expect(inQuery.status).toBe(401); // the query form is for WebSocket upgrades only
    const viewer = t.key(['view']);
    const forbidden = await postEvents(t.url, viewer, [e]);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ code: 'GW_FORBIDDEN', retriable: false });

    const wrongType = await fetch(`${t.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' }, body: JSON.stringify(e) });
    expect(wrongType.status).toBe(415);
    const big = await fetch(`${t.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: Buffer.alloc(t.cfg.maxBodyBytes + 10, 32) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 'GW_BODY_TOO_LARGE' });
    const many = await postEvents(t.url, key, Array.from({ length: t.cfg.limits.maxBatch + 1 }, () => e));
    expect(many.status).toBe(413);
    expect(many.body).toMatchObject({ code: 'GW_BATCH_TOO_LARGE' });

    const temp = t.key(['ingest']);
    expect((await postEvents(t.url, temp, [e])).status).toBe(200);
    const id = readKeyFile(t.keysFile).keys.at(-1)!.id;
    revokeKey(t.keysFile, id);
    await waitFor('the revoked key to be refused', async () => (await postEvents(t.url, temp, [e])).status === 401, 10_000);
  });

  it('adme keys create prints the secret alone on the last line of stdout; list never shows it', async () => {
    const out = execFileSync(process.execPath, [ADME_BIN, 'keys', 'create', '--scope', 'ingest', '--label', 'cli', '--keys-file', t.keysFile], { encoding: 'utf8' });
    const secret = out.trimEnd().split('\n').at(-1)!;
    expect(secret).toMatch(/^adme_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    t.gw.keys.reload();
    expect((await postEvents(t.url, secret, [{ userId: 'cli', type: 'click', ts: Date.now(), lat: 0, lon: 0 }])).status).toBe(200);
    const list = execFileSync(process.execPath, [ADME_BIN, 'keys', 'list', '--json', '--keys-file', t.keysFile], { encoding: 'utf8' });
    expect(list).not.toContain(secret.slice(18));
    expect((JSON.parse(list) as { label?: string; scopes: string[] }[]).filter((k) => k.label === 'cli').map((k) => k.scopes)).toEqual([['ingest']]);
  });

  it('429 with Retry-After once a key is over its rate', async () => {
    const slow = t.key(['ingest'], { rate: 10, burst: 20 });
    const events = Array.from({ length: 20 }, (_, i): AdEvent => ({ userId: `r${i}`, type: 'impression', ts: Date.now(), lat: 0, lon: 0 }));
    expect((await postEvents(t.url, slow, events)).status).toBe(200);
    const limited = await postEvents(t.url, slow, events.slice(0, 5));
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'GW_RATE_LIMITED', retriable: true, accepted: 0 });
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('WebSocket: acks, nacks naming fields, key in the query, and clear close codes for bad frames and ignored windows', async () => {
    const wsUrl = `${t.url.replace('http', 'ws')}/v1/ingest`;
    const p = await WsProducer.connect(wsUrl, key, 16, true);
    const good: AdEvent = { userId: 'w', type: 'click', ts: Date.now(), lat: 1, lon: 1 };
    expect(await p.send([good])).toEqual({ seq: 0, accepted: 1 });
    const r = await p.send([good, { ...good, lon: 181 }]);
    expect(isNack(r)).toBe(true);
    expect(r).toMatchObject({ seq: 1, accepted: 1, acceptedIndexes: [0], error: { code: 'GW_BAD_EVENT' }, errors: [{ index: 1, field: 'lon' }] });
    const empty = await p.send([]);
    expect(empty).toMatchObject({ seq: 2, accepted: 0, error: { code: 'GW_EMPTY_BATCH', retriable: false } });
    void p.sendRaw(Buffer.from([0x92, 0x01]), 99); // truncated msgpack
    await p.whenClosed();
    expect([p.closeCode, p.closeReason]).toEqual([WS_CLOSE.BAD_FRAME, 'malformed msgpack: Unexpected end of MessagePack data']);

    // A client that ignores the window: more than 2 x window frames without waiting for acks. Small
    // frames, so they arrive in one read, before any Kafka ack can come back.
    const rude = await WsProducer.connect(wsUrl, key, 1);
    const frames = Array.from({ length: 2 * t.cfg.wsWindow + 8 }, (_, i) => encodeMsgpack({ seq: i, events: [good] }));
    for (const [i, f] of frames.entries()) void rude.sendRaw(f, i);
    await waitFor('the rude client to be closed', () => rude.closeCode !== undefined, 10_000);
    expect(rude.closeCode).toBe(WS_CLOSE.WINDOW_EXCEEDED);
    expect(rude.closeReason).toBe(`more than ${2 * t.cfg.wsWindow} frames without acks: keep at most ${t.cfg.wsWindow} in flight`);

    const refused = new WebSocket(wsUrl);
    const status = await new Promise<number>((resolve) => refused.on('unexpected-response', (_q, res) => resolve(res.statusCode!)));
    expect(status).toBe(401);
  });

  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    // Ready once Kafka answers and the live view has replayed its (empty) deltas topic.
    const ready = await waitFor('/readyz 200', async () => {
      const r = await fetch(`${t.url}/readyz`);
      return r.status === 200 ? r : undefined;
    });
    expect(await ready.json()).toEqual({ status: 'ready' });
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const value = (line: string) => Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ').at(-1));
    expect(value('adme_gateway_events_accepted_total{transport="http"}')).toBeGreaterThan(0);
    expect(value('adme_gateway_events_rejected_total{reason="GW_RATE_LIMITED"}')).toBe(5);
    expect(value('adme_gateway_produce_duration_seconds_count')).toBeGreaterThan(0);
    expect(value('adme_gateway_bytes_in_flight')).toBe(0);
    expect(text).toContain('# TYPE adme_gateway_produce_duration_seconds histogram');
  });
});
