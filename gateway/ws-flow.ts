/**
 * Flow control of one ingest WebSocket, pure. This uWS build cannot pause a WebSocket's reads, so the
 * protocol carries the backpressure: a client keeps at most `window` frames unacknowledged. The server
 * processes up to `window` frames at once; frames beyond that are held, unprocessed, while Kafka is slow
 * (or while the client is not reading its acks), and resumed as acks go out and the socket drains. A
 * client with more than `window` frames held on top of those in flight ignores the protocol and is
 * closed (4008). Memory per socket is therefore at most 2 x window x the max frame size.
 */
export type Offer = 'process' | 'held' | 'close';

export class WsFlow<F> {
  private inFlight = 0;
  private readonly held: F[] = [];
  private blocked = false;

  constructor(readonly window: number) {}

  get processing(): number {
    return this.inFlight;
  }

  get holding(): number {
    return this.held.length;
  }

  private canProcess(): boolean {
    return this.inFlight < this.window && !this.blocked;
  }

  /** A frame arrived: process it now, hold it, or close the socket. */
  offer(frame: F): Offer {
    if (this.held.length === 0 && this.canProcess()) {
      this.inFlight++;
      return 'process';
    }
    if (this.held.length >= this.window) return 'close';
    this.held.push(frame);
    return 'held';
  }

  private release(): F[] {
    const out: F[] = [];
    while (this.held.length > 0 && this.canProcess()) {
      out.push(this.held.shift()!);
      this.inFlight++;
    }
    return out;
  }

  /** A frame was answered: the held frames that may be processed now. */
  done(): F[] {
    this.inFlight--;
    return this.release();
  }

  /** The client is not reading its acks: stop processing its frames until {@link unblock}. */
  block(): void {
    this.blocked = true;
  }

  /** The socket drained: the held frames that may be processed now. */
  unblock(): F[] {
    this.blocked = false;
    return this.release();
  }
}
