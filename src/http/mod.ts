/**
 * The single `Deno.serve` handler: `/health`, `/ready`, `/status`, `/metrics`, the console's
 * routes, endpoints such as `/ingest`, and the WebSocket upgrade.
 * @module
 */
export {
  createHttpHandler,
  type Endpoint,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpState,
  PROMETHEUS_CONTENT_TYPE,
  type RequestInfo,
  type Route,
  toPeerAddress,
} from "./handler.ts";
