import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AdEvent } from '../../actors/model/index.js';
import { postEvents } from '../../bench/gateway-client.js';
import { createKey, loadGatewayConfig, startGateway, type RunningGateway } from '../../gateway/index.js';
import { types } from 'cassandra-driver';
import { cassandraClient, kafkaClient } from '../../runtime/index.js';
import { down, kill, up, type NodeRef } from '../../stack/index.js';
import { waitFor } from '../support/env.js';
import { metricSum, startRuntimeProc, type RuntimeProc } from '../support/runtime-proc.js';
import { CLUSTER_NODES, clusterConfig, seconds, topicLayout, topicMinIsr } from './cluster.js';
import { PARTITIONS, faultRun, rollupsOf, type FaultRun } from './harness.js';

// The cluster has its own state dir and ports (./cluster.ts), so it runs beside the suite's one-node
// stack. Skip reason: ADME_CLUSTER_TESTS=off skips the three-node cluster (it needs ~5 GiB and boots in 1-2 min).
const skip = process.env.ADME_CLUSTER_TESTS === 'off';
const c = clusterConfig();
const say = (m: string) => console.error(`[cluster test] ${m}`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const procs: RuntimeProc[] = [];
let run: FaultRun | undefined;
let gw: RunningGateway | undefined;

beforeAll(async () => {
  if (skip) return;
  const t0 = Date.now();
  await up(c, say);
  say(`cluster up in ${seconds(Date.now() - t0)}`);
}, 900_000);

afterAll(async () => {
  if (skip) return;
  await down(c, say);
}, 300_000);

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
  await gw?.close();
  gw = undefined;
  await run?.close();
  run = undefined;
  // Every node back for the next test (a no-op for nodes that run).
  await up(c, say);
}, 600_000);

const counted = async (p: RuntimeProc) => metricSum(await p.metrics(), 'adme_runtime_events_total');
const checkpoints = async (p: RuntimeProc) => metricSum(await p.metrics(), 'adme_runtime_checkpoints_total');

async function leaderOfPartition0(topic: string): Promise<NodeRef> {
  const leader = (await topicLayout(c, topic)).get(0)?.leader;
  if (leader === undefined || leader < 1) throw new Error(`partition 0 of ${topic} has no leader`);
  return { server: 'kafka', node: leader };
}

/** The end offset (high watermark) of every partition of `topic`. */
async function topicEnds(topic: string): Promise<Map<number, number>> {
  const admin = kafkaClient({ brokers: c.kafka.brokers, clientId: 'adme-cluster-test' }).admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** The committed checkpoint offset of every shard of `topic` (the runtime names them `<topic>/<partition>`), read at SERIAL. */
async function committedOffsets(client: ReturnType<typeof cassandraClient>, topic: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const keyspace = run!.name;
  await Promise.all(Array.from({ length: PARTITIONS }, async (_, p) => {
    const row = (await client.execute(`SELECT next_offset FROM ${keyspace}.checkpoints WHERE shard = ? LIMIT 1`, [`${topic}/${p}`], { prepare: true, consistency: types.consistencies.serial })).first();
    if (row) out.set(p, Number(row.get('next_offset')));
  }));
  return out;
}

async function fullIsr(topic: string): Promise<boolean> {
  const layout = await topicLayout(c, topic);
  return layout.size === PARTITIONS && [...layout.values()].every((p) => p.isr.length === CLUSTER_NODES);
}

// Skip reason: ADME_CLUSTER_TESTS=off turns off the three-node cluster tests (about 5 GiB and 3 min on top of the suite).
describe.skipIf(skip)('fault: a three-node cluster loses a node', () => { // skipped only with ADME_CLUSTER_TESTS=off
  // These two found acknowledged events missing from the Kafka log after a leader's kill, and then doubled:
  // kafkajs's retries across brokers (runtime/produce.ts, docs/deploy.md "Broker kills and the producer").
  it('kill -9 of one Kafka broker while producers send through the gateway: ingestion resumes within seconds, every accepted event counted once, the broker rejoins', { timeout: 600_000 }, async () => {
    // Every event carries a client id: a producer retries a batch answered 503 (as a real SDK does) and
    // the retry may duplicate records Kafka did keep; the shards count each id once.
    run = await faultRun('cluster_broker', 24_000, {}, { on: c, withIds: 1 });
    // Replication derived from the deployment: 3 brokers, so 3 replicas and min ISR 2.
    expect([...(await topicLayout(c, run.topic)).values()].map((p) => p.replicas.length)).toEqual(Array<number>(PARTITIONS).fill(3));
    expect(await topicMinIsr(c, run.topic)).toBe(2);

    const dir = mkdtempSync(join(tmpdir(), 'adme-cluster-gw-'));
    const cfg = loadGatewayConfig({ brokers: c.kafka.brokers, stateDir: dir, mongoUrl: c.mongo.url }, {
      ADME_PORT: '0', ADME_EVENTS_TOPIC: run.topic, ADME_DELTAS_TOPIC: run.env.ADME_DELTAS_TOPIC, ADME_PARTITIONS: String(PARTITIONS),
      ADME_KEYS_FILE: join(dir, 'keys.json'), ADME_TS_PAST_S: String(400 * 86_400), ADME_MONGO_DB: run.db,
    });
    gw = await startGateway(cfg);
    const key = createKey(cfg.keysFile, ['ingest'], { rate: 1_000_000 }).secret;
    gw.keys.reload();
    const url = `http://127.0.0.1:${gw.port}`;
    const a = await startRuntimeProc('runtime-a', run.env);
    procs.push(a);

    const batches: AdEvent[][] = [];
    for (let i = 0; i < run.events.length; i += 200) batches.push(run.events.slice(i, i + 200));
    let failed = 0;
    let outageStart: number | undefined;
    let longestOutage = 0;
    const acks: { sent: number; acked: number }[] = [];
    const send = async (b: AdEvent[]) => {
      const sent = Date.now();
      for (;;) {
        const r = await postEvents(url, key, b, 'msgpack');
        if (r.status === 200) {
          if (outageStart !== undefined) longestOutage = Math.max(longestOutage, Date.now() - outageStart);
          outageStart = undefined;
          acks.push({ sent, acked: Date.now() });
          return;
        }
        expect(r.status, JSON.stringify(r.body)).toBe(503);
        failed++;
        outageStart ??= Date.now();
        await sleep(100);
      }
    };
    const third = Math.floor(batches.length / 3);
    for (const b of batches.slice(0, third)) await send(b);
    await waitFor('runtime-a to count and checkpoint', async () => (await counted(a)) > 1000 && (await checkpoints(a)) > 0, 120_000);

    // Traffic keeps flowing at a steady pace while the leader of partition 0 is killed.
    const victim = await leaderOfPartition0(run.topic);
    let killAt = 0;
    const middle = (async () => {
      for (const b of batches.slice(third, 2 * third)) {
        await send(b);
        await sleep(25);
      }
    })();
    await sleep(1000);
    killAt = Date.now();
    const pid = await kill(c, victim);
    expect(pid).toBeGreaterThan(0);
    say(`killed kafka/${victim.node} (pid ${pid})`);
    await middle;
    const after = acks.filter((x) => x.sent >= killAt);
    expect(after.length).toBeGreaterThan(0);
    const ackedAgainMs = after[0]!.acked - killAt;
    const worstLatency = Math.max(...acks.filter((x) => x.acked >= killAt).map((x) => x.acked - x.sent));
    say(`broker kill: first batch sent after the kill acknowledged ${seconds(ackedAgainMs)} after it; longest run of 503s ${seconds(longestOutage)} (${failed} answers); slowest batch ${seconds(worstLatency)}`);
    // Loose bounds: the partitions it led move within the broker session timeout (4 s) plus an election.
    expect(longestOutage).toBeLessThan(30_000);
    expect(ackedAgainMs).toBeLessThan(30_000);

    const t0 = Date.now();
    await up(c, say, [`kafka/${victim.node}`]);
    await waitFor('the broker to rejoin every ISR', () => fullIsr(run!.topic), 120_000, 500);
    say(`kafka/${victim.node} restarted and back in every ISR in ${seconds(Date.now() - t0)}`);
    for (const b of batches.slice(2 * third)) await send(b);

    const got = await run.converged(180_000);
    expect(got.total).toBe(run.truth.total);
    expect(new Map([...(await rollupsOf(run)).counts].sort())).toEqual(new Map([...run.truth.counts].sort()));
    // How often the answer to a produce left a partition out (the kafkajs retry that skips a broker,
    // runtime/produce.ts): each of those was sent again rather than lost.
    const resends = metricSum(await (await fetch(`${url}/metrics`)).text(), 'adme_gateway_produce_resends_total');
    say(`exact: ${got.total} events; the runtime dropped ${metricSum(await a.metrics(), 'adme_runtime_duplicate_events_total')} duplicate ids; the gateway re-sent ${resends} partitions left out of an answer`);
    expect(a.proc.exitCode).toBeNull();
  });

  it('kill -9 of one Cassandra node mid-stream: checkpoints keep committing at QUORUM, exact counts, the node restarts', { timeout: 600_000 }, async () => {
    run = await faultRun('cluster_cass', 24_000, {}, { on: c });
    const a = await startRuntimeProc('runtime-a', run.env);
    procs.push(a);
    for (let i = 0; i < 8; i++) await run.produceChunk(i, 24);
    await waitFor('checkpoints', async () => (await checkpoints(a)) > 0, 120_000);

    // The keyspace was created with the deployment's replication: three replicas. The client stays open to
    // read the committed offsets while node 1 is down (nodes 2 and 3 are a quorum).
    const client = cassandraClient({ contactPoints: c.cassandra.contactPoints, localDataCenter: c.cassandra.localDc });
    try {
      const ks = (await client.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [run.name])).first();
      expect(ks?.get('replication')).toMatchObject({ class: 'org.apache.cassandra.locator.SimpleStrategy', replication_factor: '3' });

      // Node 1 is the first contact point: the driver's control connection is most likely on it.
      const victim: NodeRef = { server: 'cassandra', node: 1 };
      const atKill = await checkpoints(a);
      const killAt = Date.now();
      expect(await kill(c, victim)).toBeGreaterThan(0);
      say('killed cassandra/1');
      // Measured beside the producer: the first commit of any partition after the kill.
      const next = waitFor('a checkpoint after the kill', async () => ((await checkpoints(a)) > atKill ? Date.now() - killAt : undefined), 180_000, 50);
      next.catch(() => undefined); // awaited below; no unhandled rejection if the test fails first
      for (let i = 8; i < 16; i++) {
        await run.produceChunk(i, 24);
        await sleep(250);
      }
      // What "checkpoints keep committing" means: with the node still down, every partition's committed
      // checkpoint reaches the end of what was produced after the kill. A count of rounds would depend on
      // how the commits fall in time against the producer (a slow first commit folds several into one).
      const ends = await topicEnds(run.topic);
      const caughtUp = await waitFor('every partition checkpointed to its end with the node down', async () => {
        const committed = await committedOffsets(client, run!.topic);
        return [...ends].every(([p, end]) => (committed.get(p) ?? -1) >= end) ? Date.now() - killAt : undefined;
      }, 180_000, 200);
      const whileDown = (await checkpoints(a)) - atKill;
      say(`cassandra kill: next committed checkpoint ${seconds(await next)} after it; every partition checkpointed to its end ${seconds(caughtUp)} after it; ${whileDown} commits with the node down, ${metricSum(await a.metrics(), 'adme_runtime_checkpoint_failures_total')} failed`);
      expect(whileDown).toBeGreaterThanOrEqual(PARTITIONS);
    } finally {
      await client.shutdown();
    }

    const t0 = Date.now();
    await up(c, say, ['cassandra/1']);
    say(`cassandra/1 restarted and rejoined in ${seconds(Date.now() - t0)}`);
    for (let i = 16; i < 24; i++) await run.produceChunk(i, 24);
    const got = await run.converged(180_000);
    expect(got.total).toBe(run.truth.total);
    expect(new Map([...(await rollupsOf(run)).counts].sort())).toEqual(new Map([...run.truth.counts].sort()));
    expect(a.proc.exitCode).toBeNull();
  });

  it('a runtime process killed while one broker is down: its partitions move to a new process, still exact', { timeout: 600_000 }, async () => {
    run = await faultRun('cluster_rt', 24_000, {}, { on: c });
    const a = await startRuntimeProc('runtime-a', run.env);
    procs.push(a);
    for (let i = 0; i < 8; i++) await run.produceChunk(i, 24);
    await waitFor('runtime-a to count and checkpoint', async () => (await counted(a)) > 2000 && (await checkpoints(a)) > 0, 120_000);

    const victim = await leaderOfPartition0(run.topic);
    expect(await kill(c, victim)).toBeGreaterThan(0);
    say(`killed kafka/${victim.node}`);
    for (let i = 8; i < 12; i++) await run.produceChunk(i, 24);
    a.signal('SIGKILL');
    expect(await a.exited).toBe(-1);
    for (let i = 12; i < 16; i++) await run.produceChunk(i, 24);

    const b = await startRuntimeProc('runtime-b', run.env);
    procs.push(b);
    await waitFor('runtime-b to own every partition', async () => (await b.healthz()).partitions.length === PARTITIONS, 120_000);
    for (let i = 16; i < 20; i++) await run.produceChunk(i, 24);
    await waitFor('runtime-b to count with the broker still down', async () => (await counted(b)) > 0, 120_000);

    await up(c, say, [`kafka/${victim.node}`]);
    for (let i = 20; i < 24; i++) await run.produceChunk(i, 24);
    const got = await run.converged(180_000);
    expect(got.total).toBe(run.truth.total);
    expect(new Map([...got.counts].sort())).toEqual(new Map([...run.truth.counts].sort()));
    expect(b.log.some((l) => /restored epoch 2 at offset [1-9]/.test(l))).toBe(true);
  });
});
