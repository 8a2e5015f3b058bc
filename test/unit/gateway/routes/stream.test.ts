import { describe, expect, it } from 'vitest';
import { WS_CLOSE } from '../../../../actors/model/index.js';
import type { LiveAccess } from '../../../../gateway/live/access.js';
import type { ViewerPort } from '../../../../gateway/live/hub.js';
import { GatewayMetrics } from '../../../../gateway/metrics.js';
import { StreamRoutes } from '../../../../gateway/routes/stream.js';
import { admission, asRes, behavior, FakeRes, fakeReq, FakeWs } from './fake-uws.js';

describe('stream route: WS /v1/stream', () => {
  it('opens a viewer in the live view, passes its binary messages on, and closes it with the socket', () => {
    const seen: string[] = [];
    let port: ViewerPort | undefined;
    const live: LiveAccess = {
      open: (p) => {
        port = p;
        seen.push('open');
        return { message: (b) => seen.push(`message ${Buffer.from(b).toString()}`), close: () => seen.push('close') };
      },
      query: () => Promise.reject(new Error('unused')),
      ready: () => true,
      metrics: () => ({}),
    };
    const routes = new StreamRoutes({ live, admission, metrics: new GatewayMetrics(), maxBuffered: 1024 });
    const b = behavior(routes.routes(), '/v1/stream');
    expect(b.maxBackpressure).toBe(4096);
    const res = new FakeRes();
    b.upgrade(asRes(res), fakeReq({ query: 'key=view-key' }), {});
    const ws = new FakeWs(res.upgraded);
    const sock = ws;
    b.open(sock);
    b.message(sock, new TextEncoder().encode('hi').buffer, true);
    expect(port!.send(Uint8Array.of(1, 2))).toBe(true);
    ws.buffered = 77;
    expect(port!.buffered()).toBe(77);
    b.message(sock, new ArrayBuffer(1), false);
    expect(ws.endedWith?.[0]).toBe(WS_CLOSE.BAD_FRAME);
    b.close(sock, 1000, new ArrayBuffer(0));
    expect(port!.send(Uint8Array.of(3))).toBe(false); // gone: the hub stops sending
    expect(seen).toEqual(['open', 'message hi', 'close']);
    expect(ws.sent).toEqual([Uint8Array.of(1, 2)]);
  });

  it('refuses an upgrade without a view key and counts the status', () => {
    const metrics = new GatewayMetrics();
    const routes = new StreamRoutes({ live: {} as LiveAccess, admission, metrics, maxBuffered: 1024 });
    const res = new FakeRes();
    behavior(routes.routes(), '/v1/stream').upgrade(asRes(res), fakeReq({ headers: { authorization: 'Bearer ingest-key' } }), {});
    expect([res.code, res.json().code, res.upgraded, metrics.requests.get('403')]).toEqual([403, 'GW_FORBIDDEN', undefined, 1]);
  });
});
