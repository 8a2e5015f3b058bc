/**
 * Realistic, reproducible ingest traffic (`adme simulate`, the gateway benchmark and tests): users move
 * among population-weighted hot spots of real cities, activity follows each city's local time of day,
 * and events follow an ad funnel. Pure: a seed and the clock decide every event.
 */
import type { AdEvent, EventType } from '../actors/model/index.js';

/** Metro populations (millions, rounded) and a few hot spots (lat, lon, relative weight) each. */
export const CITIES: readonly { name: string; pop: number; spots: readonly (readonly [number, number, number])[] }[] = [
  { name: 'Tokyo', pop: 37.1, spots: [[35.6595, 139.7005, 5], [35.6909, 139.7003, 4], [35.6812, 139.7671, 4], [35.7101, 139.8107, 2], [35.6298, 139.7736, 1]] },
  { name: 'Delhi', pop: 33.8, spots: [[28.6315, 77.2167, 5], [28.5562, 77.1000, 2], [28.5245, 77.2066, 3], [28.6519, 77.2315, 3]] },
  { name: 'Shanghai', pop: 29.9, spots: [[31.2397, 121.4998, 5], [31.2304, 121.4737, 4], [31.2243, 121.4451, 3], [31.1443, 121.8083, 1]] },
  { name: 'Sao Paulo', pop: 22.8, spots: [[-23.5614, -46.6559, 5], [-23.5489, -46.6388, 4], [-23.5869, -46.6823, 3], [-23.6265, -46.6565, 1]] },
  { name: 'Mexico City', pop: 22.5, spots: [[19.4326, -99.1332, 5], [19.4270, -99.1677, 4], [19.3600, -99.1770, 2], [19.4361, -99.0719, 1]] },
  { name: 'Cairo', pop: 22.6, spots: [[30.0444, 31.2357, 5], [30.0626, 31.2497, 3], [29.9792, 31.1342, 2], [30.0131, 31.2089, 2]] },
  { name: 'Mumbai', pop: 21.7, spots: [[18.9220, 72.8347, 4], [19.0596, 72.8295, 4], [19.1136, 72.8697, 3], [19.0176, 72.8562, 3]] },
  { name: 'New York', pop: 18.9, spots: [[40.7580, -73.9855, 6], [40.7128, -74.0060, 4], [40.6782, -73.9442, 3], [40.7282, -73.7949, 2], [40.7831, -73.9712, 3]] },
  { name: 'Istanbul', pop: 15.9, spots: [[41.0370, 28.9850, 5], [41.0082, 28.9784, 4], [40.9910, 29.0270, 3]] },
  { name: 'Lagos', pop: 15.9, spots: [[6.4281, 3.4219, 4], [6.5244, 3.3792, 4], [6.6018, 3.3515, 3]] },
  { name: 'London', pop: 14.8, spots: [[51.5136, -0.1365, 5], [51.5074, -0.1278, 4], [51.5155, -0.0922, 4], [51.5033, -0.0195, 2], [51.4700, -0.4543, 1]] },
  { name: 'Paris', pop: 11.3, spots: [[48.8698, 2.3079, 5], [48.8566, 2.3522, 4], [48.8738, 2.2950, 2], [48.8924, 2.2369, 2]] },
  { name: 'Los Angeles', pop: 12.5, spots: [[34.0522, -118.2437, 4], [34.1016, -118.3267, 3], [34.0195, -118.4912, 3], [33.9416, -118.4085, 1]] },
  { name: 'Berlin', pop: 4.6, spots: [[52.5200, 13.4050, 4], [52.5074, 13.3904, 3], [52.5024, 13.4121, 2]] },
  { name: 'Sydney', pop: 5.3, spots: [[-33.8688, 151.2093, 5], [-33.8915, 151.2767, 2], [-33.8150, 151.0011, 2]] },
  { name: 'Nairobi', pop: 5.3, spots: [[-1.2864, 36.8172, 4], [-1.2921, 36.7856, 2]] },
];

/** Activity by local hour (0-23), relative: quiet at night, peaks at lunch and in the evening. */
export const HOURLY: readonly number[] = [0.25, 0.15, 0.1, 0.08, 0.08, 0.12, 0.3, 0.55, 0.75, 0.8, 0.85, 0.9, 1.0, 0.95, 0.85, 0.85, 0.9, 0.95, 1.0, 1.0, 0.95, 0.8, 0.6, 0.4];

/** Funnel ratios: P(click | impression), P(install | click), P(purchase | install). */
export const FUNNEL = { ctr: 0.04, install: 0.12, purchase: 0.2 } as const;

/** mulberry32: a small, fast, seeded generator of uniform 32-bit integers (same seed, same sequence). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Seeded PRNG: mulberry32 as a float in [0, 1). */
export function rng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

function weighted<T>(items: readonly T[], weight: (t: T) => number, r: number): T {
  let total = 0;
  for (const it of items) total += weight(it);
  let x = r * total;
  for (const it of items) {
    x -= weight(it);
    if (x <= 0) return it;
  }
  return items[items.length - 1]!;
}

interface User {
  readonly id: string;
  readonly city: number;
  spot: number;
  /** Last funnel step: what the next event may be. */
  stage: 'none' | 'impression' | 'click' | 'install';
  campaign: string;
  app: string;
}

export interface TrafficOptions {
  readonly seed: number;
  readonly users: number;
}

const APPS = ['app-maps', 'app-games', 'app-shop', 'app-news'];
const CAMPAIGNS = Array.from({ length: 12 }, (_, i) => `cmp-${String(i + 1).padStart(2, '0')}`);

/** An endless, seeded stream of events; `next(now)` returns the next one at wall time `now`. */
export class TrafficModel {
  private readonly r: () => number;
  private readonly byCity: User[][];
  private counter = 0;
  private cityWeightsHour = -1;
  private cityWeights: number[] = [];

  constructor(readonly opts: TrafficOptions) {
    this.r = rng(opts.seed);
    this.byCity = CITIES.map(() => []);
    Array.from({ length: opts.users }, (_, i) => {
      const city = CITIES.indexOf(weighted(CITIES, (c) => c.pop, this.r()));
      const u: User = { id: `u${opts.seed}-${i}`, city, spot: this.pickSpot(city), stage: 'none', campaign: CAMPAIGNS[i % CAMPAIGNS.length]!, app: APPS[i % APPS.length]! };
      this.byCity[city]!.push(u);
    });
  }

  private pickSpot(city: number): number {
    const spots = CITIES[city]!.spots;
    return spots.indexOf(weighted(spots, (s) => s[2], this.r()));
  }

  /** Each city's weight now: population x activity at its local hour (from its longitude). */
  private weights(now: number): number[] {
    const hour = Math.floor(now / 3600_000);
    if (hour !== this.cityWeightsHour) {
      this.cityWeightsHour = hour;
      this.cityWeights = CITIES.map((c, i) => {
        const local = (((new Date(now).getUTCHours() + Math.round(c.spots[0]![1] / 15)) % 24) + 24) % 24;
        return this.byCity[i]!.length === 0 ? 0 : c.pop * HOURLY[local]!;
      });
    }
    return this.cityWeights;
  }

  private gauss(): number {
    return Math.sqrt(-2 * Math.log(1 - this.r())) * Math.cos(2 * Math.PI * this.r());
  }

  next(now: number): AdEvent {
    const w = this.weights(now);
    const city = weighted(CITIES.map((_, i) => i), (i) => w[i]!, this.r());
    const pool = this.byCity[city]!;
    const u = pool[Math.floor(this.r() * pool.length)]!;
    if (this.r() < 0.05) u.spot = this.pickSpot(u.city); // users move among the city's hot spots
    const spot = CITIES[u.city]!.spots[u.spot]!;
    // ~1 km around the hot spot.
    const lat = Math.round((spot[0] + this.gauss() * 0.009) * 1e6) / 1e6;
    const lon = Math.round((spot[1] + (this.gauss() * 0.009) / Math.cos((spot[0] * Math.PI) / 180)) * 1e6) / 1e6;

    let type: EventType;
    const x = this.r();
    if (u.stage === 'impression' && x < FUNNEL.ctr) type = 'click';
    else if (u.stage === 'click' && x < FUNNEL.install) type = 'install';
    else if (u.stage === 'install' && x < FUNNEL.purchase) type = 'purchase';
    else if (x > 0.97) type = 'session_start';
    else if (x > 0.96) type = 'custom';
    else type = 'impression';
    if (type === 'impression' || type === 'click' || type === 'install') u.stage = type;
    else if (type === 'purchase') u.stage = 'none';
    if (type === 'impression' && this.r() < 0.1) u.campaign = CAMPAIGNS[Math.floor(this.r() * CAMPAIGNS.length)]!;

    const base = { userId: u.id, type, ts: now, lat, lon, id: `${this.opts.seed.toString(36)}-${(this.counter++).toString(36)}`, appId: u.app };
    if (type === 'custom') return { userId: u.id, type, name: 'level_up', ts: now, lat, lon, id: base.id, appId: u.app, props: { level: 1 + Math.floor(this.r() * 50) } };
    if (type === 'purchase') return { ...base, campaignId: u.campaign, value: Math.round(Math.exp(1.5 + this.gauss() * 0.8) * 100) / 100, props: { currency: 'USD' } };
    if (type === 'session_start') return base;
    return { ...base, campaignId: u.campaign };
  }

  batch(n: number, now: number): AdEvent[] {
    return Array.from({ length: n }, () => this.next(now));
  }
}
