/**
 * Ceiling for the gateway benchmark: a uWebSockets.js app whose POST handler reads the body and answers
 * `{"accepted":0}`, nothing else. Run as its own process: `node dist/bench/gateway-empty-server.js <port>`.
 */
import { App, listenPort } from '../gateway/uws.js';

const port = Number(process.argv[2] ?? '0');
App()
  .post('/*', (res) => {
    res.onAborted(() => undefined);
    res.onData((_chunk, isLast) => {
      if (isLast) res.cork(() => res.writeHeader('content-type', 'application/json').end('{"accepted":0}'));
    });
  })
  .listen('127.0.0.1', port, (s) => {
    if (!s) process.exit(1);
    console.log(`listening ${listenPort(s)}`);
  });
