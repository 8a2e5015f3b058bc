import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { VERSIONS, type StackConfig } from './config.js';
import { ProvisionError, provisionOnce, runWithHeartbeat } from './provision.js';
import type { ServerDef } from './server.js';
import { requireTool } from './tools.js';

const srcDir = (c: StackConfig) => join(c.projectDir, 'stack', 'ferretdb');
const stateOf = (c: StackConfig) => join(c.stateDir, 'ferretdb');

/** Cache folder keyed by the wrapper's sources, so editing them rebuilds and every clone shares the build. */
function home(c: StackConfig): string {
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) {
    const p = join(srcDir(c), f);
    if (existsSync(p)) h.update(readFileSync(p));
  }
  return join(c.cacheDir, `ferretdb-${VERSIONS.ferretdb}-${h.digest('hex').slice(0, 12)}`);
}

export const ferretdb: ServerDef = {
  name: 'ferretdb',
  label: `FerretDB ${VERSIONS.ferretdb} (SQLite)`,
  // FerretDB has no replica set: one server, whatever ADME_NODES says.
  nodes: () => 1,
  listen: (c) => `127.0.0.1:${c.mongo.port}`,
  external: (c) => c.mongo.external,
  address: (c) => c.mongo.url,

  async provision(c, progress) {
    if (existsSync(join(home(c), '.complete'))) return;
    requireTool('go', 'install Go >= 1.24; it builds FerretDB from the Go module proxy');
    progress(`ferretdb: building FerretDB ${VERSIONS.ferretdb} with Go (first run only, 2-5 min)`);
    try {
      await provisionOnce(home(c), async (tmp) => {
        const out = join(tmp, 'adme-ferretdb');
        // -mod=mod lets a clone without a module cache download what go.sum pins.
        await runWithHeartbeat('go', ['build', '-mod=mod', '-trimpath', '-o', out, '.'], {
          cwd: srcDir(c), env: { CGO_ENABLED: '0' }, progress, what: 'ferretdb: go build',
        });
        copyFileSync(join(srcDir(c), 'go.sum'), join(tmp, 'go.sum'));
      });
    } catch (err) {
      throw new ProvisionError('ferretdb', 'building with Go', (err as Error).message);
    }
    progress(`ferretdb: binary cached in ${home(c)}`);
  },

  async prepare(c) {
    const dataDir = join(stateOf(c), 'data');
    mkdirSync(dataDir, { recursive: true });
    return {
      command: join(home(c), 'adme-ferretdb'),
      args: [`--listen-addr=127.0.0.1:${c.mongo.port}`, `--sqlite-url=file:${dataDir}/`, '--log-level=warn'],
    };
  },

  async probe(c) {
    const client = new MongoClient(c.mongo.url, { serverSelectionTimeoutMS: 1500, connectTimeoutMS: 1000 });
    try {
      await client.connect();
      const r = await client.db('admin').command({ ping: 1 });
      return r.ok === 1;
    } catch {
      return false;
    } finally {
      await client.close().catch(() => undefined);
    }
  },
};
