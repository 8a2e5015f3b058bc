/**
 * The actor host on this thread over a MessageChannel: commands run one per event-loop turn, so the tick
 * timer runs between slow steps, and a message an actor sends itself goes behind the commands queued.
 */
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { hostActors } from '../../../runtime/pool/actor-host.js';
import type { HostCommand, HostEvent } from '../../../runtime/pool/protocol.js';

const LOGIC = new URL('../../support/paced-logic.ts', import.meta.url).href;

let close: (() => Promise<unknown>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

/** Starts a host with one actor and returns what it did, in the order it posted it. */
async function start(tickMs: number) {
  const { port1, port2 } = new MessageChannel();
  const done = hostActors({ port: port2, thread: 0, tickMs });
  const did: string[] = [];
  port1.on('message', (e: HostEvent) => {
    if (e.type === 'effects') for (const x of e.effects as { did: string; n?: number }[]) did.push(x.n === undefined ? x.did : `${x.did}${x.n}`);
  });
  const send = (c: HostCommand) => port1.postMessage(c);
  close = async () => {
    send({ type: 'close' });
    await done;
    port1.close();
  };
  send({ type: 'spawn', id: 'a', module: LOGIC, input: null });
  return { did, send };
}

const until = async (what: () => boolean) => {
  const end = Date.now() + 20_000;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('hostActors', () => {
  it('runs the tick between queued slow steps, not after the whole backlog', async () => {
    const { did, send } = await start(5);
    for (let n = 0; n < 3; n++) send({ type: 'deliver', id: 'a', msg: { type: 'work', n, ms: 40 } });
    await until(() => did.includes('work2'));
    const at = (x: string) => did.indexOf(x);
    // A step of 40 ms overruns the 5 ms tick: the timer fires before the next queued step.
    expect(did.slice(at('work0'), at('work1')).filter((x) => x === 'tick').length).toBeGreaterThanOrEqual(1);
    expect(did.slice(at('work1'), at('work2')).filter((x) => x === 'tick').length).toBeGreaterThanOrEqual(1);
  });

  it('delivers a message an actor sends itself behind the commands already queued, and never posts it', async () => {
    const { did, send } = await start(60_000);
    send({ type: 'deliver', id: 'a', msg: { type: 'split', n: 1, ms: 0 } });
    send({ type: 'deliver', id: 'a', msg: { type: 'work', n: 2, ms: 0 } });
    await until(() => did.length >= 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(did).toEqual(['split1', 'work2', 'work1']);
  });
});
