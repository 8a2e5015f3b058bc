import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRuntimeConfig, type RuntimeConfig } from '../../actors/runtime-config.js';
import { loadStackConfig, type StackConfig } from '../../stack/index.js';

/** The repository root. */
export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** The stack configuration the tests run against (same env vars as the CLI). */
export function stackConfig(): StackConfig {
  return loadStackConfig(ROOT, process.env);
}

/** A name unique to one test: topics, keyspaces and databases never collide between tests or runs. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const ADME_BIN = join(ROOT, 'bin', 'adme.js');

/**
 * A runtime configuration of its own for one test: topics, consumer group, keyspace and database named
 * after `name`, and fast checkpoints and rollups (300 ms) so tests settle quickly.
 */
export function testRuntimeConfig(name: string, partitions: number): RuntimeConfig {
  const stack = stackConfig();
  return loadRuntimeConfig({ brokers: stack.kafka.brokers, contactPoints: stack.cassandra.contactPoints, localDc: stack.cassandra.localDc, mongoUrl: stack.mongo.url }, {
    ADME_EVENTS_TOPIC: `${name}.events`, ADME_DELTAS_TOPIC: `${name}.deltas`, ADME_GROUP: `${name}-group`,
    ADME_KEYSPACE: name.replace(/[^a-z0-9_]/g, '_'), ADME_MONGO_DB: name.replace(/[^A-Za-z0-9_]/g, '_'),
    ADME_PARTITIONS: String(partitions), ADME_RUNTIME_PORT: '0', ADME_THREADS: '2', ADME_CHECKPOINT_MS: '300', ADME_ROLLUP_MS: '300', ADME_OPEN_ROLLUP_MS: '300',
  });
}
