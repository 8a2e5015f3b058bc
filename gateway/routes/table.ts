/**
 * The gateway's routes as data: each route module returns its entries, and {@link mount} registers them
 * on a uWS app. The table is what the server is; the modules (ingest, stream, query, health, static)
 * hold the handlers.
 */
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocketBehavior } from '../uws.js';

export type HttpHandler = (res: HttpResponse, req: HttpRequest) => void;

export type Route =
  | { readonly method: 'get' | 'post' | 'any'; readonly path: string; readonly handler: HttpHandler }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each socket route has its own user data type
  | { readonly method: 'ws'; readonly path: string; readonly behavior: WebSocketBehavior<any> };

/** Registers every route on the app, in table order. */
export function mount(app: TemplatedApp, routes: readonly Route[]): void {
  for (const r of routes) {
    if (r.method === 'ws') app.ws(r.path, r.behavior);
    else app[r.method](r.path, r.handler);
  }
}

/** The routes' method and path, for logs and tests. */
export const describeRoutes = (routes: readonly Route[]): string[] => routes.map((r) => `${r.method.toUpperCase()} ${r.path}`);
