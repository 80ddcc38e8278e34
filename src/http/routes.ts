import { toJsonResponse } from "../protocol/mod.ts";

/** What the HTTP routes need to know about the server. */
export interface HttpState {
  /** True when the stream is healthy and the server is not draining. */
  isReady(): boolean;
  /** JSON detail for `/status` (some parts, such as the cluster's lease, are read when asked). */
  status(): Promise<Record<string, unknown>> | Record<string, unknown>;
}

/** A GET (and HEAD) route. */
export type Route = (request: Request) => Response | Promise<Response>;

/** A handler that owns a whole path. */
export type Endpoint = (request: Request, peer: string) => Promise<Response>;

/** `Content-Type` of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** `GET /health`: the process answers. */
export function healthRoute(): Response {
  return toJsonResponse(200, { status: "ok" });
}

/** `GET /ready`: 200 while `state` is ready, 503 otherwise. */
export function readyRoute(state: HttpState): Route {
  return () =>
    state.isReady() ? toJsonResponse(200, { ready: true }) : toJsonResponse(503, { ready: false });
}

/** `GET /status`: the state's JSON detail. */
export function statusRoute(state: HttpState): Route {
  return async () => toJsonResponse(200, await state.status());
}

/** `GET /metrics`: what `render` gives, as Prometheus text. */
export function metricsRoute(render: () => Promise<string>): Route {
  return async () =>
    new Response(await render(), {
      headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
    });
}
