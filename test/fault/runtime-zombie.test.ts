import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { metricSum, startRuntimeProc, type RuntimeProc } from '../support/runtime-proc.js';
import { faultRun, type FaultRun } from './harness.js';

const procs: RuntimeProc[] = [];
let run: FaultRun | undefined;
afterEach(async () => {
  for (const p of procs) p.signal('SIGCONT');
  await Promise.all(procs.splice(0).map((p) => p.stop()));
  await run?.close();
  run = undefined;
});

describe('fault: a zombie owner', () => {
  it('a process paused past its session timeout is fenced after resuming: its writes are rejected and it stops', { timeout: 240_000 }, async () => {
    run = await faultRun('fault_zombie', 20_000);
    const a = await startRuntimeProc('runtime-a', run.env);
    const b = await startRuntimeProc('runtime-b', run.env);
    procs.push(a, b);
    await waitFor('both to own partitions', async () => (await a.healthz()).partitions.length > 0 && (await b.healthz()).partitions.length > 0, 60_000);
    for (let i = 0; i < 8; i++) await run.produceChunk(i, 20);
    await waitFor('a to checkpoint', async () => metricSum(await a.metrics(), 'adme_runtime_checkpoints_total') > 0, 60_000);
    const aOwned = (await a.healthz()).partitions;

    a.signal('SIGSTOP');
    // b takes a's partitions once a's session (6 s) expires, bumping their epochs.
    await waitFor('b to own every partition', async () => (await b.healthz()).partitions.length === 6, 60_000);
    for (let i = 8; i < 14; i++) await run.produceChunk(i, 20);
    await waitFor('b to restore a\'s partitions', () => aOwned.every((p) => b.log.some((l) => l.includes(`partition ${p}: restored epoch`))), 30_000);

    a.signal('SIGCONT');
    // a notices it stalled past its session; it still believes it owns its partitions, and its next
    // checkpoint is refused by the epoch fence: a zombie's write, whether or not kafkajs has announced
    // the rebalance by then (the stall decides, not the order of the two).
    // A wait that fails shows a's last log lines.
    const withLogOfA = (e: unknown) => {
      throw new Error(`${(e as Error).message}\n--- runtime-a ---\n${a.log.slice(-25).join('\n')}`);
    };
    await waitFor('a\'s stale write to be fenced', () => a.log.some((l) => /FENCED/.test(l) && /rejected, current owner epoch is \d+/.test(l)), 60_000).catch(withLogOfA);
    // The stall watch logs on its first timer after the resume, which may come after the fenced write's answer.
    await waitFor('a to log its stall', () => a.log.some((l) => /stalled \d+ ms, past its 6000 ms session/.test(l)), 10_000).catch(withLogOfA);
    // Its stale actors stop and, the fence being a zombie's, the process exits (code 3) without rejoining.
    // The other outcome (carrying on as a new member after kafkajs rejoined, the revoked actors stopped)
    // was what a fence logged as a handover led to before the stall watch; it is safe too.
    const outcome = await Promise.race([a.exited, new Promise<string>((r) => setTimeout(() => r('running'), 5000))]);
    if (outcome === 'running') expect(a.log.some((l) => /stopped \(revoked\)/.test(l))).toBe(true);
    else {
      expect(outcome).toBe(3);
      expect(a.log.some((l) => /another process owns it/.test(l))).toBe(true);
    }

    for (let i = 14; i < 20; i++) await run.produceChunk(i, 20);
    const got = await run.converged().catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n--- runtime-b ---\n${b.log.slice(-25).join('\n')}`);
    });
    expect(got.total).toBe(run.truth.total);
    expect(new Map([...got.counts].sort())).toEqual(new Map([...run.truth.counts].sort()));
  });
});
