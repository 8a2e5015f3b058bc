import { describe, expect, it } from 'vitest';
import { RateLimiter, TokenBucket } from '../../../gateway/rate-limit.js';

describe('TokenBucket', () => {
  it('allows the burst, then refills at the rate, and says how long to wait', () => {
    const b = new TokenBucket(100, 200, 0);
    expect(b.take(200, 0)).toBe(0);
    expect(b.take(1, 0)).toBe(10); // 1 token at 100/s = 10 ms
    expect(b.take(50, 250)).toBe(250); // 25 tokens after 250 ms; 25 more take 250 ms
    expect(b.take(50, 500)).toBe(0);
  });

  it('refuses without taking when short, and never exceeds the burst', () => {
    const b = new TokenBucket(1000, 100, 0);
    expect(b.take(100, 0)).toBe(0);
    expect(b.take(60, 50)).toBe(10); // 50 tokens there, 10 more need 10 ms
    expect(b.take(60, 60)).toBe(0);
    expect(b.take(100, 10_000_000)).toBe(0); // capped at 100
    expect(b.take(1, 10_000_000)).toBe(1);
  });

  it('a request larger than the bucket waits for a full bucket', () => {
    const b = new TokenBucket(10, 20, 0);
    expect(b.take(500, 0)).toBe(0);
    expect(b.take(500, 1000)).toBe(1000);
  });
});

describe('RateLimiter', () => {
  it('keeps one bucket per key and honours per-key rates', () => {
    const l = new RateLimiter({ rate: 10, burst: 10 });
    expect(l.take('a', {}, 10, 0)).toBe(0);
    expect(l.take('a', {}, 1, 0)).toBe(100);
    expect(l.take('b', {}, 10, 0)).toBe(0);
    expect(l.take('c', { rate: 1000 }, 2000, 0)).toBe(0); // burst 2 x rate
    expect(l.take('c', { rate: 1000 }, 1, 0)).toBe(1);
  });
});
