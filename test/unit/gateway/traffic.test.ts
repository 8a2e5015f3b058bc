import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../../actors/model/index.js';
import { CITIES, TrafficModel } from '../../../bench/gateway-traffic.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

describe('simulated traffic', () => {
  it('is reproducible from its seed', () => {
    expect(new TrafficModel({ seed: 7, users: 500 }).batch(300, NOW)).toEqual(new TrafficModel({ seed: 7, users: 500 }).batch(300, NOW));
    expect(new TrafficModel({ seed: 8, users: 500 }).batch(50, NOW)).not.toEqual(new TrafficModel({ seed: 7, users: 500 }).batch(50, NOW));
  });

  it('produces only valid events near real cities, following the funnel', () => {
    const events = new TrafficModel({ seed: 1, users: 2000 }).batch(50_000, NOW);
    const counts: Record<string, number> = {};
    let invalid = 0;
    let far = 0;
    for (const e of events) {
      if (!validateEvent(e, NOW).ok) invalid++;
      counts[e.type] = (counts[e.type] ?? 0) + 1;
      if (!CITIES.some((c) => c.spots.some(([lat, lon]) => Math.abs(lat - e.lat) < 0.2 && Math.abs(lon - e.lon) < 0.3))) far++;
    }
    expect([invalid, far]).toEqual([0, 0]);
    // impression > click > install > purchase, at funnel-like ratios.
    expect(counts.impression! > 10 * counts.click!).toBe(true);
    expect(counts.click! > 3 * counts.install!).toBe(true);
    expect(counts.install! > counts.purchase!).toBe(true);
    expect(counts.purchase!).toBeGreaterThan(0);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('follows the daily rhythm: at 12:00 UTC Europe is busier relative to Tokyo (21:00) than at 03:00 UTC', () => {
    const share = (t: number) => {
      const ev = new TrafficModel({ seed: 3, users: 5000 }).batch(20_000, t);
      const inBox = (la: number, lo: number) => ev.filter((e) => Math.abs(e.lat - la) < 0.3 && Math.abs(e.lon - lo) < 0.5).length;
      return inBox(51.5, -0.12) / inBox(35.68, 139.7);
    };
    expect(share(NOW)).toBeGreaterThan(2 * share(Date.UTC(2026, 0, 15, 3, 0, 0)));
  });
});
