import type { Clock } from './clock.js';

/**
 * An actor's behaviour as a state machine, the shape xstate v5 calls ActorLogic: `init` builds the state
 * from a serialisable input, `step` takes one message. Every change of the state happens inside `step`,
 * which may mutate the state it was given (it is the only holder of it) and returns effects as plain data:
 * the host executes them and relays their outcomes back as messages. No I/O, no timers, and time only
 * through the injected clock, so a logic is unit-tested by calling `step` with a ManualClock.
 */
export interface ActorLogic<S, M, E, I> {
  init(input: I, clock: Clock): { readonly state: S; readonly effects: readonly E[] };
  step(state: S, msg: M, clock: Clock): readonly E[];
}

/**
 * The one effect a host executes itself: deliver `msg` to the same actor later, behind the commands
 * already queued for its thread (Akka's `self ! msg`). A logic splits long work this way: between its
 * parts the thread's timers and the other actors' messages run, so one actor's slow work holds the rest up
 * for one part at most.
 */
export interface SelfMessage<M> {
  readonly type: 'self';
  readonly msg: M;
}

export const isSelfMessage = (e: unknown): e is SelfMessage<unknown> => typeof e === 'object' && e !== null && (e as { type?: unknown }).type === 'self';

/**
 * `step`, then every message the actor sent itself, in order, as a host with nothing else queued would
 * deliver them: the effects of them all, the self messages left out. For tests and tools that drive a
 * logic by hand.
 */
export function stepThrough<S, M, E>(logic: ActorLogic<S, M, E, unknown>, state: S, msg: M, clock: Clock): E[] {
  const out: E[] = [];
  const queue: M[] = [msg];
  for (let i = 0; i < queue.length; i++) {
    for (const e of logic.step(state, queue[i]!, clock)) {
      if (isSelfMessage(e)) queue.push(e.msg as M);
      else out.push(e);
    }
  }
  return out;
}

/** What a logic module exports for a thread host to load it by URL. */
export interface LogicModule {
  readonly logic: ActorLogic<unknown, unknown, unknown, unknown>;
}
