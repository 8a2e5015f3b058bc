import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNack } from '../../actors/model/index.js';
import { TrafficModel } from '../../bench/gateway-traffic.js';
import { WsProducer } from '../../bench/gateway-client.js';
import { createKey } from '../../gateway/index.js';
import { kafkaClasspath } from '../../stack/index.js';
import { findJava17 } from '../../stack/tools.js';
import { ADME_BIN, stackConfig, uniqueName, waitFor } from '../support/env.js';

const c = stackConfig();
const SOCKETS = 8;
const WINDOW = 16;
const EVENTS_PER_FRAME = 100;
const QUOTA = 512 * 1024; // bytes/s Kafka lets the gateway's client id produce

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

/** Sets (or deletes) a Kafka producer byte-rate quota for a client id, with Kafka's own ConfigCommand. */
function quota(clientId: string, bytesPerSecond: number | undefined): void {
  const change = bytesPerSecond === undefined ? ['--delete-config', 'producer_byte_rate'] : ['--add-config', `producer_byte_rate=${bytesPerSecond}`];
  const r = spawnSync(findJava17(c.javaHome), ['-cp', kafkaClasspath(c), 'kafka.admin.ConfigCommand', '--bootstrap-server', c.kafka.brokers[0]!, '--alter', ...change, '--entity-type', 'clients', '--entity-name', clientId], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`ConfigCommand failed: ${r.stderr}`);
}

/**
 * Processes that keep every core busy beside the test: the bound must hold on a starved machine too (a CI
 * run at load ~10 on 2 cores once saw +354 MiB, see docs/gateway.md "Backpressure, both ways").
 */
function cpuBurners(): ChildProcess[] {
  return Array.from({ length: availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

describe('WebSocket producers faster than Kafka, with every core busy', () => {
  const clientId = uniqueName('adme-gw-slow');
  let gateway: ChildProcess;
  let burners: ChildProcess[] = [];
  let url: string;
  let key: string;
  const log: string[] = [];

  beforeAll(async () => {
    quota(clientId, QUOTA);
    const keysFile = join(mkdtempSync(join(tmpdir(), 'adme-gw-')), 'keys.json');
    key = createKey(keysFile, ['ingest']).secret;
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // A deltas topic of its own: the live view has nothing to replay, so the RSS measured is the ingest
    // path's (with the stack's shared adme.deltas.v1, the gateway would be replaying whatever other runs
    // left there, 20 minutes of it, while the test measures).
    gateway = spawn(process.execPath, [ADME_BIN, 'gateway', '--port', String(port), '--topic', uniqueName('adme.test.slow'), '--partitions', '4', '--keys-file', keysFile], {
      env: { ...process.env, ADME_KAFKA_CLIENT_ID: clientId, ADME_WS_WINDOW: String(WINDOW), ADME_DELTAS_TOPIC: uniqueName('adme.test.slow-deltas') }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    gateway.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
    await waitFor(`the gateway to listen (log: ${log.join('')})`, async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, 60_000);
    burners = cpuBurners();
  }, 120_000);
  afterAll(async () => {
    for (const b of burners) b.kill('SIGKILL');
    gateway.kill('SIGTERM');
    await new Promise((r) => gateway.once('exit', r));
    quota(clientId, undefined);
  });

  it('holds frames beyond the window instead of buffering them, keeps RSS bounded, and acks every frame', async () => {
    const pid = gateway.pid!;
    const producers = await Promise.all(Array.from({ length: SOCKETS }, () => WsProducer.connect(`${url.replace('http', 'ws')}/v1/ingest`, key, WINDOW)));
    // The baseline is the gateway warmed up: every socket open and one window of frames acked through each
    // thread's producer, so what follows measures what backpressure holds, not the first allocations of
    // the code paths (JIT, kafkajs buffers, uWS socket buffers).
    await Promise.all(producers.map(async (p, i) => {
      const model = new TrafficModel({ seed: 50 + i, users: 200 });
      await Promise.all(Array.from({ length: WINDOW }, () => p.send(model.batch(EVENTS_PER_FRAME, Date.now()))));
    }));
    const baseline = rssKiB(pid);
    let maxRss = baseline;
    let maxWaiting = 0;
    const waitingNow = async () => Number(/^adme_gateway_events_waiting (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxRss = Math.max(maxRss, rssKiB(pid));
        maxWaiting = Math.max(maxWaiting, await waitingNow());
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    // Each producer sends as fast as its window allows for 6 s: far more than the quota lets through.
    const deadline = Date.now() + 6000;
    const counts = await Promise.all(producers.map(async (p, i) => {
      const model = new TrafficModel({ seed: 100 + i, users: 200 });
      const pending: Promise<unknown>[] = [];
      let frames = 0;
      let acked = 0;
      while (Date.now() < deadline) {
        const r = p.send(model.batch(EVENTS_PER_FRAME, Date.now())).then((reply) => {
          if (!isNack(reply) && reply.accepted === EVENTS_PER_FRAME) acked++;
        });
        pending.push(r);
        frames++;
        // Wait for window room, as a protocol-abiding client does.
        while (p.inFlight >= WINDOW) await Promise.race([r, new Promise((res) => setTimeout(res, 20))]);
      }
      await Promise.all(pending);
      return { frames, acked };
    }));
    sampling = false;
    await sampler;
    await Promise.all(producers.map((p) => p.close()));

    const frames = counts.reduce((n, x) => n + x.frames, 0);
    const acked = counts.reduce((n, x) => n + x.acked, 0);
    expect(acked).toBe(frames); // every frame acknowledged, none lost
    // Kafka was the bottleneck: the throughput is near the quota, not the client's pace.
    const bytesPerFrame = 100 * 110;
    expect(frames * bytesPerFrame).toBeLessThan(QUOTA * 6 * 4);
    // Never more events waiting for Kafka than the windows allow; memory stays bounded.
    expect(maxWaiting).toBeLessThanOrEqual(SOCKETS * WINDOW * EVENTS_PER_FRAME);
    expect(maxWaiting).toBeGreaterThan(0);
    expect(maxRss - baseline).toBeLessThan(150 * 1024);
    console.log(`ws backpressure: ${frames} frames acked, max events waiting ${maxWaiting}, RSS ${Math.round(baseline / 1024)} -> max ${Math.round(maxRss / 1024)} MiB`);
  });
});
