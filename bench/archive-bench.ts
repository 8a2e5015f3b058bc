/**
 * `adme bench archive`: what the raw-event archive costs and how fast it answers (docs/BENCHMARKS.md).
 *
 * 1. Tax: the runtime bench's catch-up of the same pre-produced events, sinks on, with the archive on and
 *    off (an unmeasured warm-up, then on, off, on again: the tax is the mean of the two "on" runs ÷ "off",
 *    so a drifting box shows).
 * 2. Bytes and rows: what the "on" runs wrote per event (blocks, compressed bytes), and the table's bytes
 *    on disk after Cassandra flushed them (a restart replays its commit log into SSTables).
 * 3. Query: one geohash-6 cell holding `cellEvents` events, archived as shards would (rounds of ~1 s per
 *    partition); `/v1/events` pages of 1000 walked once for their cursors, then autocannon over them.
 * 4. Replay: `replayArchive` over the first "on" run's range, events/s, against the runtime's catch-up.
 */
import { benchTopics } from './topics.js';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ArchiveCollector } from '../actors/archive.js';
import { foldRecords } from '../actors/fold.js';
import { emptyState } from '../actors/logic.js';
import { replayArchive } from '../actors/replay.js';
import { geohashEncode, geohashCenter, encode, type AdEvent } from '../actors/model/index.js';
import { CassandraArchiveStore, MongoDocStore, packRecords } from '../runtime/index.js';
import type { StackConfig } from '../stack/index.js';
import { autocannon, withQueryGateway } from './query-gateway.js';
import { dropBenchRun, dropRunStores, eventStream, produceEvents, runStore, throughput, type ThroughputRun } from './runtime-bench.js';

export interface ArchiveBenchOptions {
  readonly stack: StackConfig;
  readonly projectDir: string;
  readonly events: number;
  readonly partitions: number;
  readonly cellEvents: number;
  readonly querySeconds: number;
  readonly progress: (line: string) => void;
}

export interface ArchiveBenchResult {
  readonly machine: string;
  readonly events: number;
  readonly partitions: number;
  /** The catch-up runs (null when `events` is 0: the query part only). */
  readonly on: ThroughputRun | null;
  readonly off: ThroughputRun | null;
  readonly onAgain: ThroughputRun | null;
  readonly tax: number;
  readonly blocksPerEvent: number;
  readonly bytesPerEvent: number;
  /** The events_archive table's SSTables after a flush, bytes per event (null when they could not be read). */
  readonly diskBytesPerEvent: number | null;
  readonly query: { readonly cellEvents: number; readonly pages: number; readonly walkMs: number; readonly walkP50Ms: number; readonly walkP99Ms: number; readonly requestsPerSecond: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly non2xx: number };
  readonly replay: { readonly events: number; readonly seconds: number; readonly eventsPerSecond: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bytes of a table's files under Cassandra's data dir (`<keyspace>/<table>-<id>/`), or null. */
function tableBytes(dataDir: string, keyspace: string, table: string): number | null {
  const ks = join(dataDir, keyspace);
  if (!existsSync(ks)) return null;
  let total = 0;
  for (const d of readdirSync(ks).filter((x) => x.startsWith(`${table}-`))) {
    for (const f of readdirSync(join(ks, d))) {
      const p = join(ks, d, f);
      if (statSync(p).isFile()) total += statSync(p).size;
    }
  }
  return total;
}

/** `cellEvents` events in one geohash-6 cell over an hour, archived per partition in rounds of `perRound`. */
async function fillCell(store: CassandraArchiveStore, cell: string, cellEvents: number, partitions: number, start: number): Promise<void> {
  const c = geohashCenter(cell);
  const perRound = 400;
  const cfg = { precision: 6, windowMs: 10_000, allowedLatenessMs: 3_600_000 };
  const types = ['impression', 'impression', 'impression', 'click', 'install', 'purchase'] as const;
  for (let p = 0; p < partitions; p++) {
    const s = emptyState();
    const col = new ArchiveCollector(0);
    // Events k = i × partitions + p, for k below cellEvents: exactly cellEvents over all partitions.
    const n = Math.floor(cellEvents / partitions) + (p < cellEvents % partitions ? 1 : 0);
    for (let r = 0; r * perRound < n; r++) {
      const evs: AdEvent[] = [];
      for (let i = r * perRound; i < Math.min(n, (r + 1) * perRound); i++) {
        const k = i * partitions + p;
        evs.push({ userId: `u${k % 5000}`, type: types[k % types.length]!, ts: start + Math.floor((k / cellEvents) * 3_500_000), lat: c.lat, lon: c.lon, appId: `app-${k % 3}`, campaignId: `cmp-${k % 7}` });
      }
      const recs = Array.from({ length: Math.ceil(evs.length / 100) }, (_, j) => ({ offset: r * 4 + j, value: Buffer.from(encode({ v: 1, at: start, events: evs.slice(j * 100, j * 100 + 100) })) }));
      foldRecords(s, packRecords(recs), cfg, col);
      await store.write(col.seal(p, r * 4 + recs.length));
    }
  }
}

export async function runArchiveBench(o: ArchiveBenchOptions): Promise<ArchiveBenchResult> {
  const topic = `adme.bench.ar.${Date.now().toString(36)}`;
  const cassandra = { contactPoints: o.stack.cassandra.contactPoints, localDataCenter: o.stack.cassandra.localDc };
  let on: ThroughputRun | null = null;
  let off: ThroughputRun | null = null;
  let onAgain: ThroughputRun | null = null;
  let tax = 0;
  let diskBytesPerEvent: number | null = null;
  let replay = { events: 0, seconds: 0, eventsPerSecond: 0 };
  if (o.events > 0) {
    const kafka = new Kafka({ clientId: 'adme-bench-archive', brokers: [...o.stack.kafka.brokers], logLevel: logLevel.ERROR });
    await benchTopics(o.stack.kafka.brokers, [topic], o.partitions);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
    await producer.connect();
    const eventStart = Date.UTC(2026, 10, 1);
    await produceEvents(o, producer, topic, eventStream(42, eventStart, 20_000, true), o.events);
    await producer.disconnect();
    const rt = { stack: o.stack, projectDir: o.projectDir, progress: o.progress, events: o.events, partitions: o.partitions, rates: [], latencySeconds: 0, failovers: 0, peer: undefined, warmupEvents: 0 };

    // 1. The tax: on, off, on again, each a fresh process, keyspace and database over the same events.
    const run = async (name: string, archive: boolean) => {
      o.progress(`catch-up, sinks on, archive ${archive ? 'on' : 'off'} (${name})…`);
      const r = await throughput(rt, kafka, topic, name, true, { ADME_ARCHIVE: archive ? 'on' : 'off' });
      o.progress(`  ${r.eventsPerSecond} events/s in ${r.seconds.toFixed(1)} s`);
      return r;
    };
    // Unmeasured: a Cassandra just started (or never sent archive rows) spends seconds compiling them.
    await run('warmup', true);
    on = await run('on', true);
    off = await run('off', false);
    onAgain = await run('on2', true);
    tax = off.eventsPerSecond ? (on.eventsPerSecond + onAgain.eventsPerSecond) / 2 / off.eventsPerSecond : 0;

    // 2. On disk: a restart makes Cassandra replay its commit log into SSTables.
    if (!o.stack.cassandra.external) {
      o.progress('restarting Cassandra so that the archive is flushed to SSTables…');
      const adme = join(o.projectDir, 'bin', 'adme.js');
      execFileSync(process.execPath, [adme, 'stack', 'down', 'cassandra'], { stdio: 'ignore' });
      execFileSync(process.execPath, [adme, 'stack', 'up', 'cassandra'], { stdio: 'ignore' });
      const bytes = tableBytes(join(o.stack.stateDir, 'cassandra', 'data', 'data'), runStore(topic, 'on'), 'events_archive');
      diskBytesPerEvent = bytes === null ? null : bytes / o.events;
    }

    // 4. Replay of the first "on" run's archive, all of it.
    o.progress('replay of the archived range into a fresh database…');
    const source = await CassandraArchiveStore.open({ ...cassandra, keyspace: runStore(topic, 'on'), ttlSeconds: 0, create: false });
    const docs = await MongoDocStore.open(o.stack.mongo.url, `${runStore(topic, 'on')}_replay`);
    const rp = await replayArchive({ archive: source, docs, from: eventStart, to: eventStart + Math.ceil(o.events / 20_000) * 1000 + 10_000, aggregation: { precision: 6, windowMs: 10_000, allowedLatenessMs: 30_000 } });
    await Promise.all([source.close(), docs.database.dropDatabase().catch(() => undefined)]);
    await docs.close();
    replay = { events: rp.events, seconds: rp.ms / 1000, eventsPerSecond: Math.round(rp.events / (rp.ms / 1000)) };
    o.progress(`  ${replay.eventsPerSecond} events/s (${rp.events} events, ${rp.blocks} blocks, ${rp.finals} final blocks)`);
  }

  // 3. The query: one busy cell.
  const keyspace = `${runStore(topic, 'q')}`;
  const cell = geohashEncode(48.8566, 2.3522, 6);
  const qStart = Date.UTC(2026, 10, 2, 10);
  o.progress(`archiving ${o.cellEvents} events in cell ${cell} (${o.partitions} partitions, rounds of 400)…`);
  const store = await CassandraArchiveStore.open({ ...cassandra, keyspace, ttlSeconds: 0 });
  await fillCell(store, cell, o.cellEvents, o.partitions, qStart);
  await store.close();
  // The gateway is closed whatever happens: an open one would keep the process alive after a failure.
  const query = await withQueryGateway(o.stack, topic, { ADME_KEYSPACE: keyspace }, async (base, secret): Promise<ArchiveBenchResult['query']> => {
    const paths: string[] = [];
    const walk: number[] = [];
    const t0 = Date.now();
    let cursor: string | null = null;
    let seen = 0;
    for (;;) {
      const path: string = `/v1/events?cell=${cell}&from=${qStart}&to=${qStart + 3_600_000}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`;
      paths.push(path);
      const p0 = performance.now();
      const res = await fetch(base + path, { headers: { authorization: `Bearer ${secret}` } });
      const body = (await res.json()) as { events: unknown[]; next: string | null };
      walk.push(performance.now() - p0);
      seen += body.events.length;
      if (!body.next || paths.length > 10_000) break;
      cursor = body.next;
    }
    const walkMs = Date.now() - t0;
    if (seen !== o.cellEvents) throw new Error(`the walk over the cell's pages returned ${seen} events, not ${o.cellEvents}`);
    walk.sort((x, y) => x - y);
    const walkP = (q: number) => Math.round(walk[Math.min(walk.length - 1, Math.floor(q * walk.length))]!);
    o.progress(`  ${paths.length} pages walked in ${walkMs} ms; autocannon over them for ${o.querySeconds} s…`);
    await sleep(500);
    const a = await autocannon({ url: base, connections: 4, duration: o.querySeconds, headers: { authorization: `Bearer ${secret}` }, requests: paths.map((path) => ({ method: 'GET', path })) });
    return { cellEvents: o.cellEvents, pages: paths.length, walkMs, walkP50Ms: walkP(0.5), walkP99Ms: walkP(0.99), requestsPerSecond: Math.round(a.requests.average), p50Ms: a.latency.p50, p99Ms: a.latency.p99, maxMs: a.latency.max, non2xx: a.non2xx };
  });
  // The query part's keyspace, then (if the tax part ran) its topic and every run's keyspace and database.
  await dropRunStores(o.stack, [keyspace]);
  if (o.events > 0) await dropBenchRun(o.stack, new Kafka({ clientId: 'adme-bench-archive', brokers: [...o.stack.kafka.brokers], logLevel: logLevel.ERROR }), topic, o.progress);
  o.progress(`  ${query.requestsPerSecond} pages/s, p50 ${query.p50Ms} ms, p99 ${query.p99Ms} ms`);

  return {
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    events: o.events, partitions: o.partitions, on, off, onAgain, tax,
    blocksPerEvent: on ? on.archive.blocks / o.events : 0, bytesPerEvent: on ? on.archive.bytes / o.events : 0, diskBytesPerEvent, query, replay,
  };
}

export function archiveBenchMarkdown(r: ArchiveBenchResult): string {
  const row = (name: string, t: ThroughputRun) => `| ${name} | ${t.eventsPerSecond} | ${t.seconds.toFixed(1)} | ${t.runtimeCpuCores.toFixed(2)} | ${t.cpuUsPerEvent.toFixed(1)} | ${Object.entries(t.serverUsPerEvent).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')} |`;
  const q = r.query;
  const lines = [`Machine: ${r.machine}.`, ''];
  if (r.on && r.off && r.onAgain) {
    lines.push(
      `${r.events} events, ${r.partitions} partitions, sinks on, fresh process, keyspace and database per run, after an unmeasured warm-up.`, '',
      '| run | durable events/s | s | runtime cores | runtime µs/event | servers µs/event |',
      '| --- | --- | --- | --- | --- | --- |',
      row('archive on', r.on), row('archive off', r.off), row('archive on, again', r.onAgain), '',
      `Archive tax (mean of the two "on" runs ÷ "off"): **${r.tax.toFixed(2)}**.`,
      `Written per event: ${r.blocksPerEvent.toFixed(4)} blocks (rows; ${(1 / r.blocksPerEvent).toFixed(0)} events per row), ${r.bytesPerEvent.toFixed(1)} B of block data; on disk after a flush: ${r.diskBytesPerEvent === null ? 'not measured' : `${r.diskBytesPerEvent.toFixed(1)} B`}.`,
      `Replay: ${r.replay.eventsPerSecond} events/s re-aggregated from Cassandra (${r.replay.events} events in ${r.replay.seconds.toFixed(1)} s), against ${r.on.eventsPerSecond} events/s for the runtime's durable catch-up from Kafka (${(r.replay.eventsPerSecond / r.on.eventsPerSecond).toFixed(2)}×).`,
    );
  }
  lines.push(`/v1/events, one geohash-6 cell holding ${q.cellEvents} events, pages of 1000: the first walk through its ${q.pages} pages (one client, cold block cache) ${q.walkMs} ms, per page p50 ${q.walkP50Ms} ms, **p99 ${q.walkP99Ms} ms**; then autocannon over the same pages (4 connections, warm): ${q.requestsPerSecond} pages/s, p50 ${q.p50Ms} ms, **p99 ${q.p99Ms} ms**, max ${q.maxMs} ms, non-2xx ${q.non2xx}.`);
  return lines.join('\n');
}
