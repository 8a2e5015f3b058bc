/**
 * The actor host: a long-running task on one pool thread that keeps actors' states there for as long as
 * they live. The main thread talks to it over a MessagePort (protocol.ts): it spawns actors, delivers
 * their messages and receives their effects. Each message is one `step`, one at a time per thread, so an
 * actor's state is only ever touched by its own steps; a tick timer on this thread drives every actor's
 * periodic work, so a busy main thread never delays it.
 *
 * Commands run one per turn of the event loop (a queue drained by `setImmediate`), not back to back: a
 * backlog of record batches would otherwise run in one go and hold the tick timer, and with it every
 * actor's deltas, for the sum of their steps. Now a tick waits for one step at most.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../core/clock.js';
import { toWireError } from '../core/errors.js';
import { isSelfMessage, type ActorLogic, type LogicModule } from '../core/logic.js';
import type { HostCommand, HostEvent, HostInit } from './protocol.js';

type AnyLogic = ActorLogic<unknown, unknown, unknown, unknown>;

interface Hosted {
  readonly logic: AnyLogic;
  state: unknown;
}

const TICK = { type: 'tick' } as const;

/** Runs until the port is closed or a `close` command arrives. */
export async function hostActors(init: HostInit, clock: Clock = systemClock): Promise<{ thread: number }> {
  const { port, thread } = init;
  const actors = new Map<string, Hosted>();
  const modules = new Map<string, Promise<AnyLogic>>();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  let busyMs = 0;
  let since = performance.now();

  const post = (e: HostEvent) => port.postMessage(e);
  /** Commands not handled yet, oldest first; `head` is the next one. */
  let pending: HostCommand[] = [];
  let head = 0;
  let draining = false;
  /** Posts an actor's effects; its messages to itself go behind the queued commands instead. */
  const emit = (id: string, effects: readonly unknown[]) => {
    if (effects.length === 0) return;
    let out: unknown[] | null = null;
    for (const e of effects) {
      if (!isSelfMessage(e)) continue;
      out ??= effects.filter((x) => !isSelfMessage(x));
      enqueue({ type: 'deliver', id, msg: e.msg });
    }
    const posted = out ?? effects;
    if (posted.length > 0) post({ type: 'effects', id, effects: posted });
  };
  const run = (id: string, a: Hosted, msg: unknown) => {
    const t0 = performance.now();
    try {
      emit(id, a.logic.step(a.state, msg, clock));
    } catch (err) {
      actors.delete(id);
      post({ type: 'failed', id, error: toWireError(err) });
    } finally {
      busyMs += performance.now() - t0;
    }
  };
  const logicOf = (module: string) => {
    let m = modules.get(module);
    if (!m) {
      m = (import(module) as Promise<LogicModule>).then((x) => x.logic);
      modules.set(module, m);
    }
    return m;
  };

  const handle = async (c: HostCommand): Promise<void> => {
    switch (c.type) {
      case 'spawn': {
        try {
          const logic = await logicOf(c.module);
          const t0 = performance.now();
          const { state, effects } = logic.init(c.input, clock);
          busyMs += performance.now() - t0;
          actors.set(c.id, { logic, state });
          emit(c.id, effects);
        } catch (err) {
          post({ type: 'failed', id: c.id, error: toWireError(err) });
        }
        return;
      }
      case 'deliver': {
        const a = actors.get(c.id);
        if (a) run(c.id, a, c.msg);
        return;
      }
      case 'stop':
        actors.delete(c.id);
        post({ type: 'stopped', id: c.id });
        return;
      case 'stats': {
        const now = performance.now();
        post({
          type: 'stats', req: c.req, thread, actors: actors.size,
          loop: { p50Ms: loop.percentile(50) / 1e6, p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6, busy: now > since ? busyMs / (now - since) : 0 },
        });
        loop.reset();
        busyMs = 0;
        since = now;
        return;
      }
      case 'close':
        port.close();
        return;
    }
  };

  // Commands are handled strictly in arrival order (a spawn waits for its module), one per turn.
  const drain = async (): Promise<void> => {
    const c = pending[head++]!;
    if (head === pending.length) {
      pending = [];
      head = 0;
    }
    await handle(c);
    if (head < pending.length) setImmediate(() => void drain());
    else draining = false;
  };
  function enqueue(c: HostCommand): void {
    pending.push(c);
    if (draining) return;
    draining = true;
    setImmediate(() => void drain());
  }

  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      for (const [id, a] of actors) run(id, a, TICK);
    }, init.tickMs);
    port.on('message', enqueue);
    port.on('close', () => {
      clearInterval(tick);
      loop.disable();
      resolve();
    });
  });
  return { thread };
}
