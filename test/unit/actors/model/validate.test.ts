import { describe, expect, it } from 'vitest';
import { DEFAULT_EVENT_LIMITS, EVENT_FIELDS, validateBatch, validateEvent, BatchShapeError } from '../../../../actors/model/index.js';

const NOW = 1_767_000_000_000;

describe('validateEvent', () => {
  it('rebuilds a valid event with only model fields, in canonical order', () => {
    const r = validateEvent({ props: { a: 1, b: 'x', c: true }, value: 9.5, lon: 2.35, lat: 48.85, ts: NOW, name: 'level_up', type: 'custom', userId: 'u', campaignId: 'c', appId: 'a', id: 'e1' }, NOW);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Object.keys(r.event)).toEqual([...EVENT_FIELDS]);
    expect(r.event).toEqual({ userId: 'u', type: 'custom', name: 'level_up', ts: NOW, lat: 48.85, lon: 2.35, id: 'e1', appId: 'a', campaignId: 'c', value: 9.5, props: { a: 1, b: 'x', c: true } });
  });

  it('accepts the edges of every range', () => {
    for (const [lat, lon] of [[-90, -180], [90, 180], [0, 0]] as const) {
      expect(validateEvent({ userId: 'u', type: 'click', ts: NOW, lat, lon }, NOW).ok).toBe(true);
    }
    expect(validateEvent({ userId: 'u'.repeat(128), type: 'click', ts: NOW - DEFAULT_EVENT_LIMITS.tsPastMs, lat: 0, lon: 0 }, NOW).ok).toBe(true);
    expect(validateEvent({ userId: 'u', type: 'click', ts: NOW + DEFAULT_EVENT_LIMITS.tsFutureMs, lat: 0, lon: 0, value: -1e12 }, NOW).ok).toBe(true);
  });

  it('names every bad field of one event at once', () => {
    const r = validateEvent({ userId: 1, type: 'x', ts: 'now', lat: 100, lon: NaN, extra: 1 }, NOW);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field)).toEqual(['extra', 'userId', 'type', 'ts', 'lat', 'lon']);
    expect(r.errors.find((e) => e.field === 'lon')?.reason).toBe('must be a finite number, got NaN');
  });
});

describe('validateBatch', () => {
  it('splits valid and invalid events by index', () => {
    const good = { userId: 'u', type: 'click', ts: NOW, lat: 0, lon: 0 };
    const r = validateBatch([good, { ...good, lat: 91 }, good], NOW);
    expect(r.acceptedIndexes).toEqual([0, 2]);
    expect(r.events).toHaveLength(2);
    expect(r.errors).toEqual([{ index: 1, field: 'lat', reason: 'must be between -90 and 90, got 91' }]);
  });

  it('refuses a single object where only arrays are allowed (WebSocket frames)', () => {
    expect(() => validateBatch({ userId: 'u' }, NOW, DEFAULT_EVENT_LIMITS, false)).toThrow(BatchShapeError);
  });
});
