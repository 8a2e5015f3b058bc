/**
 * Notices that this process did not run for longer than its consumer-group session (SIGSTOP, a VM
 * paused, a swap storm): a timer that fires every `everyMs` and measures the gap since it last fired.
 * After such a stall the group may have given this process's partitions to another member, and kafkajs
 * learns it only on its next heartbeat; the shard host uses the stall to tell a zombie's refused write
 * from a healthy handover's (runtime/shards.ts, `fenced`).
 */
import type { Cancel, Clock } from './clock.js';

export class StallWatch {
  private cancel: Cancel | null = null;
  private last = 0;

  /** `onStall(gapMs)` runs once per gap longer than `limitMs`; the clock should be monotonic. */
  constructor(private readonly clock: Clock, private readonly limitMs: number, private readonly everyMs: number, private readonly onStall: (gapMs: number) => void) {
    if (!(limitMs > 0) || !(everyMs > 0) || everyMs >= limitMs) throw new RangeError(`a stall watch needs 0 < everyMs < limitMs, got ${everyMs} and ${limitMs}`);
  }

  start(): void {
    if (this.cancel) return;
    this.last = this.clock.now();
    this.arm();
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
  }

  private arm(): void {
    this.cancel = this.clock.setTimeout(() => {
      const now = this.clock.now();
      const gap = now - this.last;
      this.last = now;
      if (gap > this.limitMs) this.onStall(gap);
      this.arm();
    }, this.everyMs);
  }
}
