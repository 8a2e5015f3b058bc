/**
 * A gateway for the query benchmarks: over the stores a bench run wrote, with a `view` key, no query
 * cache (every request reads), and topics of its own; closed whatever happens.
 */
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createKey, loadGatewayConfig, startGateway } from '../gateway/index.js';
import type { StackConfig } from '../stack/index.js';

const require = createRequire(import.meta.url);
export type Autocannon = (opts: Record<string, unknown>) => Promise<{ requests: { average: number; total: number }; latency: { p50: number; p99: number; max: number }; non2xx: number; errors: number }>;
export const autocannon = require('autocannon') as Autocannon;

/** Runs `use` against a gateway started with `env` (ADME_KEYSPACE, ADME_MONGO_DB, …) over `stack`. */
export async function withQueryGateway<T>(stack: StackConfig, topic: string, env: Record<string, string>, use: (base: string, secret: string) => Promise<T>): Promise<T> {
  const keysFile = join(stack.stateDir, `bench-query-keys-${Date.now()}.json`);
  const cfg = loadGatewayConfig({ brokers: stack.kafka.brokers, stateDir: stack.stateDir, cassandra: { contactPoints: stack.cassandra.contactPoints, localDc: stack.cassandra.localDc }, mongoUrl: stack.mongo.url }, {
    ADME_PORT: '0', ADME_KEYS_FILE: keysFile, ADME_QUERY_CACHE_MS: '0', ADME_EVENTS_TOPIC: `${topic}.gw`, ADME_DELTAS_TOPIC: `${topic}.gwd`, ...env,
  });
  const gw = await startGateway(cfg);
  try {
    const { secret } = createKey(keysFile, ['view'], {});
    gw.keys.reload();
    return await use(`http://127.0.0.1:${gw.port}`, secret);
  } finally {
    await gw.close();
    rmSync(keysFile, { force: true });
  }
}
