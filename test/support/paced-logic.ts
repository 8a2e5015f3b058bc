/**
 * A test actor for the actor host: `work` holds the thread for `ms` (a slow step), `split` answers and
 * sends itself a `work`, `tick` is counted. Every step answers with what it did, in order.
 */
import type { ActorLogic } from '../../runtime/index.js';

type Msg = { type: 'tick' } | { type: 'work'; n: number; ms: number } | { type: 'split'; n: number; ms: number };
type Effect = { did: string; n?: number } | { type: 'self'; msg: Msg };

export const logic: ActorLogic<{ ticks: number }, Msg, Effect, null> = {
  init: () => ({ state: { ticks: 0 }, effects: [] }),
  step(s, msg) {
    switch (msg.type) {
      case 'tick':
        s.ticks++;
        return [{ did: 'tick' }];
      case 'work': {
        const until = performance.now() + msg.ms;
        while (performance.now() < until) { /* holds the thread, as a heavy batch would */ }
        return [{ did: 'work', n: msg.n }];
      }
      case 'split':
        return [{ did: 'split', n: msg.n }, { type: 'self', msg: { type: 'work', n: msg.n, ms: msg.ms } }];
    }
  },
};
