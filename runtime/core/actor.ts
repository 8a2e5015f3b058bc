import type { Clock } from './clock.js';
import { ActorStoppedError, RuntimeError, isRetriable } from './errors.js';
import { Mailbox } from './mailbox.js';

/** An actor's behaviour: one message at a time, never concurrently. */
export interface Actor<M> {
  /** Runs before the first message and again after each restart (e.g. restore from a checkpoint). */
  start?(): Promise<void>;
  receive(msg: M): Promise<void>;
  /** Runs when the actor stops or is about to be restarted. */
  stop?(reason: 'stopped' | 'restart' | 'failed'): Promise<void>;
}

/** Reply handle carried by an `ask` message. */
export interface Reply<R> {
  resolve(value: R): void;
  reject(err: unknown): void;
}

export interface SupervisionPolicy {
  /** Restarts allowed within `windowMs` before the failure escalates. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_SUPERVISION: SupervisionPolicy = { maxRestarts: 5, windowMs: 60_000, initialBackoffMs: 200, maxBackoffMs: 10_000 };

export interface ActorOptions {
  readonly mailboxCapacity: number;
  readonly supervision: SupervisionPolicy;
}

export type Escalate = (actorId: string, err: unknown) => void;

/**
 * The running actor: a mailbox, a loop taking one message at a time, and its supervisor. A failing
 * `receive` or `start` never breaks the loop: the actor restarts from scratch (`factory()` then
 * `start()`) after a back-off; a non-retriable error, or too many restarts, escalates.
 */
export class ActorRef<M> {
  private readonly mailbox: Mailbox<M>;
  private actor: Actor<M>;
  private restarts: number[] = [];
  private backoff: number;
  private stopRequested = false;
  /** Resolves when the loop has ended. */
  readonly done: Promise<void>;
  private failedWith: unknown;

  constructor(
    readonly id: string,
    private readonly factory: () => Actor<M>,
    private readonly opts: ActorOptions,
    private readonly clock: Clock,
    private readonly escalate: Escalate,
    /** Rejects an undelivered message's reply (if it has one) when the actor stops. */
    private readonly rejectMessage: (m: M, err: Error) => void = () => undefined,
  ) {
    this.mailbox = new Mailbox<M>(opts.mailboxCapacity);
    this.backoff = opts.supervision.initialBackoffMs;
    this.actor = factory();
    this.done = this.loop();
  }

  get depth(): number {
    return this.mailbox.size;
  }

  get stopped(): boolean {
    return this.mailbox.isClosed;
  }

  /** Delivers if there is room; false means full (back off, await `whenSpace`). Never drops silently. */
  tell(msg: M): boolean {
    return this.mailbox.offer(msg);
  }

  /** Delivers, waiting for room when the mailbox is full. */
  async send(msg: M): Promise<void> {
    while (!this.mailbox.offer(msg)) {
      if (this.mailbox.isClosed) throw new ActorStoppedError(this.id);
      await this.mailbox.whenSpace();
    }
  }

  /** Sends a message carrying a reply handle and resolves with the reply. */
  ask<R>(build: (reply: Reply<R>) => M): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.send(build({ resolve, reject })).catch(reject);
    });
  }

  whenSpace(): Promise<void> {
    return this.mailbox.whenSpace();
  }

  /** Stops after the message being processed; queued messages are rejected. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    for (const m of this.mailbox.close()) this.rejectMessage(m, new ActorStoppedError(this.id));
    await this.done;
  }

  private async loop(): Promise<void> {
    let started = false;
    while (!this.stopRequested) {
      try {
        if (!started) {
          await this.actor.start?.();
          started = true;
        }
        const msg = await this.mailbox.take();
        if (msg === undefined) break;
        try {
          await this.actor.receive(msg);
        } catch (err) {
          this.rejectMessage(msg, err instanceof Error ? err : new Error(String(err)));
          throw err;
        }
        this.backoff = this.opts.supervision.initialBackoffMs;
      } catch (err) {
        if (this.stopRequested) break;
        if (!(await this.supervise(err))) {
          this.failedWith = err;
          break;
        }
        started = false;
      }
    }
    try {
      await this.actor.stop?.(this.failedWith === undefined ? 'stopped' : 'failed');
    } catch {
      /* stopping is best effort */
    }
    if (!this.mailbox.isClosed) for (const m of this.mailbox.close()) this.rejectMessage(m, new ActorStoppedError(this.id));
    if (this.failedWith !== undefined) this.escalate(this.id, this.failedWith);
  }

  /** Decides restart (true, after back-off) or escalation (false). */
  private async supervise(err: unknown): Promise<boolean> {
    const now = this.clock.now();
    const p = this.opts.supervision;
    this.restarts = this.restarts.filter((t) => now - t < p.windowMs);
    if (!isRetriable(err) || this.restarts.length >= p.maxRestarts) return false;
    this.restarts.push(now);
    try {
      await this.actor.stop?.('restart');
    } catch {
      /* the old incarnation is discarded anyway */
    }
    await new Promise<void>((r) => this.clock.setTimeout(r, this.backoff));
    this.backoff = Math.min(p.maxBackoffMs, this.backoff * 2);
    this.actor = this.factory();
    return true;
  }
}

/** A registry of actors with one escalation path: the process decides what a fatal failure means. */
export class ActorSystem {
  private readonly actors = new Map<string, ActorRef<never>>();

  constructor(private readonly clock: Clock, private readonly escalate: Escalate) {}

  spawn<M>(id: string, factory: () => Actor<M>, opts: ActorOptions, rejectMessage?: (m: M, err: Error) => void): ActorRef<M> {
    if (this.actors.has(id)) throw new RuntimeError('RT_DUPLICATE_ACTOR', `actor ${id} already exists`, false);
    const ref = new ActorRef<M>(id, factory, opts, this.clock, (aid, err) => {
      this.actors.delete(aid);
      this.escalate(aid, err);
    }, rejectMessage);
    this.actors.set(id, ref as unknown as ActorRef<never>);
    void ref.done.then(() => {
      if (this.actors.get(id) === (ref as unknown)) this.actors.delete(id);
    });
    return ref;
  }

  get(id: string): ActorRef<unknown> | undefined {
    return this.actors.get(id) as ActorRef<unknown> | undefined;
  }

  get size(): number {
    return this.actors.size;
  }

  async stop(id: string): Promise<void> {
    await this.actors.get(id)?.stop();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.actors.values()].map((a) => a.stop()));
  }
}
