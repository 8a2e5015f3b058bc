import { describe, expect, it } from 'vitest';
import type { CellsFrame } from '../../../actors/model/stream.js';
import { CellMap } from '../../../viz/src/state.js';
import { heatWeight } from '../../../viz/src/scale.js';

interface Row { cell: string; lat: number; lon: number; total: number; counts?: number[]; value?: number; users?: number }

/** A frame of these rows; `users` only when some row has them (a frame carries all or none). */
function frame(type: 'snapshot' | 'delta', seq: number, rows: Row[], windowS = 60, extra: Partial<CellsFrame> = {}): CellsFrame {
  return {
    ...(rows.some((r) => r.users !== undefined) ? { users: Uint32Array.from(rows, (r) => r.users ?? 0) } : {}),
    ...extra,
    type, seq, sub: 1, at: 1000, oldestAt: 900, dataAt: 950, from: 0, to: windowS * 1000, windowS, precision: 3,
    cells: rows.map((r) => r.cell),
    lat: Float32Array.from(rows, (r) => r.lat),
    lon: Float32Array.from(rows, (r) => r.lon),
    total: Uint32Array.from(rows, (r) => r.total),
    counts: Uint32Array.from(rows.flatMap((r) => r.counts ?? [r.total, 0, 0, 0, 0, 0])),
    value: Float64Array.from(rows, (r) => r.value ?? 0),
  };
}

describe('CellMap', () => {
  it('a snapshot replaces every cell; a delta upserts in place and removes rows with total 0', () => {
    const m = new CellMap();
    m.apply(frame('snapshot', 1, [{ cell: 'u09', lat: 48.8, lon: 2.3, total: 60 }, { cell: 'xn7', lat: 35.6, lon: 139.6, total: 6 }]));
    expect(m.size).toBe(2);
    const paris = m.get('u09')!;
    expect(paris.rate).toBe(1);

    m.apply(frame('delta', 2, [
      { cell: 'u09', lat: 48.8, lon: 2.3, total: 120, counts: [100, 10, 5, 3, 2, 0], value: 12.5 },
      { cell: 'xn7', lat: 35.6, lon: 139.6, total: 0 },
      { cell: 'dr5', lat: 40.7, lon: -74, total: 3 },
    ]));
    expect(m.size).toBe(2);
    expect(m.get('u09')).toBe(paris); // same object, updated in place
    expect(paris.total).toBe(120);
    expect([...paris.counts]).toEqual([100, 10, 5, 3, 2, 0]);
    expect(paris.value).toBe(12.5);
    expect(paris.rate).toBe(2);
    expect(m.get('xn7')).toBeUndefined();
    expect(m.total()).toBe(123);

    m.apply(frame('snapshot', 3, [{ cell: 'dr5', lat: 40.7, lon: -74, total: 10 }], 10));
    expect(m.size).toBe(1);
    expect(m.get('dr5')!.rate).toBe(1);
  });

  it('columns() interleaves lon/lat and carries the heat weight of each rate', () => {
    const m = new CellMap();
    m.apply(frame('snapshot', 1, [{ cell: 'u09', lat: 48.5, lon: 2.5, total: 600 }, { cell: 'xn7', lat: 35.5, lon: 139.5, total: 3 }]));
    const c = m.columns();
    expect(c.length).toBe(2);
    expect([...c.positions]).toEqual([2.5, 48.5, 139.5, 35.5]);
    expect(c.weights[0]).toBeCloseTo(heatWeight(10), 5);
    expect(c.weights[1]).toBeCloseTo(heatWeight(0.05), 5);
    expect(c.cells.map((x) => x.cell)).toEqual(['u09', 'xn7']);
  });

  it('refuses a frame whose columns disagree in length, naming the frame', () => {
    const m = new CellMap();
    const bad = { ...frame('snapshot', 7, [{ cell: 'u09', lat: 1, lon: 2, total: 3 }]), counts: new Uint32Array(5) };
    expect(() => m.apply(bad)).toThrow(/snapshot frame seq 7: 1 cells .* 5 counts \(expected 6\)/);
    const badUsers = { ...frame('delta', 8, [{ cell: 'u09', lat: 1, lon: 2, total: 3 }]), users: new Uint32Array(2) };
    expect(() => m.apply(badUsers)).toThrow(/delta frame seq 8: 1 cells but 2 users/);
  });

  it('keeps each cell\'s users like its other values: set by snapshot and delta rows, unknown when a row came without them', () => {
    const m = new CellMap();
    m.apply(frame('snapshot', 1, [{ cell: 'u09', lat: 48.8, lon: 2.3, total: 60, users: 25 }, { cell: 'xn7', lat: 35.6, lon: 139.6, total: 6, users: 4 }]));
    const paris = m.get('u09')!;
    expect(paris.users).toBe(25);
    expect(m.get('xn7')!.users).toBe(4);

    // A delta row replaces the cell's users; a cell the delta does not name keeps its own.
    m.apply(frame('delta', 2, [{ cell: 'u09', lat: 48.8, lon: 2.3, total: 90, users: 31 }]));
    expect(m.get('u09')).toBe(paris);
    expect(paris.users).toBe(31);
    expect(m.get('xn7')!.users).toBe(4);

    // A delta without users (a gateway older than reach): the rows it names have users unknown, never 0.
    m.apply(frame('delta', 3, [{ cell: 'u09', lat: 48.8, lon: 2.3, total: 95 }, { cell: 'dr5', lat: 40.7, lon: -74, total: 3 }]));
    expect(paris.total).toBe(95);
    expect(paris.users).toBeUndefined();
    expect(m.get('dr5')!.users).toBeUndefined();
    expect(m.get('xn7')!.users).toBe(4);

    // A zero users value the server did send is a real zero.
    m.apply(frame('snapshot', 4, [{ cell: 'dr5', lat: 40.7, lon: -74, total: 1, users: 0 }]));
    expect(m.get('dr5')!.users).toBe(0);
    expect(m.columns().cells[0]!.users).toBe(0);
  });

  it('keeps the view\'s privacy floor, hidden cells and reach: a snapshot states them, a delta changes what it carries', () => {
    const m = new CellMap();
    expect(m.privacy).toEqual({ privacyK: 0, withheld: 0, viewUsers: undefined });
    m.apply(frame('snapshot', 1, [{ cell: 'u09', lat: 1, lon: 2, total: 60, users: 25 }], 60, { privacyK: 10, withheld: 3, viewUsers: 70 }));
    expect(m.privacy).toEqual({ privacyK: 10, withheld: 3, viewUsers: 70 });
    m.apply(frame('delta', 2, [], 60, { withheld: 2, viewUsers: 68 }));
    expect(m.privacy).toEqual({ privacyK: 10, withheld: 2, viewUsers: 68 });
    m.apply(frame('delta', 3, [])); // a heartbeat saying nothing leaves them be
    expect(m.privacy).toEqual({ privacyK: 10, withheld: 2, viewUsers: 68 });
    m.apply(frame('snapshot', 4, [{ cell: 'u09', lat: 1, lon: 2, total: 60 }])); // a gateway without reach
    expect(m.privacy).toEqual({ privacyK: 0, withheld: 0, viewUsers: undefined });
    m.apply(frame('snapshot', 5, [], 60, { privacyK: 5, withheld: 0 }));
    m.clear();
    expect(m.privacy.privacyK).toBe(0);
  });
});
