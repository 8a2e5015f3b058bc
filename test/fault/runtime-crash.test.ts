import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { segmentCountsOfRollups, segmentTruthOf } from '../support/events.js';
import { metricSum, startRuntimeProc, type RuntimeProc } from '../support/runtime-proc.js';
import { archiveTally, eventTally, faultRun, rollupsOf, type FaultRun } from './harness.js';

const procs: RuntimeProc[] = [];
let run: FaultRun | undefined;
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
  await run?.close();
  run = undefined;
});

async function eventsCounted(p: RuntimeProc): Promise<number> {
  return metricSum(await p.metrics(), 'adme_runtime_events_total');
}

describe('fault: process crashes', () => {
  it('kill -9 of the runtime mid-stream, then a restart: every event counted exactly once', async () => {
    run = await faultRun('fault_kill', 30_000);
    const a = await startRuntimeProc('runtime-a', run.env);
    procs.push(a);
    for (let i = 0; i < 10; i++) await run.produceChunk(i, 30);
    await waitFor('runtime-a to count events and checkpoint', async () => (await eventsCounted(a)) > 5000 && metricSum(await a.metrics(), 'adme_runtime_checkpoints_total') > 0, 60_000);
    for (let i = 10; i < 15; i++) await run.produceChunk(i, 30);
    a.signal('SIGKILL');
    expect(await a.exited).toBe(-1);
    for (let i = 15; i < 30; i++) await run.produceChunk(i, 30);

    const b = await startRuntimeProc('runtime-b', run.env);
    procs.push(b);
    const got = await run.converged();
    expect(got.total).toBe(run.truth.total);
    expect(new Map([...(await rollupsOf(run)).counts].sort())).toEqual(new Map([...run.truth.counts].sort()));
    expect(b.log.some((l) => /restored epoch 2 at offset [1-9]/.test(l))).toBe(true);
    // Exactly once per (app, campaign) too: the segments went through the same checkpoints and replay.
    expect(new Map([...(await segmentCountsOfRollups(run.mongo.db(run.db)))].sort())).toEqual(new Map([...segmentTruthOf(run.events, 6, 10_000)].sort()));
    // The archive holds every event once, per type and cell equal to the truth; the killed owner's
    // uncommitted round may have stored some twice, under the same names.
    const archived = await archiveTally(run);
    expect(archived.events).toBe(run.events.length);
    expect(archived.tally).toEqual(eventTally(run.events));
    expect(archived.stored).toBeGreaterThanOrEqual(run.events.length);
  });

  it('three processes, one killed mid-stream, partitions move, a fourth joins later: exact counts', async () => {
    run = await faultRun('fault_three', 30_000);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => startRuntimeProc(`runtime-${n}`, run!.env)));
    procs.push(a!, b!, c!);
    await waitFor('partitions spread over three processes', async () => {
      const owned = await Promise.all([a!, b!, c!].map(async (p) => (await p.healthz()).partitions.length));
      return owned.every((n) => n > 0) && owned.reduce((x, y) => x + y, 0) === 6;
    }, 60_000);
    for (let i = 0; i < 12; i++) await run.produceChunk(i, 30);
    await waitFor('b to count events', async () => (await eventsCounted(b!)) > 1000, 60_000);
    b!.signal('SIGKILL');
    await b!.exited;
    for (let i = 12; i < 22; i++) await run.produceChunk(i, 30);
    await waitFor('a and c to own all six partitions', async () => {
      const owned = await Promise.all([a!, c!].map(async (p) => (await p.healthz()).partitions.length));
      return owned[0]! + owned[1]! === 6;
    }, 60_000);
    const d = await startRuntimeProc('runtime-d', run.env);
    procs.push(d);
    for (let i = 22; i < 30; i++) await run.produceChunk(i, 30);
    await waitFor('d to own partitions', async () => (await d.healthz()).partitions.length > 0, 60_000);
    const got = await run.converged();
    expect(got.total).toBe(run.truth.total);
    expect(new Map([...got.counts].sort())).toEqual(new Map([...run.truth.counts].sort()));
    // Healthy rebalances hand partitions over: FENCED is for real zombies only, and no survivor stopped.
    for (const p of [a!, c!, d]) expect(p.log.filter((l) => /FENCED/.test(l))).toEqual([]);
    expect([a!.proc.exitCode, c!.proc.exitCode, d.proc.exitCode]).toEqual([null, null, null]);
  });
});
