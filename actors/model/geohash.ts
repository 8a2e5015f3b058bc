/** Geohash: base-32 interleaved latitude/longitude bits. Precision n → cells of about (at n=6) 1.2 × 0.6 km. */

const BASE32 = '0123456789bcdefghjkmnpqrstuvwxyz';

/** Encodes a coordinate at `precision` characters (1-12). */
export function geohashEncode(lat: number, lon: number, precision: number): string {
  let latMin = -90, latMax = 90, lonMin = -180, lonMax = 180;
  let out = '';
  let bit = 0;
  let ch = 0;
  let evenBit = true; // longitude first
  while (out.length < precision) {
    if (evenBit) {
      const mid = (lonMin + lonMax) / 2;
      if (lon >= mid) { ch = (ch << 1) | 1; lonMin = mid; } else { ch <<= 1; lonMax = mid; }
    } else {
      const mid = (latMin + latMax) / 2;
      if (lat >= mid) { ch = (ch << 1) | 1; latMin = mid; } else { ch <<= 1; latMax = mid; }
    }
    evenBit = !evenBit;
    if (++bit === 5) {
      out += BASE32[ch];
      bit = 0;
      ch = 0;
    }
  }
  return out;
}

export interface Bounds { readonly south: number; readonly west: number; readonly north: number; readonly east: number }

/** The cell's bounding box. Throws on a character outside the geohash alphabet. */
export function geohashBounds(hash: string): Bounds {
  let latMin = -90, latMax = 90, lonMin = -180, lonMax = 180;
  let evenBit = true;
  for (const c of hash) {
    const v = BASE32.indexOf(c);
    if (v < 0) throw new RangeError(`invalid geohash character "${c}" in "${hash}"`);
    for (let b = 4; b >= 0; b--) {
      const on = (v >> b) & 1;
      if (evenBit) {
        const mid = (lonMin + lonMax) / 2;
        if (on) lonMin = mid; else lonMax = mid;
      } else {
        const mid = (latMin + latMax) / 2;
        if (on) latMin = mid; else latMax = mid;
      }
      evenBit = !evenBit;
    }
  }
  return { south: latMin, west: lonMin, north: latMax, east: lonMax };
}

/** Cell centre. */
export function geohashCenter(hash: string): { lat: number; lon: number } {
  const b = geohashBounds(hash);
  return { lat: (b.south + b.north) / 2, lon: (b.west + b.east) / 2 };
}
