/**
 * The actor host: a long-running task on one pool thread that keeps actors' states there for as long as
 * they live. The main thread talks to it over a MessagePort (protocol.ts): it spawns actors, delivers
 * their messages and receives their effects. Each message is one `step`, one at a time per thread, so an
 * actor's state is only ever touched by its own steps; a tick timer on this thread drives every actor's
 * periodic work, so a busy main thread never delays it.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../core/clock.js';
import { toWireError } from '../core/errors.js';
import type { ActorLogic, LogicModule } from '../core/logic.js';
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
  const run = (id: string, a: Hosted, msg: unknown) => {
    const t0 = performance.now();
    try {
      const effects = a.logic.step(a.state, msg, clock);
      if (effects.length > 0) post({ type: 'effects', id, effects });
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

  // Commands are handled strictly in arrival order, even while a module loads.
  let queue: Promise<void> = Promise.resolve();
  const handle = async (c: HostCommand): Promise<void> => {
    switch (c.type) {
      case 'spawn': {
        try {
          const logic = await logicOf(c.module);
          const t0 = performance.now();
          const { state, effects } = logic.init(c.input, clock);
          busyMs += performance.now() - t0;
          actors.set(c.id, { logic, state });
          if (effects.length > 0) post({ type: 'effects', id: c.id, effects });
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

  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      for (const [id, a] of actors) run(id, a, TICK);
    }, init.tickMs);
    port.on('message', (c: HostCommand) => {
      queue = queue.then(() => handle(c));
    });
    port.on('close', () => {
      clearInterval(tick);
      loop.disable();
      resolve();
    });
  });
  return { thread };
}
