/**
 * Ceiling for the live-view benchmark: a uWebSockets.js app that publishes one pre-encoded frame of a
 * given size to every connected socket at a fixed rate (`app.publish`, uWS's cheapest fan-out), with no
 * state, no merging and no flow control. Run as its own process:
 * `node dist/bench/stream-ceiling-server.js <port> <frame file> <framesPerSecond>`; the frame file holds
 * a real frame the gateway sent, so viewers decode the same bytes in both runs.
 */
import { readFileSync } from 'node:fs';
import { App, listenPort } from '../gateway/uws.js';

const port = Number(process.argv[2] ?? '0');
const frame = readFileSync(process.argv[3]!);
const fps = Number(process.argv[4] ?? '10');

const app = App().ws('/*', {
  maxBackpressure: 64 * 1024 * 1024,
  open: (ws) => {
    ws.subscribe('all');
  },
});
app.listen('127.0.0.1', port, (s) => {
  if (!s) process.exit(1);
  console.log(`listening ${listenPort(s)}`);
});
setInterval(() => app.publish('all', frame, true), 1000 / fps);
