/**
 * The viewer against the real pipeline: events posted to the gateway → Kafka → runtime → deltas →
 * WS /v1/stream → the page in headless Chromium. Checks that Paris and Tokyo are drawn in heat colours
 * and an empty ocean is not, that the live cells add up to the events sent, and that the dashboard
 * shows exactly what GET /v1/summary answers for the same range.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES, geohashCenter, geohashEncode, type AdEvent, type SummaryAnswer } from '../../actors/model/index.js';
import { startRuntime, type RuntimeHandle } from '../../actors/runtime-main.js';
import { ensureTopics, kafkaClient } from '../../runtime/index.js';
import type { AdmeHooks } from '../../viz/src/hooks.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { ROOT, stackConfig, testRuntimeConfig, uniqueName, waitFor } from '../support/env.js';
import { rng } from '../support/events.js';
import { testGateway, type TestGateway } from '../integration/gateway-helpers.js';

const stack = stackConfig();
const PARTITIONS = 4;
const PARIS = { lat: 48.8566, lon: 2.3522 };
const TOKYO = { lat: 35.68, lon: 139.69 };
/** Mid South Pacific: nothing there. */
const OCEAN = { lat: -30, lon: -140 };
const PER_CITY = 1500;

/** A new screenshot path under .adme/artifacts (gitignored). */
function artefact(name: string): string {
  const dir = join(ROOT, '.adme', 'artifacts');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}-${Date.now()}.png`);
}

/** `window` as the page functions below see it (this file is compiled without DOM types). */
type PageWindow = { __adme: AdmeHooks };

/** A heat colour of the scale (dark red to pale yellow), not the dark blue base map. */
const isHeat = ([r, , b]: readonly number[]) => r! >= 110 && r! - b! >= 60;

/** Waits for the newest map to be drawn, then two more renders so the heatmap's weights are surely on screen. */
async function newestMapDrawn(page: Page): Promise<void> {
  const version = await page.evaluate(() => (globalThis as unknown as PageWindow).__adme.mapVersion);
  const renders = await waitFor('the newest map drawn', () => page.evaluate((v) => {
    const a = (globalThis as unknown as PageWindow).__adme;
    return a.renderedVersion >= v ? a.renders : undefined;
  }, version), 30_000, 100);
  await waitFor('two more renders', () => page.evaluate((r) => (globalThis as unknown as PageWindow).__adme.renders >= r + 2 || undefined, renders), 5000, 100).catch(() => undefined);
}

/** Loads the page again without a filter in its address and waits for it to be live. */
async function unfiltered(page: Page, url: string, key: string): Promise<void> {
  await page.goto(`${url}/?key=${encodeURIComponent(key)}`, { timeout: 60_000 });
  await waitFor('the unfiltered page live again', () => page.evaluate(() => (globalThis as unknown as PageWindow).__adme.connection === 'live' || undefined), 60_000, 200);
  await page.evaluate(() => (globalThis as unknown as PageWindow).__adme.showBaseMap(false));
}

function cityEvents(seed: number, now: number): AdEvent[] {
  const r = rng(seed);
  const out: AdEvent[] = [];
  for (const [ci, city] of [PARIS, TOKYO].entries()) {
    for (let i = 0; i < PER_CITY; i++) {
      const type = EVENT_TYPES[Math.min(EVENT_TYPES.length - 1, Math.floor(r() * r() * EVENT_TYPES.length))]!;
      out.push({
        userId: `u${ci}-${Math.floor(r() * 300)}`, type, ...(type === 'custom' ? { name: 'level_up' } : {}),
        ts: now - 20_000 + Math.floor(r() * 15_000),
        lat: city.lat + (r() - 0.5) * 0.2, lon: city.lon + (r() - 0.5) * 0.2,
        ...(type === 'purchase' ? { value: Math.round(r() * 10000) / 100 } : {}),
        // Paris's events come from one app, Tokyo's from another; both cities see both campaigns.
        appId: ci === 0 ? 'app-maps' : 'app-shop', campaignId: i % 3 === 0 ? 'cmp-a' : 'cmp-b',
      });
    }
  }
  return out;
}

describe('viewer: live map and dashboard in headless Chromium', () => {
  const name = uniqueName('viz');
  const config = testRuntimeConfig(name, PARTITIONS);
  const db = config.mongo.database;
  let rt: RuntimeHandle | undefined;
  let gw: TestGateway | undefined;
  let browser: TestBrowser | undefined;
  let page: Page;
  let viewKey: string;
  let events: AdEvent[];
  const pageLog: string[] = [];
  let streamUp = true;
  let streamRoute: WebSocketRoute | undefined;
  let refused = 0;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'viz', 'dist', 'index.html'))) throw new Error('viz/dist is not built: run "node scripts/ensure.mjs" (npm test does)');
    await ensureTopics(kafkaClient({ brokers: stack.kafka.brokers, clientId: 'adme-test' }), [{ topic: config.topic, partitions: PARTITIONS }, { topic: config.deltasTopic, partitions: PARTITIONS }]);
    rt = await startRuntime(config, (m) => { if (process.env.ADME_TEST_VERBOSE) console.error(m); });
    gw = await testGateway({ ADME_EVENTS_TOPIC: config.topic, ADME_DELTAS_TOPIC: config.deltasTopic, ADME_MONGO_URL: stack.mongo.url, ADME_MONGO_DB: db, ADME_QUERY_CACHE_MS: '0', ADME_KEYSPACE: config.cassandra.keyspace }, PARTITIONS);
    viewKey = gw.key(['view']);
    const ingestKey = gw.key(['ingest']);

    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('console', (m) => pageLog.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => pageLog.push(`pageerror: ${e.message}`));
    // The stream goes through Playwright's WebSocket proxy, so a test can cut it (see the reconnect test).
    await page.routeWebSocket(/\/v1\/stream/, (ws) => {
      if (!streamUp) {
        refused++;
        void ws.close({ code: 1011, reason: 'test outage' });
        return;
      }
      ws.connectToServer();
      streamRoute = ws;
    });
    await page.goto(`${gw.url}/?key=${encodeURIComponent(viewKey)}`, { timeout: 60_000 });

    events = cityEvents(5, Date.now());
    for (let i = 0; i < events.length; i += 1000) {
      const res = await fetch(`${gw.url}/v1/events`, {
        method: 'POST', headers: { authorization: `Bearer ${ingestKey}`, 'content-type': 'application/json' }, body: JSON.stringify(events.slice(i, i + 1000)),
      });
      expect(res.status, await res.clone().text()).toBe(200);
    }
  }, 240_000);

  afterAll(async () => {
    if (pageLog.length > 0 && process.env.ADME_TEST_VERBOSE) console.error(pageLog.join('\n'));
    await browser?.close();
    await gw?.gw.close();
    await rt?.stop();
  });

  it('streams every event into the live map, keeps the key out of the address bar, says "live"', async () => {
    expect(new URL(page.url()).searchParams.has('key')).toBe(false);
    const state = await waitFor('the page to draw every event sent', async () => {
      const s = await page.evaluate(() => ({ ready: (globalThis as unknown as PageWindow).__adme.ready, cellTotal: (globalThis as unknown as PageWindow).__adme.cellTotal, cells: (globalThis as unknown as PageWindow).__adme.cells, connection: (globalThis as unknown as PageWindow).__adme.connection, frames: (globalThis as unknown as PageWindow).__adme.frames }));
      return s.ready && s.cellTotal === events.length ? s : undefined;
    }, 90_000, 250).catch((err: Error) => {
      throw new Error(`${err.message}\npage log:\n${pageLog.slice(-20).join('\n')}`);
    });
    expect(state.connection).toBe('live');
    expect(state.cells).toBe(2); // geohash precision 2 at the world view: one cell per city
    expect(await page.getByTestId('connection').textContent()).toContain('live');
    expect(await page.getByTestId('data-age').textContent()).toMatch(/data age \d/);
  });

  it('draws Paris and Tokyo in heat colours and leaves the empty ocean dark; saves a screenshot', async () => {
    await newestMapDrawn(page);

    const shot = await page.screenshot({ type: 'png' });
    const file = artefact('live-map');
    await page.screenshot({ path: file, type: 'png' });
    console.log(`[viz test] screenshot: ${file}`);

    const around = (p: readonly [number, number], r: number) => {
      const out: [number, number][] = [];
      for (let dx = -r; dx <= r; dx += r) for (let dy = -r; dy <= r; dy += r) out.push([p[0] + dx, p[1] + dy]);
      return out;
    };
    const at = async (c: { lat: number; lon: number }) => page.evaluate(([lon, lat]) => (globalThis as unknown as PageWindow).__adme.project(lon, lat), [c.lon, c.lat] as const);
    const paris = await at(PARIS);
    const tokyo = await at(TOKYO);
    const ocean = await at(OCEAN);
    const pixels = await page.evaluate(([b64, pts]) => (globalThis as unknown as PageWindow).__adme.samplePng(b64, pts), [shot.toString('base64'), [...around(paris, 3), ...around(tokyo, 3), ...around(ocean, 6)]] as const);
    const parisPx = pixels.slice(0, 9);
    const tokyoPx = pixels.slice(9, 18);
    const oceanPx = pixels.slice(18);
    const rgbs = (px: readonly number[][]) => px.map((p) => `rgb(${p.slice(0, 3).join(',')})`).join(' ');
    expect(parisPx.filter(isHeat).length, `Paris at ${paris.join(',')}: ${rgbs(parisPx)} (screenshot ${file})`).toBeGreaterThanOrEqual(7);
    expect(tokyoPx.filter(isHeat).length, `Tokyo at ${tokyo.join(',')}: ${rgbs(tokyoPx)} (screenshot ${file})`).toBeGreaterThanOrEqual(7);
    expect(oceanPx.filter(isHeat), `ocean at ${ocean.join(',')}: ${rgbs(oceanPx)} (screenshot ${file})`).toEqual([]);
    // The ocean is the page's dark blue, not black (the canvas drew, and drew nothing there).
    for (const [r, g, b] of oceanPx) expect(b > r && b >= 20 && g < 60, rgbs(oceanPx)).toBe(true);
  });

  it('the dashboard shows exactly what GET /v1/summary answers for the range the page used', async () => {
    const shown = await waitFor('the dashboard to count every event', () => page.evaluate((n) => {
      const s = (globalThis as unknown as PageWindow).__adme.summaryShown;
      return s && s.events === n ? s : undefined;
    }, events.length), 60_000, 250);
    const res = await fetch(`${gw!.url}${shown.query}`, { headers: { authorization: `Bearer ${viewKey}` } });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as SummaryAnswer;
    expect(answer.from).toBe(shown.from);
    expect(answer.to).toBe(shown.to);
    expect({ events: shown.events, eventsPerSecond: shown.eventsPerSecond, counts: shown.counts, ctr: shown.clickThroughRate, cvr: shown.conversionRate })
      .toEqual({ events: answer.events, eventsPerSecond: answer.eventsPerSecond, counts: answer.counts, ctr: answer.clickThroughRate, cvr: answer.conversionRate });
    // The DOM carries the same numbers (data-value) the hooks report.
    expect(await page.getByTestId('summary-events').getAttribute('data-value')).toBe(String(answer.events));
    for (const t of EVENT_TYPES) {
      expect(await page.getByTestId(`summary-count-${t}`).getAttribute('data-value')).toBe(String(answer.counts[t]));
      expect(answer.counts[t]).toBe(events.filter((e) => e.type === t).length);
    }
    expect(await page.getByTestId('summary-ctr').getAttribute('data-value')).toBe(answer.clickThroughRate === null ? '' : String(answer.clickThroughRate));
    // Reach: exact at these sizes, the same on the page as in the answer and in the events.
    expect(answer.users).toBe(new Set(events.map((e) => e.userId)).size);
    expect(await page.getByTestId('summary-users').getAttribute('data-value')).toBe(String(answer.users));
    expect(await page.getByTestId('summary-users-click').getAttribute('data-value')).toBe(String(new Set(events.filter((e) => e.type === 'click').map((e) => e.userId)).size));
  });

  it('the cell view colours the geohash cell on the same scale, and its tooltip has the cell\'s numbers', async () => {
    await page.getByRole('button', { name: 'cells', exact: true }).click();
    const renders = await page.evaluate(() => (globalThis as unknown as PageWindow).__adme.renders);
    await waitFor('the cell view drawn', () => page.evaluate((r) => (globalThis as unknown as PageWindow).__adme.renders >= r + 2 || undefined, renders), 10_000, 100);
    const cell = geohashEncode(PARIS.lat, PARIS.lon, 2);
    const centre = geohashCenter(cell);
    const xy = await page.evaluate(([lon, lat]) => (globalThis as unknown as PageWindow).__adme.project(lon, lat), [centre.lon, centre.lat] as const);
    const shot = await page.screenshot({ type: 'png' });
    const [px] = await page.evaluate(([b64, pts]) => (globalThis as unknown as PageWindow).__adme.samplePng(b64, pts), [shot.toString('base64'), [xy]] as const);
    expect(isHeat(px!), `cell ${cell} at ${xy.join(',')}: rgb(${px!.slice(0, 3).join(',')})`).toBe(true);

    await page.mouse.move(xy[0], xy[1]);
    const tip = page.getByTestId('cell-tooltip');
    await tip.waitFor({ timeout: 10_000 });
    const text = (await tip.textContent())!;
    const parisEvents = events.filter((e) => e.lon < 60);
    expect(text).toContain(cell);
    expect(text).toContain(`${parisEvents.length.toLocaleString('en-US')} in 60 s`);
    expect(text).toContain(`purchase${parisEvents.filter((e) => e.type === 'purchase').length}`);
    // The cell's reach as the stream sent it: every Paris user (the view counts all types).
    expect(await page.getByTestId('tooltip-users').textContent()).toBe(new Set(parisEvents.map((e) => e.userId)).size.toLocaleString('en-US'));
    const file = artefact('live-map-cells');
    await page.screenshot({ path: file, type: 'png' });
    console.log(`[viz test] screenshot: ${file}`);
    await page.getByRole('button', { name: 'heatmap', exact: true }).click();
  });

  it('time travel replays the stored rollups minute by minute, each equal to the events of that minute', async () => {
    await page.getByRole('button', { name: 'Time travel' }).click();
    const minutes = new Map<number, number>();
    for (const e of events) minutes.set(Math.floor(e.ts / 60_000) * 60_000, (minutes.get(Math.floor(e.ts / 60_000) * 60_000) ?? 0) + 1);
    const first = Math.min(...minutes.keys());
    let seen = 0;
    let previous = Infinity;
    // The scrubber opens on the current minute; step back to the first minute with events.
    for (;;) {
      const shown = await waitFor('a replayed minute', () => page.evaluate((before) => {
        const r = (globalThis as unknown as PageWindow).__adme.replay;
        return r && r.at < before ? r : undefined;
      }, previous), 30_000, 100);
      // The dashboard test saw every event in the rollups already: each minute is exact at once.
      expect(shown.total, `minute ${new Date(shown.at).toISOString()}`).toBe(minutes.get(shown.at) ?? 0);
      seen += shown.total;
      previous = shown.at;
      if (shown.at <= first) break;
      await page.getByRole('slider', { name: 'replay time' }).press('ArrowLeft');
    }
    expect(seen).toBe(events.length);
    expect(await page.getByTestId('connection').textContent()).toContain('live'); // the stream stays connected
    await page.getByRole('button', { name: 'Live' }).click();
    await waitFor('back to live', () => page.evaluate(() => (globalThis as unknown as PageWindow).__adme.replay === null || undefined), 10_000, 100);
  });

  it('app and campaign filters: the map, the dashboard and the address bar follow the chosen app and campaign', { timeout: 240_000 }, async () => {
    const hooks = () => page.evaluate(() => {
      const a = (globalThis as unknown as PageWindow).__adme;
      return { cellTotal: a.cellTotal, cells: a.cells, subscribed: a.subscribed, summary: a.summaryShown };
    });
    const want = events.filter((e) => e.appId === 'app-shop' && e.campaignId === 'cmp-a');
    // Without the country shapes (the test above checked them): the software renderer redraws them slowly.
    await page.evaluate(() => (globalThis as unknown as PageWindow).__adme.showBaseMap(false));
    // No filter control navigates, so the clicks skip Playwright's wait for navigations they might
    // schedule: on a starved machine that wait (a round trip through a renderer busy drawing) once took
    // longer than the click's 30 s.
    const pick = async (which: 'apps' | 'campaigns', id: string) => {
      await page.getByTestId(`filter-${which}`).click({ noWaitAfter: true, timeout: 60_000 });
      await page.getByRole('group', { name: which }).getByRole('checkbox', { name: id, exact: true }).check({ noWaitAfter: true, timeout: 60_000 });
      await page.keyboard.press('Escape');
    };
    try {
      await pick('apps', 'app-shop');
      await pick('campaigns', 'cmp-a');
      const shown = await waitFor(`the map and dashboard to count the ${want.length} events of app-shop in cmp-a`, async () => {
        const h = await hooks();
        return h.cellTotal === want.length && h.summary?.events === want.length ? h : undefined;
      }, 60_000, 200);
      expect(shown.cells).toBe(1); // Tokyo only
      expect({ apps: shown.subscribed?.apps, campaigns: shown.subscribed?.campaigns }).toEqual({ apps: ['app-shop'], campaigns: ['cmp-a'] });
      expect(shown.summary!.query).toContain('app=app-shop');
      const url = new URL(page.url());
      expect([url.searchParams.getAll('app'), url.searchParams.getAll('campaign')]).toEqual([['app-shop'], ['cmp-a']]);
      expect(await page.getByTestId('active-filter').textContent()).toContain('app-shop');
      // Paris is no longer drawn; Tokyo still is.
      await newestMapDrawn(page);
      const shot = await page.screenshot({ type: 'png' });
      const file = artefact('live-map-filtered');
      await page.screenshot({ path: file, type: 'png' });
      const at = async (c: { lat: number; lon: number }) => page.evaluate(([lon, lat]) => (globalThis as unknown as PageWindow).__adme.project(lon, lat), [c.lon, c.lat] as const);
      const [parisPx, tokyoPx] = await page.evaluate(([b64, pts]) => (globalThis as unknown as PageWindow).__adme.samplePng(b64, pts), [shot.toString('base64'), [await at(PARIS), await at(TOKYO)]] as const);
      expect(isHeat(tokyoPx!), `Tokyo rgb(${tokyoPx!.slice(0, 3).join(',')}) (screenshot ${file})`).toBe(true);
      expect(isHeat(parisPx!), `Paris rgb(${parisPx!.slice(0, 3).join(',')}) (screenshot ${file})`).toBe(false);
      // Back to every app and campaign: every event again.
      await pick('apps', 'all apps');
      await pick('campaigns', 'all campaigns');
      await waitFor('every event again', async () => (await hooks()).cellTotal === events.length || undefined, 60_000, 200);
    } finally {
      // Whatever failed above, the tests after this one start from the unfiltered page.
      if (new URL(page.url()).search !== '') await unfiltered(page, gw!.url, viewKey);
    }
  });

  it('reconnects by itself with back-off when the stream drops, re-subscribes and shows the same map', async () => {
    const state = () => page.evaluate(() => {
      const a = (globalThis as unknown as PageWindow).__adme;
      return { connection: a.connection, cellTotal: a.cellTotal, frames: a.frames };
    });
    // An outage: the open stream is cut and new ones are refused until streamUp is set again.
    streamUp = false;
    await streamRoute!.close({ code: 1011, reason: 'test outage' });
    await waitFor('the page to say it is reconnecting', async () => (await state()).connection === 'reconnecting', 10_000, 50);
    await waitFor('two refused attempts (0.5 s, then 1 s of back-off)', () => refused >= 2, 15_000, 50);
    expect(await page.getByTestId('connection').textContent()).toContain('reconnecting');
    const before = await state();
    streamUp = true;
    const after = await waitFor('the page to be live again with every event', async () => {
      const s = await state();
      return s.connection === 'live' && s.frames > before.frames && s.cellTotal === events.length ? s : undefined;
    }, 30_000, 100);
    expect(after.cellTotal).toBe(events.length);
    expect(await page.getByTestId('connection').textContent()).toContain('live');
  });

  it('clicking a cell in the cell view lists its raw events from the archive, as GET /v1/events answers them', { timeout: 180_000 }, async () => {
    // Zoom 7 over Paris: cells of precision 4, fine enough to list (coarser ones span several archive areas).
    const cell = geohashEncode(PARIS.lat, PARIS.lon, 4);
    const centre = geohashCenter(cell);
    // Without the country shapes: zoomed in, the software renderer takes seconds per redraw of them.
    await page.evaluate(() => (globalThis as unknown as PageWindow).__adme.showBaseMap(false));
    await page.getByRole('button', { name: 'cells', exact: true }).click();
    const renders = await page.evaluate(() => (globalThis as unknown as PageWindow).__adme.renders);
    await page.evaluate(([lon, lat]) => (globalThis as unknown as PageWindow).__adme.flyTo(lon, lat, 7), [centre.lon, centre.lat] as const);
    await waitFor('the cell view drawn at zoom 7, with the precision-4 cells', () => page.evaluate((r) => {
      const a = (globalThis as unknown as PageWindow).__adme;
      return (a.renders >= r + 2 && a.lastFrame?.precision === 4 && a.cells > 0 && a.renderedVersion === a.mapVersion) || undefined;
    }, renders), 90_000, 200);
    const xy = await page.evaluate(([lon, lat]) => (globalThis as unknown as PageWindow).__adme.project(lon, lat), [centre.lon, centre.lat] as const);
    // Hover first (the tooltip says the picking found the cell), then click.
    await page.mouse.move(xy[0], xy[1]);
    await page.getByTestId('cell-tooltip').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('cell-tooltip').textContent()).toContain(cell);
    await page.mouse.down();
    await page.mouse.up();
    await page.getByTestId('drill').waitFor({ timeout: 60_000 });
    const shown = await waitFor('the panel to list events', () => page.evaluate(() => {
      const d = (globalThis as unknown as PageWindow).__adme.drill;
      return d && d.status !== 'loading' ? d : undefined;
    }), 30_000, 200);
    expect(shown.status).toBe('events');
    expect(shown.query).toContain(`cell=${cell}`);
    // The page lists exactly the first page the API gives for the panel's own query.
    const res = await fetch(`${gw!.url}${shown.query}`, { headers: { authorization: `Bearer ${viewKey}` } });
    const answer = (await res.json()) as { events: { userId: string; type: string }[]; next: string | null };
    const inCell = events.filter((e) => geohashEncode(e.lat, e.lon, 4) === cell);
    expect(answer.events.length).toBe(Math.min(50, inCell.length));
    expect(shown.events).toBe(answer.events.length);
    const rows = page.getByTestId('drill-events').locator('tbody tr');
    expect(await rows.count()).toBe(answer.events.length);
    expect(await rows.first().locator('td').nth(1).textContent()).toContain(answer.events[0]!.type);
    const file = artefact('live-map-drill');
    await page.screenshot({ path: file, type: 'png' });
    console.log(`[viz test] screenshot: ${file}`);
    await page.getByTestId('drill').getByRole('button', { name: 'close' }).click();
    await page.getByTestId('drill').waitFor({ state: 'detached', timeout: 10_000 });
    await page.getByRole('button', { name: 'heatmap', exact: true }).click();
    await page.evaluate(() => {
      const a = (globalThis as unknown as PageWindow).__adme;
      a.flyTo(10, 25, 1);
      a.showBaseMap(true);
    });
  });

  it('without a key the page asks for one; a refused key brings the prompt back with the reason', async () => {
    const other = await browser!.context.newPage();
    try {
      await other.goto(`${gw!.url}/`, { timeout: 30_000 });
      const input = other.getByLabel('viewer key');
      await input.waitFor({ timeout: 10_000 });
      await input.fill('not-a-key');
      await other.getByRole('button', { name: 'Open' }).click();
      await other.getByText(/The key was refused/).waitFor({ timeout: 15_000 });
      await input.fill(viewKey);
      await other.getByRole('button', { name: 'Open' }).click();
      await other.getByTestId('connection').getByText('live').waitFor({ timeout: 30_000 });
    } finally {
      await other.close();
    }
  });
});
