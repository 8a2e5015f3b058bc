import { simulate } from '../bench/gateway-client.js';
import { UsageError, positiveInt, type Command } from './args.js';

export const SIMULATE_COMMAND: Command = {
  path: ['simulate'],
  summary: 'Send realistic traffic (users among city hot spots, daily rhythm, ad funnel) to a gateway; reports sent vs acknowledged.',
  options: {
    url: { type: 'string' }, key: { type: 'string' }, transport: { type: 'string' }, format: { type: 'string' },
    rate: { type: 'string' }, batch: { type: 'string' }, duration: { type: 'string' }, count: { type: 'string' },
    seed: { type: 'string' }, users: { type: 'string' }, connections: { type: 'string' }, json: { type: 'boolean' },
  },
  optionHelp: [
    ['--url <url>', 'gateway base URL (ADME_GATEWAY_URL, default http://127.0.0.1:8080)'],
    ['--key <key>', 'API key with ingest scope (ADME_KEY)'],
    ['--transport <t>', 'http or ws (default http)'],
    ['--format <f>', 'json or msgpack, for http (default msgpack)'],
    ['--rate <n>', 'target events/s (default 1000)'],
    ['--batch <n>', 'events per request or frame (default 50)'],
    ['--duration <s>', 'seconds to run (default 10, unless --count)'],
    ['--count <n>', 'events to send, then stop'],
    ['--seed <n>', 'PRNG seed: same seed, same users and events (default 1)'],
    ['--users <n>', 'simulated users (default 10000)'],
    ['--connections <n>', 'concurrent requests (http) or sockets (ws) (default 4)'],
    ['--json', 'print the report as JSON'],
  ],
  run: async (ctx) => {
    const v = ctx.values;
    const key = typeof v.key === 'string' ? v.key : process.env.ADME_KEY;
    if (!key) throw new UsageError('an API key is needed: --key or ADME_KEY (adme keys create --scope ingest)', '');
    const transport = typeof v.transport === 'string' ? v.transport : 'http';
    if (transport !== 'http' && transport !== 'ws') throw new UsageError(`--transport must be http or ws, got "${transport}"`, '');
    const format = typeof v.format === 'string' ? v.format : 'msgpack';
    if (format !== 'json' && format !== 'msgpack') throw new UsageError(`--format must be json or msgpack, got "${format}"`, '');
    const count = v.count === undefined ? undefined : positiveInt('count', v.count, 1);
    const url = (typeof v.url === 'string' ? v.url : process.env.ADME_GATEWAY_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
    const opts = {
      url, key, transport, format,
      rate: positiveInt('rate', v.rate, 1000),
      batch: positiveInt('batch', v.batch, 50),
      ...(count === undefined ? { durationS: positiveInt('duration', v.duration, 10) } : { count, ...(v.duration === undefined ? {} : { durationS: positiveInt('duration', v.duration, 10) }) }),
      seed: positiveInt('seed', v.seed, 1),
      users: positiveInt('users', v.users, 10_000),
      connections: positiveInt('connections', v.connections, 4),
      progress: ctx.progress,
    } as const;
    ctx.progress(`simulate: ${transport}${transport === 'http' ? `/${format}` : ''} to ${url}, ${opts.rate} events/s, batches of ${opts.batch}, seed ${opts.seed}`);
    const r = await simulate(opts);
    if (v.json === true) console.log(JSON.stringify(r, null, 2));
    else {
      console.log(`sent ${r.sent} events in ${r.requests} ${transport === 'http' ? 'requests' : 'frames'} over ${r.seconds.toFixed(1)} s; acknowledged ${r.accepted} (${r.eventsPerSecond} events/s), not accepted ${r.rejected}`);
      console.log(`answers: ${Object.entries(r.byStatus).map(([s, n]) => `${s} x${n}`).join(', ')}; latency p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms`);
      console.log(`by type: ${Object.entries(r.byType).map(([t, n]) => `${t} ${n}`).join(', ')}`);
    }
    return r.accepted === r.sent ? 0 : 1;
  },
};
