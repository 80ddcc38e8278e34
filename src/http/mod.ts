/**
 * @module The single `Deno.serve` handler: `/health`, `/ready`, `/status` and the WebSocket upgrade.
 */
export {
  createHttpHandler,
  type Endpoint,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpState,
  PROMETHEUS_CONTENT_TYPE,
  type RequestInfo,
  toPeerAddress,
} from "./handler.ts";
