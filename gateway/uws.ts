/**
 * The one module that imports uWebSockets.js. The official package is not on the npm registry; this
 * build (`@trufflesuite/uws-js-unofficial`) loads on Node 20 with glibc 2.36. To use another build,
 * change the import below (and package.json): nothing else in AdME names the package.
 *
 * Note: this build's WebSocket has no pause()/resume(), so WebSocket flow control is done by the
 * ingest protocol's window (see ws-flow.ts); HTTP bodies can be paused (res.pause()).
 */
import { createRequire } from 'node:module';
import type * as Uws from '@trufflesuite/uws-js-unofficial';

const require = createRequire(import.meta.url);
const uws = require('@trufflesuite/uws-js-unofficial') as typeof Uws & {
  us_socket_local_port(listenSocket: Uws.us_listen_socket): number;
};

export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior, us_listen_socket, us_socket_context_t } from '@trufflesuite/uws-js-unofficial';

export const App = uws.App;
export const closeListenSocket = uws.us_listen_socket_close;
/** The port a listen socket is bound to (useful after listening on port 0). */
export const listenPort = (s: Uws.us_listen_socket): number => uws.us_socket_local_port(s);
