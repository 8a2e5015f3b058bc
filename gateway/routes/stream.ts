/** `WS /v1/stream` (docs/api.md): a viewer socket, wired to the process's live view. */
import { WS_CLOSE } from '../../actors/model/index.js';
import type { LiveAccess, LiveViewer } from '../live/access.js';
import type { GatewayMetrics } from '../metrics.js';
import type { WebSocket } from '../uws.js';
import type { Admission } from './http.js';
import type { Route } from './table.js';

interface StreamUser {
  viewer: LiveViewer | undefined;
  open: boolean;
}

export interface StreamDeps {
  readonly live: LiveAccess;
  readonly admission: Admission;
  readonly metrics: Pick<GatewayMetrics, 'request'>;
  /** Bytes unsent in a socket above which the hub skips the viewer (uWS's own limit is 4 × this). */
  readonly maxBuffered: number;
}

export class StreamRoutes {
  private readonly sockets = new Set<WebSocket<StreamUser>>();

  constructor(private readonly d: StreamDeps) {}

  routes(): Route[] {
    const { live, admission, metrics } = this.d;
    return [{
      method: 'ws',
      path: '/v1/stream',
      behavior: {
        maxPayloadLength: 64 * 1024,
        idleTimeout: 120,
        sendPingsAutomatically: true,
        maxBackpressure: this.d.maxBuffered * 4,
        upgrade: (res, req, context) => {
          const admitted = admission.request(res, req, 'view', (status) => metrics.request(status));
          if (!admitted) return;
          res.upgrade({ viewer: undefined, open: true } satisfies StreamUser, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
        },
        open: (ws: WebSocket<StreamUser>) => {
          this.sockets.add(ws);
          const user = ws.getUserData();
          user.viewer = live.open({
            send: (frame) => user.open && (ws.send(frame, true), true),
            buffered: () => (user.open ? ws.getBufferedAmount() : 0),
          });
        },
        message: (ws: WebSocket<StreamUser>, message, isBinary) => {
          const v = ws.getUserData().viewer;
          if (!v) return;
          if (!isBinary) {
            ws.end(WS_CLOSE.BAD_FRAME, 'stream messages must be binary msgpack (docs/api.md)');
            return;
          }
          v.message(new Uint8Array(message.slice(0)));
        },
        close: (ws: WebSocket<StreamUser>) => {
          const user = ws.getUserData();
          user.open = false;
          user.viewer?.close();
          user.viewer = undefined;
          this.sockets.delete(ws);
        },
      },
    }];
  }

  /** Ends every viewer socket (shutdown). */
  closeAll(): void {
    for (const ws of [...this.sockets]) ws.end(WS_CLOSE.GOING_AWAY, 'gateway shutting down');
  }
}
