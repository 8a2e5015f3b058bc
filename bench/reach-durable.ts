/**
 * The part of `adme bench reach` that needs the servers (docs/BENCHMARKS.md, "Reach"):
 *
 * 1. Durable events/s with per-segment sketches ÷ without: the runtime bench's catch-up of the same
 *    pre-produced events, sinks on, default reach then `ADME_SEGMENT_REACH=off`, then the default again
 *    (after an unmeasured warm-up), each a fresh process, keyspace and database. The events' time spans
 *    one hour, so the rollups hold a busy hour.
 * 2. Merge cost over MongoDB: the hour's rows read from MongoDB and merged into its summary, each timed
 *    alone; then `/v1/summary` of the hour through a gateway (from the rollups, no query cache), one
 *    request at a time, and the same with a campaign filter (segments' sketches merged).
 */
import { Kafka, logLevel } from 'kafkajs';
import { ROLLUPS_COLLECTION } from '../actors/model/index.js';
import { summaryAnswer } from '../gateway/query/answers.js';
import { readRollups } from '../gateway/query/rollups.js';
import { MongoDocStore } from '../runtime/index.js';
import type { StackConfig } from '../stack/index.js';
import { withQueryGateway } from './query-gateway.js';
import { dropRunStores, eventStream, produceEvents, runStore, throughput, type ThroughputRun } from './runtime-bench.js';
import { benchTopics } from './topics.js';

export interface ReachDurableOptions {
  readonly stack: StackConfig;
  readonly projectDir: string;
  readonly events: number;
  readonly partitions: number;
  readonly querySeconds: number;
  /** One default run (no warm-up, no comparison), then the hour's queries: for query work. */
  readonly hourOnly?: boolean;
  /** Leave the runs' keyspaces and databases for later queries (ADME_BENCH_KEEP=1). */
  readonly keepStores?: boolean;
  readonly progress: (line: string) => void;
}

export interface QueryRun {
  readonly name: string;
  readonly path: string;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly non2xx: number;
}

export interface ReachDurableResult {
  readonly events: number;
  readonly on: ThroughputRun;
  /** Absent with `hourOnly`, as is the ratio. */
  readonly off?: ThroughputRun;
  readonly onAgain?: ThroughputRun;
  /** Mean of the two default runs ÷ the run without segment sketches. */
  readonly ratio?: number;
  /** The hour's answer, to say what was merged. */
  readonly hour: { readonly events: number; readonly users: number; readonly campaignUsers: number };
  /** The hour's final blocks and rows, the read of them from MongoDB and the summary's merge, each alone. */
  /**
   * The hour's final blocks and rows: fetching the blocks from MongoDB, decoding their rows into an array,
   * the summary's merge of that array, each alone, and the summary over the rows decoded as it goes (the
   * query API's way; worst of 3).
   */
  readonly read: { readonly blocks: number; readonly rows: number; readonly readMs: number; readonly decodeMs: number; readonly mergeMs: number; readonly answerMs: number };
  readonly queries: QueryRun[];
}

const HOUR = 3_600_000;

export async function runReachDurable(o: ReachDurableOptions): Promise<ReachDurableResult> {
  const topic = `adme.bench.reach.${Date.now().toString(36)}`;
  const kafka = new Kafka({ clientId: 'adme-bench-reach', brokers: [...o.stack.kafka.brokers], logLevel: logLevel.ERROR });
  await benchTopics(o.stack.kafka.brokers, [topic], o.partitions);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
  await producer.connect();
  const start = Date.UTC(2026, 10, 2, 9);
  // Event time advances so that `events` span one hour; then two more minutes of it, so that the
  // watermark closes every window of the hour and its rollups are final when the catch-up ends.
  const perSecond = Math.max(1, o.events / 3600);
  const produced = o.events + Math.ceil(perSecond * 120);
  await produceEvents(o, producer, topic, eventStream(42, start, perSecond, true), produced);
  await producer.disconnect();

  const rt = { stack: o.stack, projectDir: o.projectDir, progress: o.progress, events: produced, partitions: o.partitions, rates: [], latencySeconds: 0, failovers: 0, peer: undefined, warmupEvents: 0 };
  const run = async (name: string, segmentReach: boolean) => {
    o.progress(`catch-up, sinks on, segment reach ${segmentReach ? 'on' : 'off'} (${name})…`);
    const r = await throughput(rt, kafka, topic, name, true, { ADME_SEGMENT_REACH: segmentReach ? 'on' : 'off' });
    o.progress(`  ${r.eventsPerSecond} events/s in ${r.seconds.toFixed(1)} s, checkpoints ${Math.round(r.checkpointBytesMean / 1024)} KiB per round`);
    return r;
  };
  const names = o.hourOnly ? ['on'] : ['warmup', 'on', 'off', 'on2'];
  // Unmeasured: the servers' cold start would otherwise land on the first measured run.
  if (!o.hourOnly) await run('warmup', true);
  const on = await run('on', true);
  const off = o.hourOnly ? undefined : await run('off', false);
  const onAgain = o.hourOnly ? undefined : await run('on2', true);

  const { hour, read, queries } = await hourQueries(o, topic, runStore(topic, 'on'), start);
  const stores = names.map((n) => runStore(topic, n));
  if (o.keepStores) o.progress(`kept the runs' keyspaces and databases: ${stores.join(', ')}`);
  else {
    o.progress('dropping the runs\' keyspaces and databases…');
    await dropRunStores(o.stack, stores, stores);
  }
  const ratio = off && onAgain ? (on.eventsPerSecond + onAgain.eventsPerSecond) / 2 / off.eventsPerSecond : undefined;
  return { events: o.events, on, off, onAgain, ratio, hour, read, queries };
}

/**
 * The hour's queries over database `db` (its windows from `start`): the read of its stored rows and the
 * merge of their answer, each timed alone, then `/v1/summary` through a gateway, one request at a time.
 */
export async function hourQueries(o: ReachDurableOptions, topic: string, db: string, start: number): Promise<Pick<ReachDurableResult, 'hour' | 'read' | 'queries'>> {
  const from = start;
  const to = start + HOUR;
  o.progress(`the hour's rows from MongoDB (${db}), read and merged in this process…`);
  const store = await MongoDocStore.open(o.stack.mongo.url, db);
  let read: ReachDurableResult['read'];
  try {
    const blocks = await store.database.collection(ROLLUPS_COLLECTION).countDocuments({ window: { $gte: from, $lt: to } });
    const t0 = performance.now();
    const lazy = await readRollups(store.database, { from, to, windowMs: 10_000 });
    const readMs = performance.now() - t0;
    const worst = (f: () => void) => {
      let ms = 0;
      for (let i = 0; i < 3; i++) {
        const m0 = performance.now();
        f();
        ms = Math.max(ms, performance.now() - m0);
      }
      return Math.round(ms);
    };
    const answerMs = worst(() => summaryAnswer(lazy, { from, to, windowMs: 10_000, privacyK: 10 }));
    const d0 = performance.now();
    const rows = [...lazy];
    const decodeMs = Math.round(performance.now() - d0);
    const mergeMs = worst(() => summaryAnswer(rows, { from, to, windowMs: 10_000, privacyK: 10 }));
    read = { blocks, rows: rows.length, readMs: Math.round(readMs), decodeMs, mergeMs, answerMs };
    o.progress(`  ${blocks} final blocks, ${rows.length} rows: fetched ${read.readMs} ms, decoded ${decodeMs} ms, merged ${mergeMs} ms; the summary decoding as it goes ${answerMs} ms (worst of 3)`);
  } finally {
    await store.close();
  }
  const summary = `/v1/summary?from=${from}&to=${to}&source=rollups`;
  const paths: [string, string][] = [
    ['/v1/summary, the hour', summary],
    ['/v1/summary, the hour, one campaign', `${summary}&campaign=cmp-1`],
  ];
  return withQueryGateway(o.stack, topic, { ADME_MONGO_DB: db, ADME_KEYSPACE: db, ADME_PRIVACY_K: '10', ADME_ARCHIVE: 'off' }, async (base, secret) => {
    const get = async (path: string) => {
      const res = await fetch(base + path, { headers: { authorization: `Bearer ${secret}` } });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { events: number; users: number };
    };
    const all = await get(summary);
    const one = await get(`${summary}&campaign=cmp-1`);
    if (all.events !== o.events) throw new Error(`the hour's summary counts ${all.events} events, not the ${o.events} produced in it`);
    const queries: QueryRun[] = [];
    for (const [name, path] of paths) {
      // One request at a time for `querySeconds` (at least 3): the latency of one answer, not a queue's.
      o.progress(`${name}: one request at a time, ${o.querySeconds} s (at least 3 requests)…`);
      const ms: number[] = [];
      let non2xx = 0;
      const until = Date.now() + o.querySeconds * 1000;
      while (Date.now() < until || ms.length < 3) {
        const t0 = performance.now();
        const res = await fetch(base + path, { headers: { authorization: `Bearer ${secret}` } });
        await res.arrayBuffer();
        ms.push(performance.now() - t0);
        if (!res.ok) non2xx++;
      }
      ms.sort((a, b) => a - b);
      const at = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!);
      queries.push({ name, path, requests: ms.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: Math.round(ms.at(-1)!), non2xx });
      o.progress(`  p50 ${at(0.5)} ms, p99 ${at(0.99)} ms (${ms.length} requests)`);
    }
    return { hour: { events: all.events, users: all.users, campaignUsers: one.users }, read, queries };
  });
}

export function reachDurableMarkdown(r: ReachDurableResult): string {
  const kib = (n: number) => `${(n / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 })} KiB`;
  const row = (name: string, t: ThroughputRun) => `| ${name} | ${t.eventsPerSecond} | ${t.seconds.toFixed(1)} | ${t.runtimeCpuCores.toFixed(2)} | ${t.cpuUsPerEvent.toFixed(1)} | ${kib(t.checkpointBytesMean)} | ${t.checkpointMsMean.toFixed(0)} ms |`;
  return [
    `**Durable** (${r.events.toLocaleString('en-US')} events over one hour of event time and two minutes more, sinks on, a fresh process, keyspace and database per run, after an unmeasured warm-up)`,
    '',
    '| run | durable events/s | s | runtime cores | runtime µs/event | checkpoint bytes per round (mean) | checkpoint write (mean) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('per-segment sketches (default)', r.on),
    ...(r.off && r.onAgain ? [row('per-cell sketches only (ADME_SEGMENT_REACH=off)', r.off), row('per-segment sketches, again', r.onAgain)] : []),
    '',
    ...(r.ratio !== undefined ? [`Durable events/s, per-segment sketches ÷ without (mean of the two default runs): **${r.ratio.toFixed(2)}**.`, ''] : []),
    `**Merge over MongoDB** (the first default run's rollups: ${r.hour.events.toLocaleString('en-US')} events and ${r.hour.users.toLocaleString('en-US')} unique users in the hour, ${r.hour.campaignUsers.toLocaleString('en-US')} of them in cmp-1; no query cache, privacy floor 10, one request at a time)`,
    '',
    `The hour is ${r.read.blocks.toLocaleString('en-US')} final blocks holding ${r.read.rows.toLocaleString('en-US')} rows. Fetched from MongoDB alone: ${r.read.readMs.toLocaleString('en-US')} ms; their rows decoded into an array: ${r.read.decodeMs.toLocaleString('en-US')} ms; the summary's merge of that array: ${r.read.mergeMs.toLocaleString('en-US')} ms (worst of 3); the summary over the rows decoded block by block as it merges (the query API's way): ${r.read.answerMs.toLocaleString('en-US')} ms (worst of 3).`,
    '',
    '| query | requests | p50 | p99 | max | non-2xx |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...r.queries.map((q) => `| ${q.name} | ${q.requests} | ${q.p50Ms.toLocaleString('en-US')} ms | ${q.p99Ms.toLocaleString('en-US')} ms | ${q.maxMs.toLocaleString('en-US')} ms | ${q.non2xx} |`),
  ].join('\n');
}
