import { describe, expect, it } from 'vitest';
import { ActorSystem, FencedError, Mailbox, ManualClock, RuntimeError, retry, type Actor, type Reply } from '../../../runtime/index.js';

const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('Mailbox', () => {
  it('is bounded: offer answers false when full, whenSpace resolves once a slot frees', async () => {
    const m = new Mailbox<number>(2);
    expect(m.offer(1)).toBe(true);
    expect(m.offer(2)).toBe(true);
    expect(m.offer(3)).toBe(false);
    let spaced = false;
    void m.whenSpace().then(() => (spaced = true));
    await flush();
    expect(spaced).toBe(false);
    expect(await m.take()).toBe(1);
    await flush();
    expect(spaced).toBe(true);
    expect(m.offer(3)).toBe(true);
    expect([await m.take(), await m.take()]).toEqual([2, 3]);
  });

  it('close hands back what was queued and ends a waiting take', async () => {
    const m = new Mailbox<string>(4);
    const waiting = m.take();
    expect(m.close()).toEqual([]);
    expect(await waiting).toBeUndefined();
    const n = new Mailbox<string>(4);
    n.offer('a');
    n.offer('b');
    expect(n.close()).toEqual(['a', 'b']);
    expect(n.offer('c')).toBe(false);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new Mailbox(0)).toThrow('mailbox capacity must be a positive integer');
  });
});

type Msg = { n: number; reply: Reply<number> };

describe('actors and supervision', () => {
  const opts = (max = 3) => ({ mailboxCapacity: 8, supervision: { maxRestarts: max, windowMs: 60_000, initialBackoffMs: 100, maxBackoffMs: 1000 } });

  it('processes one message at a time, in order', async () => {
    const clock = new ManualClock();
    const sys = new ActorSystem(clock, () => undefined);
    let active = 0;
    let maxActive = 0;
    const seen: number[] = [];
    const ref = sys.spawn<Msg>('a', () => ({
      async receive(m) {
        active++;
        maxActive = Math.max(maxActive, active);
        await Promise.resolve();
        seen.push(m.n);
        active--;
        m.reply.resolve(m.n * 2);
      },
    }), opts());
    const answers = await Promise.all([1, 2, 3, 4].map((n) => ref.ask<number>((reply) => ({ n, reply }))));
    expect(answers).toEqual([2, 4, 6, 8]);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(maxActive).toBe(1);
  });

  it('a failing actor restarts from scratch after a back-off and keeps serving', async () => {
    const clock = new ManualClock();
    const sys = new ActorSystem(clock, () => undefined);
    let incarnations = 0;
    const ref = sys.spawn<Msg>('b', () => {
      const me = ++incarnations;
      return {
        async start() {
          /* restore */
        },
        async receive(m) {
          if (m.n === 13) throw new Error('unlucky');
          m.reply.resolve(me);
        },
      } satisfies Actor<Msg>;
    }, opts(), (m, err) => m.reply.reject(err));
    await expect(ref.ask<number>((reply) => ({ n: 13, reply }))).rejects.toThrow('unlucky');
    const next = ref.ask<number>((reply) => ({ n: 1, reply }));
    await flush();
    clock.advance(99);
    await flush();
    expect(incarnations).toBe(1);
    clock.advance(1);
    await flush();
    expect(await next).toBe(2);
  });

  it('escalates once restarts within the window are used up', async () => {
    const clock = new ManualClock();
    const escalated: string[] = [];
    const sys = new ActorSystem(clock, (id, err) => escalated.push(`${id}: ${(err as Error).message}`));
    const ref = sys.spawn<Msg>('c', () => ({
      async receive() {
        throw new Error('broken');
      },
    }), opts(2), (m, err) => m.reply.reject(err));
    for (let i = 0; i < 3; i++) {
      void ref.ask<number>((reply) => ({ n: i, reply })).catch(() => undefined);
      await flush();
      clock.advance(10_000);
      await flush();
    }
    await ref.done;
    expect(escalated).toEqual(['c: broken']);
    expect(sys.size).toBe(0);
  });

  it('a non-retriable error (fenced) escalates at once, without restarting', async () => {
    const clock = new ManualClock();
    const escalated: unknown[] = [];
    let incarnations = 0;
    const sys = new ActorSystem(clock, (_id, err) => escalated.push(err));
    const ref = sys.spawn<Msg>('d', () => {
      incarnations++;
      return {
        async receive() {
          throw new FencedError('topic/3', 4, 5);
        },
      };
    }, opts(), (m, err) => m.reply.reject(err));
    await expect(ref.ask<number>((reply) => ({ n: 1, reply }))).rejects.toThrow('topic/3: write with epoch 4 rejected, current owner epoch is 5');
    await ref.done;
    expect(incarnations).toBe(1);
    expect(escalated).toHaveLength(1);
    expect((escalated[0] as FencedError).code).toBe('RT_FENCED');
  });
});

describe('retry', () => {
  it('retries retriable errors and stops at once on a non-retriable one', async () => {
    let calls = 0;
    const v = await retry(async () => {
      if (++calls < 3) throw new Error('transient');
      return 'ok';
    }, { attempts: 5, initialDelayMs: 1, maxDelayMs: 2 });
    expect([v, calls]).toEqual(['ok', 3]);
    let fenced = 0;
    await expect(retry(async () => {
      fenced++;
      throw new RuntimeError('X_FATAL', 'no', false);
    }, { attempts: 5, initialDelayMs: 1, maxDelayMs: 2 })).rejects.toThrow('no');
    expect(fenced).toBe(1);
  });
});
