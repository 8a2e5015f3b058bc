/**
 * Token bucket per API key: `rate` tokens (events) per second, at most `burst` saved. Pure: the clock is
 * a parameter, so tests never sleep.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(readonly rate: number, readonly burst: number, now: number) {
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
  }

  /**
   * Takes `n` tokens if there are enough: returns 0. Otherwise takes nothing and returns the ms to wait
   * until there will be (a request larger than the bucket waits for a full bucket and is then allowed).
   */
  take(n: number, now: number): number {
    this.refill(now);
    const need = Math.min(n, this.burst);
    if (this.tokens >= need) {
      this.tokens -= need;
      return 0;
    }
    return Math.ceil(((need - this.tokens) * 1000) / this.rate);
  }
}

/** One bucket per key id, created on first use. */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly defaults: { rate: number; burst: number }) {}

  take(keyId: string, limits: { rate?: number; burst?: number }, n: number, now: number): number {
    let b = this.buckets.get(keyId);
    const rate = limits.rate ?? this.defaults.rate;
    const burst = limits.burst ?? (limits.rate !== undefined ? limits.rate * 2 : this.defaults.burst);
    if (!b || b.rate !== rate || b.burst !== burst) {
      b = new TokenBucket(rate, burst, now);
      this.buckets.set(keyId, b);
    }
    return b.take(n, now);
  }
}
