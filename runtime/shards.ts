/**
 * Hosts one actor per owned partition of a log. The consumer group decides ownership; this turns its
 * assignments into actors, routes each fetched batch to its partition's actor (one at a time, waiting
 * when the mailbox is full — which stops fetching for that partition), drives periodic ticks, and
 * escalates an actor's fatal failure to the process.
 */
import { ActorSystem, DEFAULT_SUPERVISION, type Actor, type ActorRef, type Reply, type SupervisionPolicy } from './core/actor.js';
import type { Clock } from './core/clock.js';
import { ActorStoppedError } from './core/errors.js';
import type { BatchResult, LogRecord, PartitionSource } from './ports/ports.js';

/** What the host needs of a partition's owner. */
export interface Shard {
  /** Takes ownership and restores (runs again after each supervised restart). */
  start(): Promise<void>;
  handleBatch(records: readonly LogRecord[]): Promise<BatchResult>;
  /** Periodic work: checkpoint, rollups, deltas — whatever falls due at `now`. */
  tick(now: number): Promise<void>;
  /** Checkpoint now (a rebalance is coming). */
  flush(): Promise<void>;
  /** Final checkpoint when `reason` is 'revoked'; release resources. */
  stop(reason: 'revoked' | 'restart' | 'failed' | 'stopped'): Promise<void>;
  /** Next offset the shard will process. */
  readonly position: number;
}

type ShardMsg =
  | { readonly type: 'batch'; readonly records: readonly LogRecord[]; readonly reply: Reply<BatchResult> }
  | { readonly type: 'tick' }
  | { readonly type: 'flush'; readonly reply: Reply<void> };

export interface ShardHostOptions {
  readonly source: PartitionSource;
  readonly createShard: (partition: number) => Shard;
  readonly clock: Clock;
  readonly tickMs: number;
  readonly mailboxCapacity: number;
  readonly supervision?: SupervisionPolicy;
  /** A shard failed for good (fenced, or restarts exhausted): the process should stop. */
  readonly onFatal: (partition: number, err: unknown) => void;
  readonly log: (msg: string) => void;
}

class ShardActorAdapter implements Actor<ShardMsg> {
  revoked = false;
  constructor(readonly shard: Shard) {}
  start(): Promise<void> {
    return this.shard.start();
  }
  async receive(m: ShardMsg): Promise<void> {
    switch (m.type) {
      case 'batch':
        m.reply.resolve(await this.shard.handleBatch(m.records));
        return;
      case 'tick':
        await this.shard.tick(Date.now());
        return;
      case 'flush':
        await this.shard.flush();
        m.reply.resolve();
        return;
    }
  }
  stop(reason: 'stopped' | 'restart' | 'failed'): Promise<void> {
    return this.shard.stop(reason === 'stopped' && this.revoked ? 'revoked' : reason);
  }
}

export class ShardHost {
  private readonly system: ActorSystem;
  private readonly actors = new Map<number, { ref: ActorRef<ShardMsg>; adapter: () => ShardActorAdapter }>();
  private tickTimer: (() => void) | null = null;
  private closed = false;

  constructor(private readonly o: ShardHostOptions) {
    this.system = new ActorSystem(o.clock, (id, err) => o.onFatal(Number(id.split('/')[1]), err));
  }

  /** Partitions currently owned by this process. */
  get partitions(): number[] {
    return [...this.actors.keys()].sort((a, b) => a - b);
  }

  mailboxDepth(partition: number): number {
    return this.actors.get(partition)?.ref.depth ?? 0;
  }

  async start(): Promise<void> {
    this.scheduleTick();
    await this.o.source.start({
      onAssignment: (ps) => this.assign(ps),
      onRebalancing: () => this.flushAll(),
      onBatch: (p, records, heartbeat) => this.route(p, records, heartbeat),
    });
  }

  private scheduleTick(): void {
    this.tickTimer = this.o.clock.setTimeout(() => {
      // A tick that finds the mailbox full is skipped, not queued: the next one does the same work.
      for (const { ref } of this.actors.values()) ref.tell({ type: 'tick' });
      if (!this.closed) this.scheduleTick();
    }, this.o.tickMs);
  }

  private readonly spawning = new Map<number, Promise<ActorRef<ShardMsg>>>();

  /**
   * The partition's live actor, spawning one if needed. A previous incarnation still stopping (its
   * final checkpoint after a revocation) is awaited first: one actor per partition per process, always.
   */
  private ensure(partition: number): Promise<ActorRef<ShardMsg>> {
    const existing = this.actors.get(partition);
    if (existing && !existing.ref.stopped) return Promise.resolve(existing.ref);
    let p = this.spawning.get(partition);
    if (!p) {
      p = (async () => {
        if (existing) await existing.ref.done;
        return this.spawn(partition);
      })().finally(() => this.spawning.delete(partition));
      this.spawning.set(partition, p);
    }
    return p;
  }

  private spawn(partition: number): ActorRef<ShardMsg> {
    let current: ShardActorAdapter | undefined;
    const ref = this.system.spawn<ShardMsg>(`shard/${partition}`, () => {
      current = new ShardActorAdapter(this.o.createShard(partition));
      return current;
    }, { mailboxCapacity: this.o.mailboxCapacity, supervision: this.o.supervision ?? DEFAULT_SUPERVISION }, (m, err) => {
      if (m.type !== 'tick') m.reply.reject(err);
    });
    this.actors.set(partition, { ref, adapter: () => current! });
    void ref.done.then(() => {
      if (this.actors.get(partition)?.ref === ref) this.actors.delete(partition);
    });
    this.o.log(`partition ${partition}: gained`);
    return ref;
  }

  private async assign(partitions: readonly number[]): Promise<void> {
    const keep = new Set(partitions);
    const revoked = [...this.actors.keys()].filter((p) => !keep.has(p));
    await Promise.all(revoked.map(async (p) => {
      const a = this.actors.get(p);
      if (!a) return;
      a.adapter().revoked = true;
      this.o.log(`partition ${p}: lost (rebalance)`);
      await a.ref.stop();
    }));
    await Promise.all(partitions.map((p) => this.ensure(p)));
  }

  private async flushAll(): Promise<void> {
    await Promise.all([...this.actors.values()].map(({ ref }) => ref.ask<void>((reply) => ({ type: 'flush', reply })).catch(() => undefined)));
  }

  private async route(partition: number, records: readonly LogRecord[], heartbeat: () => Promise<void>): Promise<BatchResult> {
    if (this.closed) return {};
    const ref = await this.ensure(partition);
    // Waiting here is the backpressure: kafkajs fetches nothing more for this partition meanwhile.
    // Heartbeats keep the membership alive while a shard is stalled (e.g. its store is down).
    const beat = setInterval(() => void heartbeat().catch(() => undefined), 1000);
    try {
      return await ref.ask<BatchResult>((reply) => ({ type: 'batch', records, reply }));
    } catch (err) {
      // Not processed (actor stopped or restarting): leave the fetch position where it was.
      if (!(err instanceof ActorStoppedError)) this.o.log(`partition ${partition}: batch not processed: ${(err as Error).message}`);
      return {};
    } finally {
      clearInterval(beat);
    }
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.tickTimer?.();
    await this.o.source.stop().catch(() => undefined);
    for (const a of this.actors.values()) a.adapter().revoked = true;
    await this.system.stopAll();
  }
}
