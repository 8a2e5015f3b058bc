import { describe, expect, it } from 'vitest';
import { geohashBounds, geohashCenter, geohashEncode } from '../../../actors/model/geohash.js';

describe('geohash', () => {
  // Reference values from the original geohash.org examples and well-known landmarks.
  it.each([
    [57.64911, 10.40744, 11, 'u4pruydqqvj'],
    [42.6, -5.6, 5, 'ezs42'],
    [48.8566, 2.3522, 6, 'u09tvw'],
    [-33.8688, 151.2093, 6, 'r3gx2f'],
    [0, 0, 4, 's000'],
    [-90, -180, 3, '000'],
    [90, 180, 3, 'zzz'],
  ])('(%f, %f) at %i -> %s', (lat, lon, p, hash) => {
    expect(geohashEncode(lat, lon, p)).toBe(hash);
  });

  it('a coarser precision is a prefix of a finer one', () => {
    const fine = geohashEncode(40.7128, -74.006, 9);
    for (let p = 1; p < 9; p++) expect(geohashEncode(40.7128, -74.006, p)).toBe(fine.slice(0, p));
  });

  it('bounds contain the point and the centre encodes back to the cell', () => {
    const h = geohashEncode(35.6762, 139.6503, 6);
    const b = geohashBounds(h);
    expect(35.6762).toBeGreaterThanOrEqual(b.south);
    expect(35.6762).toBeLessThan(b.north);
    expect(139.6503).toBeGreaterThanOrEqual(b.west);
    expect(139.6503).toBeLessThan(b.east);
    const c = geohashCenter(h);
    expect(geohashEncode(c.lat, c.lon, 6)).toBe(h);
  });

  it('rejects characters outside the alphabet', () => {
    expect(() => geohashBounds('u09a')).toThrow('invalid geohash character "a" in "u09a"');
  });
});
