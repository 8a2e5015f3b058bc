/** Entry of a gateway worker thread (see threads.ts): one uWS app and one Kafka producer. */
import { parentPort, workerData } from 'node:worker_threads';
import type { GatewayConfig } from './config.js';
import { startGateway } from './server.js';
import type { MainMessage, WorkerMessage } from './threads.js';

const { cfg } = workerData as { cfg: GatewayConfig; index: number };
const port = parentPort!;
const post = (m: WorkerMessage) => port.postMessage(m);

startGateway(cfg, (message) => post({ type: 'log', message })).then(
  (gw) => {
    post({ type: 'listening', port: gw.port });
    port.on('message', (m: MainMessage) => {
      if (m.type === 'reload-keys') gw.keys.reload();
      else void gw.close().then(() => {
        post({ type: 'closed' });
        port.close();
        process.exit(0); // ends this worker thread only, even if a native handle lingers
      });
    });
  },
  (err: unknown) => post({ type: 'failed', message: (err as Error).message }),
);
