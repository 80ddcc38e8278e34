import { toJsonResponse } from "../protocol/mod.ts";
import {
  type MetricsFormat,
  metricsFormatFor,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from "../telemetry/mod.ts";

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

export { PROMETHEUS_CONTENT_TYPE };

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

/**
 * `GET /metrics`: what `render` gives, in OpenMetrics format (with exemplars) when the
 * scraper's `Accept` asks for `application/openmetrics-text`, else as Prometheus text.
 */
export function metricsRoute(render: MetricsRenderer): Route {
  return async (request) => {
    const format = metricsFormatFor(request.headers.get("accept"));
    const type = format === "openmetrics" ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
    return new Response(await render(format), {
      headers: { "content-type": type, "cache-control": "no-store" },
    });
  };
}

/**
 * Renders the metrics in `format`; one that ignores it must not be given OpenMetrics
 * scrapers (`createMetricsEndpoint().render` and `OtelGuard.renderMetrics` take it).
 */
export type MetricsRenderer = (format: MetricsFormat) => Promise<string>;
