/**
 * A bounded FIFO with one consumer. `offer` never blocks and never drops: it answers false when full,
 * and `whenSpace()` resolves once a slot frees up — backpressure as a return value plus a drain signal.
 */
export class Mailbox<M> {
  private items: M[] = [];
  private head = 0;
  private waitingTaker: ((m: M | undefined) => void) | null = null;
  private spaceWaiters: (() => void)[] = [];
  private closed = false;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('mailbox capacity must be a positive integer');
  }

  get size(): number {
    return this.items.length - this.head;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  offer(m: M): boolean {
    if (this.closed || this.size >= this.capacity) return false;
    if (this.waitingTaker) {
      const t = this.waitingTaker;
      this.waitingTaker = null;
      t(m);
      return true;
    }
    this.items.push(m);
    return true;
  }

  /** Resolves with the next message, or undefined once closed and empty. */
  take(): Promise<M | undefined> {
    if (this.size > 0) {
      const m = this.items[this.head]!;
      this.items[this.head] = undefined as M;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      this.notifySpace();
      return Promise.resolve(m);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waitingTaker = (m) => {
        this.notifySpace();
        resolve(m);
      };
    });
  }

  /** Resolves when there is room for one more message (at once if there is). */
  whenSpace(): Promise<void> {
    if (this.size < this.capacity || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  /** Stops accepting; returns what was still queued so the owner can fail it explicitly. */
  close(): M[] {
    this.closed = true;
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    if (this.waitingTaker) {
      const t = this.waitingTaker;
      this.waitingTaker = null;
      t(undefined);
    }
    for (const w of this.spaceWaiters.splice(0)) w();
    return rest;
  }

  private notifySpace(): void {
    while (this.spaceWaiters.length > 0 && this.size < this.capacity) this.spaceWaiters.shift()!();
  }
}
