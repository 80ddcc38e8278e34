import type { Logger } from "../log/mod.ts";
import { noopTracing, type Tracing } from "../telemetry/mod.ts";
import { type Clock, systemClock, type TokenBucket } from "../util/mod.ts";
import { createAdminCheck } from "./_admin_token.ts";
import { Dispatcher } from "./_dispatch.ts";
import { RouteTable } from "./_route_table.ts";
import type { Endpoint, HttpState, MetricsRenderer, Route } from "./routes.ts";

/** Options for {@link createHttpHandler}. */
export interface HttpHandlerOptions {
  readonly state: HttpState;
  /**
   * Failures at error; at debug, every request answered (method, route, status and
   * duration) but the WebSocket upgrade, which the WebSocket server logs.
   */
  readonly log: Logger;
  /** Times requests for the debug line. Default `systemClock`. */
  readonly clock?: Clock;
  /** Handles WebSocket upgrades on every path that is not an HTTP route. */
  readonly upgrade: (request: Request, peer: string) => Promise<Response>;
  /**
   * Endpoints that own their path entirely (any method, their own upgrades), e.g.
   * `/ingest`. Failures are logged and answered with a JSON 500.
   */
  readonly endpoints?: Readonly<Record<string, Endpoint>>;
  /**
   * Endpoints for operators (`/debug/profile`, `/debug/log`…): served where the admin routes
   * are (not on a `public` listener), always behind `adminToken` when one is set. The app
   * mounts them only when an admin token or an admin port is configured.
   */
  readonly adminEndpoints?: Readonly<Record<string, Endpoint>>;
  /**
   * The request spans' budget (`PHAROS_TRACE_REQUESTS_PER_SECOND`), shared by the public and
   * admin listeners; default none (a span per request).
   */
  readonly requestSpans?: TokenBucket;
  /** Renders `GET /metrics` (Prometheus text); the route is absent without it. */
  readonly metrics?: MetricsRenderer;
  /** The console's page, files and feed (`GET /console…`); absent without it. */
  readonly console?: {
    readonly pages: Readonly<Record<string, Route>>;
    readonly feed: Route;
  };
  /** Server spans named `METHOD route`; default none. */
  readonly tracing?: Tracing;
  /**
   * Which routes this listener serves: `all` (default), `public` (everything but the admin
   * routes `/metrics` and `/status`, for when they have their own port) or `admin` (only
   * those two plus `/health` and `/ready`; no upgrades, no endpoints).
   */
  readonly exposure?: "all" | "public" | "admin";
  /** Bearer token the admin routes require; default none. */
  readonly adminToken?: string;
  /**
   * The client address of a request (what endpoints, upgrades and spans see): a trusted
   * proxy's forwarded address. Default: the TCP peer, `host:port`.
   */
  readonly clientAddress?: (request: Request, remote: RequestInfo["remoteAddr"]) => string;
}

/** Connection details `Deno.serve` passes with each request. */
export interface RequestInfo {
  readonly remoteAddr: { readonly hostname: string; readonly port: number };
}

/** The one `Deno.serve` handler: HTTP routes plus the WebSocket upgrade. */
export type HttpHandler = (request: Request, info: RequestInfo) => Promise<Response>;

/** Formats a peer address as `host:port` (`[v6]:port` for IPv6). */
export function toPeerAddress(info: RequestInfo): string {
  const { hostname, port } = info.remoteAddr;
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

const STANDARD_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

/**
 * Creates the request handler. Its parts, one file each: the built-in routes and their
 * answers (`routes.ts`), which paths this listener serves (`_route_table.ts`), the admin
 * token (`_admin_token.ts`) and where each request goes (`_dispatch.ts`); here, each
 * request's span and debug line.
 */
export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  const tracing = options.tracing ?? noopTracing;
  const clientAddress = options.clientAddress ??
    ((_request: Request, remote: RequestInfo["remoteAddr"]) =>
      toPeerAddress({ remoteAddr: remote }));
  const table = new RouteTable(options);
  const dispatcher = new Dispatcher({
    table,
    checkAdmin: createAdminCheck(options.adminToken),
    upgrade: options.upgrade,
    log,
  });

  return (request, info) => {
    const url = new URL(request.url);
    const method = STANDARD_METHODS.has(request.method) ? request.method : "_OTHER";
    const route = table.routeOf(request, url);
    // An upgrade the WebSocket server takes; it logs them (refused at debug, accepted at info).
    const upgrade = route === "/{websocket}" && table.upgrades;
    // An upgrade's span would last only as long as the handshake, but the socket's
    // callbacks made inside it keep its context alive for the whole connection (about
    // 1.4 KB each, measured at 10 000 idle connections): when spans are not exported,
    // upgrades get none.
    if (upgrade && !tracing.exporting) {
      return dispatcher.dispatch({ request, url, peer: clientAddress(request, info.remoteAddr) });
    }
    // Spans per second are bounded however fast requests come (a producer may POST single
    // events): over the budget a request is served, and traced by nobody.
    if (tracing.exporting && options.requestSpans?.take() === false) {
      return dispatcher.dispatch({ request, url, peer: clientAddress(request, info.remoteAddr) });
    }
    const traceparent = request.headers.get("traceparent") ?? undefined;
    // Each request is its own trace (or continues the caller's), never a child of a
    // long-lived span.
    return tracing.inSpan(`${method} ${route}`, {
      "http.request.method": method,
      "http.route": route,
    }, async (span) => {
      // Read per request: a request logs nothing, and times nothing, with debug off.
      const debug = log.isEnabledFor("debug") && !upgrade;
      const startedAt = debug ? clock.monotonic() : 0;
      const peer = clientAddress(request, info.remoteAddr);
      span.setAttribute("client.address", peer);
      const response = await dispatcher.dispatch({ request, url, peer });
      span.setAttribute("http.response.status_code", response.status);
      if (debug) {
        // The route, never the raw path (which a client chooses). At debug only: /health
        // and /ready may be probed every second.
        log.debug("{method} {route} answered {status} in {duration_ms} ms", {
          method,
          route,
          status: response.status,
          duration_ms: Math.round((clock.monotonic() - startedAt) * 1000) / 1000,
        });
      }
      return response;
    }, {
      root: true,
      kind: "server",
      ...(traceparent === undefined ? {} : { parent: traceparent }),
    });
  };
}
