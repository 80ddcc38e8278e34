/**
 * The single `Deno.serve` handler: `/health`, `/ready`, `/status`, `/metrics`, the console's
 * routes, endpoints such as `/ingest`, and the WebSocket upgrade.
 * @module
 */
export {
  createHttpHandler,
  type HttpHandler,
  type HttpHandlerOptions,
  type RequestInfo,
  toPeerAddress,
} from "./handler.ts";
export {
  type Endpoint,
  type HttpState,
  type MetricsRenderer,
  PROMETHEUS_CONTENT_TYPE,
  type Route,
} from "./routes.ts";
