import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../runtime/core/clock.js';
import { ManualClock } from '../../../runtime/core/clock.js';
import { StallWatch } from '../../../runtime/core/stall-watch.js';

/**
 * A clock whose timers fire when the process runs: `run(ms)` lets time pass with the loop turning (timers
 * fire on time); `pause(ms)` lets it pass with the process stopped, so the overdue timers fire late, at
 * the end of the pause, as after a SIGCONT.
 */
class ProcessClock implements Clock {
  private t = 1_000;
  private timers: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }
  run(ms: number): void {
    const end = this.t + ms;
    for (let next = this.due(end); next; next = this.due(end)) {
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
  pause(ms: number): void {
    this.t += ms;
    this.run(0);
  }
  private due(end: number) {
    this.timers.sort((a, b) => a.at - b.at);
    const next = this.timers[0];
    if (!next || next.at > end) return undefined;
    this.timers.shift();
    return next;
  }
}

describe('StallWatch: a gap longer than the session', () => {
  it('reports each gap over the limit once, with its length, and nothing for regular beats', () => {
    const clock = new ProcessClock();
    const gaps: number[] = [];
    const w = new StallWatch(clock, 2_000, 250, (g) => gaps.push(g));
    w.start();
    clock.run(10_000); // beats at 250 ms: the last at 10 000 ms in
    expect(gaps).toEqual([]);
    clock.pause(2_600);
    expect(gaps).toEqual([2_600]);
    clock.run(5_000);
    expect(gaps).toEqual([2_600]);
    clock.run(100);
    clock.pause(1_800); // 1 900 ms since the last beat: under the limit
    expect(gaps).toEqual([2_600]);
    w.stop();
    clock.pause(9_000);
    clock.run(1_000);
    expect(gaps).toEqual([2_600]);
  });

  it('refuses a beat that is not shorter than the limit', () => {
    expect(() => new StallWatch(new ManualClock(), 1_000, 1_000, () => undefined)).toThrow(/0 < everyMs < limitMs/);
  });
});
