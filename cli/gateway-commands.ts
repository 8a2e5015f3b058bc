import { defaultGatewayThreads, loadGatewayConfig, type GatewayConfig } from '../gateway/index.js';
import { runGateway } from '../gateway/threads.js';
import { benchGateway, markdown } from '../bench/gateway-bench.js';
import { runStreamBench, streamBenchMarkdown } from '../bench/stream-bench.js';
import { loadStackConfig } from '../stack/index.js';
import { positiveInt, type CliContext, type Command } from './args.js';
import { untilSignal } from './context.js';
import { KEYS_COMMANDS } from './keys-commands.js';
import { SIMULATE_COMMAND } from './simulate-command.js';

/** The gateway's configuration for a CLI invocation: stack addresses, env vars, then flags. */
export function gatewayConfig(ctx: CliContext): GatewayConfig {
  const stack = loadStackConfig(ctx.projectDir);
  return loadGatewayConfig({ brokers: stack.kafka.brokers, stateDir: stack.stateDir, mongoUrl: stack.mongo.url,
    cassandra: { contactPoints: stack.cassandra.contactPoints, localDc: stack.cassandra.localDc } }, process.env, ctx.values);
}

const GATEWAY_COMMAND: Command = {
  path: ['gateway'],
  summary: 'Run the ingestion gateway (uWebSockets.js): POST /v1/events, WS /v1/ingest, /healthz, /readyz, /metrics.',
  options: {
    host: { type: 'string' }, port: { type: 'string' }, topic: { type: 'string' }, partitions: { type: 'string' },
    'keys-file': { type: 'string' }, threads: { type: 'string' },
  },
  optionHelp: [
    ['--host <addr>', 'listen address (ADME_HOST, default 127.0.0.1)'],
    ['--port <n>', 'listen port, 0 for any free one (ADME_PORT, default 8080)'],
    ['--topic <name>', 'events topic (ADME_EVENTS_TOPIC, default adme.events.v1)'],
    ['--partitions <n>', 'partitions when the topic is created (ADME_PARTITIONS, default 12)'],
    ['--keys-file <path>', 'API key file (ADME_KEYS_FILE, default keys.json in the state dir)'],
    ['--threads <n>', 'uWS apps on worker threads sharing the port (ADME_GATEWAY_THREADS, default one per core but one, at least 1)'],
  ],
  run: async (ctx) => {
    const cfg = gatewayConfig(ctx);
    ctx.progress(`gateway: connecting to Kafka at ${cfg.brokers.join(',')}`);
    const gw = await runGateway(cfg, (m) => ctx.progress(`gateway: ${m}`));
    ctx.progress(`gateway: ready on http://${cfg.host}:${gw.port} with ${gw.threads} thread(s); Ctrl-C stops it`);
    const onHup = () => {
      ctx.progress('gateway: SIGHUP, reloading keys');
      gw.reloadKeys();
    };
    process.on('SIGHUP', onHup);
    const sig = await untilSignal();
    process.off('SIGHUP', onHup);
    ctx.progress(`gateway: ${sig}, draining`);
    await gw.close();
    ctx.progress('gateway: stopped');
    return 0;
  },
};

const BENCH_GATEWAY_COMMAND: Command = {
  path: ['bench', 'gateway'],
  summary: 'Benchmark the gateway (HTTP x1/x100/x1000 msgpack and JSON, WebSocket 1 and 64 producers) with its ceilings; prints a markdown table.',
  options: { duration: { type: 'string' }, connections: { type: 'string' }, threads: { type: 'string' }, only: { type: 'string' } },
  optionHelp: [
    ['--duration <s>', 'seconds per scenario (ADME_BENCH_DURATION, default 10)'],
    ['--connections <n>', 'autocannon connections (ADME_BENCH_CONNECTIONS, default 50)'],
    ['--threads <n>', 'gateway threads (default ADME_GATEWAY_THREADS, or one per core but one)'],
    ['--only <regex>', 'run only the scenarios whose name matches'],
  ],
  run: async (ctx) => {
    const stack = loadStackConfig(ctx.projectDir);
    const v = ctx.values;
    const r = await benchGateway({
      stack, projectDir: ctx.projectDir, progress: ctx.progress,
      durationS: positiveInt('duration', v.duration ?? process.env.ADME_BENCH_DURATION, 10),
      connections: positiveInt('connections', v.connections ?? process.env.ADME_BENCH_CONNECTIONS, 50),
      threads: positiveInt('threads', v.threads ?? process.env.ADME_GATEWAY_THREADS, defaultGatewayThreads()),
      only: typeof v.only === 'string' ? new RegExp(v.only) : undefined,
    });
    console.log(markdown(r));
    return 0;
  },
};

const BENCH_STREAM_COMMAND: Command = {
  path: ['bench', 'stream'],
  summary: 'Benchmark the live view: viewers on WS /v1/stream while the pipeline ingests, against a uWS publish ceiling; prints a markdown table.',
  options: { viewers: { type: 'string' }, rate: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' }, credit: { type: 'string' } },
  optionHelp: [
    ['--viewers <n>', 'viewer sockets (ADME_BENCH_VIEWERS, default 1000)'],
    ['--rate <n>', 'simulated events/s through the gateway (ADME_BENCH_RATE, default 50000)'],
    ['--duration <s>', 'seconds measured per run (ADME_BENCH_DURATION, default 20)'],
    ['--warmup <s>', 'seconds before measuring (ADME_BENCH_WARMUP, default 10)'],
    ['--credit <n>', 'credits each viewer keeps outstanding, 1-8 (ADME_BENCH_CREDIT, default 1, as the page)'],
  ],
  run: async (ctx) => {
    const v = ctx.values;
    const r = await runStreamBench({
      stack: loadStackConfig(ctx.projectDir), projectDir: ctx.projectDir, progress: ctx.progress,
      viewers: positiveInt('viewers', v.viewers ?? process.env.ADME_BENCH_VIEWERS, 1000),
      rate: positiveInt('rate', v.rate ?? process.env.ADME_BENCH_RATE, 50_000),
      durationS: positiveInt('duration', v.duration ?? process.env.ADME_BENCH_DURATION, 20),
      warmupS: positiveInt('warmup', v.warmup ?? process.env.ADME_BENCH_WARMUP, 10),
      credit: Math.min(8, positiveInt('credit', v.credit ?? process.env.ADME_BENCH_CREDIT, 1)),
    });
    console.log(streamBenchMarkdown(r));
    return 0;
  },
};

const BENCH_LIVE_STORE_COMMAND: Command = {
  path: ['bench', 'live-store'],
  summary: 'Replay a deltas topic left in Kafka (by default the newest `adme bench stream` one) into a fresh live store: µs per row applied, rows held and frozen, and the memory the store holds; prints a markdown table.',
  options: { topic: { type: 'string' } },
  optionHelp: [['--topic <name>', 'the deltas topic (ADME_BENCH_DELTAS_TOPIC, default the newest bench_stream_*.deltas)']],
  run: async (ctx) => {
    const { runLiveStoreBench, liveStoreBenchMarkdown } = await import('../bench/live-store-bench.js');
    const topic = ctx.values.topic ?? process.env.ADME_BENCH_DELTAS_TOPIC;
    const r = await runLiveStoreBench({ brokers: loadStackConfig(ctx.projectDir).kafka.brokers, topic: typeof topic === 'string' && topic !== '' ? topic : undefined, progress: ctx.progress });
    console.log(liveStoreBenchMarkdown(r));
    return 0;
  },
};

/** Every command of the ingestion gateway's area. */
export const GATEWAY_COMMANDS: readonly Command[] = [GATEWAY_COMMAND, ...KEYS_COMMANDS, SIMULATE_COMMAND, BENCH_GATEWAY_COMMAND, BENCH_STREAM_COMMAND, BENCH_LIVE_STORE_COMMAND];
