import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdEvent } from '../../actors/model/index.js';
import { WsProducer, postEvents } from '../../bench/gateway-client.js';
import { down, up } from '../../stack/index.js';
import { stackConfig, waitFor } from '../support/env.js';
import { readEvents, testGateway, type TestGateway } from './gateway-helpers.js';

const c = stackConfig();
const quiet = () => undefined;

describe('gateway with Kafka stopped and restarted', () => {
  let t: TestGateway;
  let key: string;

  beforeAll(async () => {
    t = await testGateway({ ADME_PRODUCE_TIMEOUT_MS: '2000' });
    key = t.key(['ingest']);
  });
  afterAll(async () => {
    await up(c, quiet, ['kafka']); // never leave the stack down for the next test file
    await t.gw.close();
  });

  it('answers 503 with Retry-After while Kafka is down, and exactly the events that got 200 are in the topic', async () => {
    let n = 0;
    const accepted = new Set<string>();
    const statuses: number[] = [];
    const send = async (): Promise<number> => {
      const events = Array.from({ length: 5 }, (_, i): AdEvent => ({ userId: `out-${n % 13}`, type: 'impression', ts: Date.now(), lat: 1, lon: 1, id: `e${n}-${i}` }));
      n++;
      const a = await postEvents(t.url, key, events, 'msgpack');
      statuses.push(a.status);
      if (a.status === 200) for (const e of events) accepted.add(e.id!);
      else {
        expect(a.status).toBe(503);
        expect(a.body).toMatchObject({ code: 'GW_KAFKA_UNAVAILABLE', retriable: true, accepted: 0 });
        expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
      }
      return a.status;
    };

    for (let i = 0; i < 10; i++) expect(await send()).toBe(200);

    // Traffic keeps flowing while the broker stops and starts again.
    let stop = false;
    const background = (async () => {
      while (!stop) await send();
    })();
    await down(c, quiet, ['kafka']);
    await waitFor('a 503 while Kafka is down', async () => (await send()) === 503, 60_000, 50);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(503);
    // Answered at once while down: nothing is produced, nothing waits.
    const t0 = Date.now();
    expect(await send()).toBe(503);
    expect(Date.now() - t0).toBeLessThan(1000);
    const ws = await WsProducer.connect(`${t.url.replace('http', 'ws')}/v1/ingest`, key);
    const nack = await ws.send([{ userId: 'ws-out', type: 'click', ts: Date.now(), lat: 0, lon: 0, id: 'ws-down' }]);
    expect(nack).toMatchObject({ seq: 0, accepted: 0, error: { code: 'GW_KAFKA_UNAVAILABLE', retriable: true } });
    await ws.close();

    await up(c, quiet, ['kafka']);
    await waitFor('the gateway to accept again', async () => (await fetch(`${t.url}/readyz`)).status === 200, 60_000);
    for (let i = 0; i < 10; i++) expect(await send()).toBe(200);
    stop = true;
    await background;

    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    const got = [...(await readEvents(t.cfg.topic, accepted.size, 60_000)).values()].flat();
    // No more, no fewer: every 200 is there once, nothing answered 503 is.
    expect(got.map((e) => e.id).sort()).toEqual([...accepted].sort());
  });
});
