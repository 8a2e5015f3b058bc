/** Entry of a gateway worker thread (see threads.ts): one uWS app and one Kafka producer; the live view is on the main thread. */
import { parentPort, workerData } from 'node:worker_threads';
import type { GatewayConfig } from './config.js';
import type { MetricsSnapshot } from './metrics.js';
import { RemoteLive } from './live/remote.js';
import { startGateway, type RunningGateway } from './server.js';
import type { MainMessage, WorkerMessage } from './protocol.js';

const { cfg } = workerData as { cfg: GatewayConfig; index: number };
const port = parentPort!;
const post = (m: WorkerMessage) => port.postMessage(m);

const waiting = new Map<number, (all: MetricsSnapshot[]) => void>();
let nextLocal = 0;
let gw: RunningGateway | undefined;
// The process's live view is on the main thread.
const live = new RemoteLive((m, transfer) => port.postMessage(m satisfies WorkerMessage, transfer ?? []));

port.on('message', (m: MainMessage) => {
  if (m.type.startsWith('live-')) {
    live.receive(m as Extract<MainMessage, { type: `live-${string}` }>);
  } else if (m.type === 'metrics-snapshot-request') {
    if (gw) post({ type: 'metrics-snapshot', id: m.id, snapshot: gw.snapshot() });
  } else if (m.type === 'metrics-response') {
    const resolve = waiting.get(m.id);
    waiting.delete(m.id);
    resolve?.(m.snapshots);
  } else if (m.type === 'reload-keys') {
    gw?.keys.reload();
  } else if (gw) {
    live.close();
    void gw.close().then(() => {
      post({ type: 'closed' });
      // The thread ends by itself once uWS has closed its last connection (idle keep-alives time out);
      // process.exit() here would tear the uv loop down under uWS's poll handle and abort the process.
      port.close();
    });
  }
});

startGateway(cfg, (message) => post({ type: 'log', message }), {
  live,
  collectMetrics: () => new Promise<MetricsSnapshot[]>((resolve, reject) => {
    const id = nextLocal++;
    waiting.set(id, resolve);
    post({ type: 'metrics-request', id });
    setTimeout(() => {
      if (waiting.delete(id)) reject(new Error('metrics gathering timed out'));
    }, 3000).unref();
  }),
}).then(
  (started) => {
    gw = started;
    post({ type: 'listening', port: started.port });
  },
  (err: unknown) => {
    post({ type: 'failed', message: (err as Error).message });
    port.close();
  },
);
