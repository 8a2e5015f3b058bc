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

/** What a logic module exports for a thread host to load it by URL. */
export interface LogicModule {
  readonly logic: ActorLogic<unknown, unknown, unknown, unknown>;
}
