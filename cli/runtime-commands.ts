import { loadRuntimeConfig } from '../actors/runtime-config.js';
import { startRuntime } from '../actors/runtime-main.js';
import type { Command } from './args.js';
import { untilSignal } from './context.js';
import { stackUp } from './stack-commands.js';

export const RUNTIME_COMMANDS: readonly Command[] = [
  {
    path: ['runtime'],
    summary: 'Run an aggregation process: joins the consumer group, one shard actor per owned partition. Run as many as you like.',
    options: { port: { type: 'string' }, threads: { type: 'string' }, sinks: { type: 'string' }, 'no-stack': { type: 'boolean' } },
    optionHelp: [
      ['--port <n>', 'HTTP port of /metrics and /healthz (ADME_RUNTIME_PORT, default 9464; 0 = any free port)'],
      ['--threads <n>', 'worker threads (ADME_THREADS, default: one per core)'],
      ['--sinks on|off', 'checkpoints and rollups (ADME_SINKS, default on; off only to measure their cost)'],
      ['--no-stack', 'do not start the local stack first (servers already up or external)'],
    ],
    run: async (ctx) => {
      const env = { ...process.env };
      if (typeof ctx.values.port === 'string') env.ADME_RUNTIME_PORT = ctx.values.port;
      if (typeof ctx.values.threads === 'string') env.ADME_THREADS = ctx.values.threads;
      if (typeof ctx.values.sinks === 'string') env.ADME_SINKS = ctx.values.sinks;
      const { loadStackConfig } = await import('../stack/index.js');
      const stack = ctx.values['no-stack'] === true ? loadStackConfig(ctx.projectDir) : await stackUp(ctx);
      const config = loadRuntimeConfig({ brokers: stack.kafka.brokers, contactPoints: stack.cassandra.contactPoints, localDc: stack.cassandra.localDc, mongoUrl: stack.mongo.url }, env);
      const rt = await startRuntime(config, (m) => ctx.progress(`runtime: ${m}`));
      const outcome = await Promise.race([untilSignal().then(() => 0), rt.fatal]);
      ctx.progress(outcome === 0 ? 'runtime: stopping (signal)' : 'runtime: stopping (fatal)');
      const hard = setTimeout(() => process.exit(outcome || 1), 15_000);
      hard.unref();
      await rt.stop().catch(() => undefined);
      return outcome;
    },
  },
];

export const RUNTIME_BENCH_COMMAND: Command = {
  path: ['bench', 'runtime'],
  summary: 'Benchmark the aggregation end to end: throughput with and without sinks and with no Kafka at all, accepted → delta latency with event-loop delays, failover after kill -9.',
  options: { events: { type: 'string' }, partitions: { type: 'string' }, rates: { type: 'string' }, seconds: { type: 'string' }, 'latency-warmup': { type: 'string' }, failovers: { type: 'string' }, warmup: { type: 'string' }, peer: { type: 'string' }, json: { type: 'string' } },
  optionHelp: [
    ['--events <n>', 'events pre-produced for the throughput runs (ADME_BENCH_EVENTS, default 2000000)'],
    ['--partitions <n>', 'partitions of the bench topic (ADME_BENCH_PARTITIONS, default 12)'],
    ['--rates <n,n>', 'events/s offered in the latency runs, one run each (ADME_BENCH_RATES, default 20000,50000)'],
    ['--seconds <n>', 'length of each latency run (ADME_BENCH_SECONDS, default 20)'],
    ['--latency-warmup <n>', 'seconds of the same load before each latency run is measured, for a runtime past its cold start (ADME_BENCH_LATENCY_WARMUP_SECONDS, default 5; 0 skips it)'],
    ['--failovers <n>', 'kill -9 failover runs, at the lowest rate (ADME_BENCH_FAILOVERS, default 5; 0 skips them)'],
    ['--warmup <n>', 'events of the unmeasured sinks-on warm-up before the throughput runs (ADME_BENCH_WARMUP_EVENTS, default a tenth of --events, at most 200000; 0 skips it)'],
    ['--peer <run.sh>', 'a peer\'s run script (the Kafka Streams peer), run on the same broker right after the sinks-on run; reports AdME ÷ the peer (ADME_BENCH_PEER, default none)'],
    ['--json <file>', 'also write the raw results as JSON'],
  ],
  run: async (ctx) => {
    const { existingFile, positiveInt, nonNegativeInt } = await import('./args.js');
    const { runRuntimeBench, runtimeBenchMarkdown } = await import('../bench/runtime-bench.js');
    const { writeFileSync } = await import('node:fs');
    const env = process.env;
    const events = positiveInt('events', ctx.values.events ?? env.ADME_BENCH_EVENTS, 2_000_000);
    const stack = await stackUp(ctx);
    const r = await runRuntimeBench({
      stack, projectDir: ctx.projectDir, progress: ctx.progress,
      events,
      partitions: positiveInt('partitions', ctx.values.partitions ?? env.ADME_BENCH_PARTITIONS, 12),
      rates: String(ctx.values.rates ?? env.ADME_BENCH_RATES ?? '20000,50000').split(',').map((x) => positiveInt('rates', x.trim(), 0)),
      latencySeconds: positiveInt('seconds', ctx.values.seconds ?? env.ADME_BENCH_SECONDS, 20),
      latencyWarmupSeconds: nonNegativeInt('latency-warmup', ctx.values['latency-warmup'] ?? env.ADME_BENCH_LATENCY_WARMUP_SECONDS, 5),
      failovers: nonNegativeInt('failovers', ctx.values.failovers ?? env.ADME_BENCH_FAILOVERS, 5),
      peer: existingFile('peer', ctx.values.peer ?? env.ADME_BENCH_PEER),
      warmupEvents: nonNegativeInt('warmup', ctx.values.warmup ?? env.ADME_BENCH_WARMUP_EVENTS, Math.min(200_000, Math.ceil(events / 10))),
    });
    if (typeof ctx.values.json === 'string') writeFileSync(ctx.values.json, JSON.stringify(r, null, 2));
    console.log(runtimeBenchMarkdown(r));
    return 0;
  },
};

export const CHECKPOINT_BENCH_COMMAND: Command = {
  path: ['bench', 'checkpoint'],
  summary: 'Measure what checkpoints of one partition write per round and hold (no servers; the runtime bench\'s catch-up and live loads).',
  options: {},
  optionHelp: [],
  run: async () => {
    const { runCheckpointBench, checkpointBenchMarkdown } = await import('../bench/checkpoint-bench.js');
    console.log(checkpointBenchMarkdown(runCheckpointBench()));
    return 0;
  },
};

export const REACH_BENCH_COMMAND: Command = {
  path: ['bench', 'reach'],
  summary: 'Measure reach (unique users): its error over seeded trials, what per-segment sketches cost the shard state, checkpoints, blocks and durable throughput, and merging a busy hour in memory and over MongoDB.',
  options: { trials: { type: 'string' }, events: { type: 'string' }, cells: { type: 'string' }, durable: { type: 'string' }, 'hour-only': { type: 'boolean' }, partitions: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'string' } },
  optionHelp: [
    ['--trials <n>', 'accuracy trials per size (ADME_BENCH_TRIALS, default 100; fewer at 100k and 1M users)'],
    ['--events <n>', 'events of the runtime bench\'s stream for the state part; partition 0 keeps 1/12 (ADME_BENCH_EVENTS, default 2400000)'],
    ['--cells <n>', 'cells per 10 s window in the busy hour merged in memory (ADME_BENCH_CELLS, default 2000)'],
    ['--durable <n>', 'events over one hour pre-produced for the durable runs and the queries over MongoDB, which start the local stack (ADME_BENCH_DURABLE_EVENTS, default 1200000; 0: no servers)'],
    ['--hour-only', 'with --durable: one default run, no warm-up and no comparison, then the hour\'s queries (ADME_BENCH_HOUR_ONLY=1; ADME_BENCH_KEEP=1 leaves the runs\' keyspaces and databases)'],
    ['--partitions <n>', 'partitions of the durable runs\' topic (ADME_BENCH_PARTITIONS, default 12)'],
    ['--seconds <n>', 'length of each autocannon run over the hour\'s queries (ADME_BENCH_SECONDS, default 10)'],
    ['--json <file>', 'also write the raw results as JSON'],
  ],
  run: async (ctx) => {
    const { nonNegativeInt, positiveInt } = await import('./args.js');
    const { runReachBench, reachBenchMarkdown } = await import('../bench/reach-bench.js');
    const { writeFileSync } = await import('node:fs');
    const env = process.env;
    const durableEvents = nonNegativeInt('durable', ctx.values.durable ?? env.ADME_BENCH_DURABLE_EVENTS, 1_200_000);
    const partitions = positiveInt('partitions', ctx.values.partitions ?? env.ADME_BENCH_PARTITIONS, 12);
    const querySeconds = positiveInt('seconds', ctx.values.seconds ?? env.ADME_BENCH_SECONDS, 10);
    const r = runReachBench({
      trials: positiveInt('trials', ctx.values.trials ?? env.ADME_BENCH_TRIALS, 100),
      events: positiveInt('events', ctx.values.events ?? env.ADME_BENCH_EVENTS, 2_400_000),
      cells: positiveInt('cells', ctx.values.cells ?? env.ADME_BENCH_CELLS, 2000),
    });
    let durable;
    if (durableEvents > 0) {
      const { runReachDurable } = await import('../bench/reach-durable.js');
      const stack = await stackUp(ctx);
      durable = await runReachDurable({ stack, projectDir: ctx.projectDir, progress: ctx.progress, events: durableEvents, partitions, querySeconds, hourOnly: ctx.values['hour-only'] === true || env.ADME_BENCH_HOUR_ONLY === '1', keepStores: env.ADME_BENCH_KEEP === '1' });
    }
    if (typeof ctx.values.json === 'string') writeFileSync(ctx.values.json, JSON.stringify({ ...r, durable }, null, 2));
    console.log(reachBenchMarkdown(r));
    if (durable) {
      const { reachDurableMarkdown } = await import('../bench/reach-durable.js');
      console.log(`\n${reachDurableMarkdown(durable)}`);
    }
    return 0;
  },
};

export const ARCHIVE_BENCH_COMMAND: Command = {
  path: ['bench', 'archive'],
  summary: 'Benchmark the raw-event archive: the tax on durable throughput (archive on ÷ off, same run), bytes and rows per event, /v1/events on a busy cell, replay speed.',
  options: { events: { type: 'string' }, partitions: { type: 'string' }, 'cell-events': { type: 'string' }, seconds: { type: 'string' }, json: { type: 'string' } },
  optionHelp: [
    ['--events <n>', 'events pre-produced for the catch-up runs (ADME_BENCH_EVENTS, default 1000000; 0 runs the query part only)'],
    ['--partitions <n>', 'partitions of the bench topic (ADME_BENCH_PARTITIONS, default 12)'],
    ['--cell-events <n>', 'events archived in the one cell the query runs read (ADME_BENCH_CELL_EVENTS, default 100000)'],
    ['--seconds <n>', 'length of the autocannon run over /v1/events (ADME_BENCH_SECONDS, default 10)'],
    ['--json <file>', 'also write the raw results as JSON'],
  ],
  run: async (ctx) => {
    const { nonNegativeInt, positiveInt } = await import('./args.js');
    const { runArchiveBench, archiveBenchMarkdown } = await import('../bench/archive-bench.js');
    const { writeFileSync } = await import('node:fs');
    const env = process.env;
    const stack = await stackUp(ctx);
    const r = await runArchiveBench({
      stack, projectDir: ctx.projectDir, progress: ctx.progress,
      events: nonNegativeInt('events', ctx.values.events ?? env.ADME_BENCH_EVENTS, 1_000_000),
      partitions: positiveInt('partitions', ctx.values.partitions ?? env.ADME_BENCH_PARTITIONS, 12),
      cellEvents: positiveInt('cell-events', ctx.values['cell-events'] ?? env.ADME_BENCH_CELL_EVENTS, 100_000),
      querySeconds: positiveInt('seconds', ctx.values.seconds ?? env.ADME_BENCH_SECONDS, 10),
    });
    if (typeof ctx.values.json === 'string') writeFileSync(ctx.values.json, JSON.stringify(r, null, 2));
    console.log(archiveBenchMarkdown(r));
    return 0;
  },
};
