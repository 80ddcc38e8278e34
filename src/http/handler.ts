import type { Logger } from "../log/mod.ts";
import { toJsonResponse } from "../protocol/mod.ts";
import { noopTracing, type Tracing } from "../telemetry/mod.ts";
import { bearerToken, type Clock, createTokenCheck, systemClock } from "../util/mod.ts";

/** What the HTTP routes need to know about the server. */
export interface HttpState {
  /** True when the stream is healthy and the server is not draining. */
  isReady(): boolean;
  /** JSON detail for `/status` (some parts, such as the cluster's lease, are read when asked). */
  status(): Promise<Record<string, unknown>> | Record<string, unknown>;
}

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
  /** Renders `GET /metrics` (Prometheus text); the route is absent without it. */
  readonly metrics?: () => Promise<string>;
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

/** Routes that reveal internals: served on the admin port when there is one. */
const ADMIN_ROUTES = ["/metrics", "/status"];
/** Where the console's feed is served (its pages are wherever `console.pages` says). */
const CONSOLE_FEED = "/console/feed";

/** A handler that owns a whole path. */
export type Endpoint = (request: Request, peer: string) => Promise<Response>;

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

/** A GET (and HEAD) route. */
export type Route = (request: Request) => Response | Promise<Response>;

/** `Content-Type` of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const STANDARD_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

/** Creates the request handler. */
export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  const { state, log } = options;
  const clock = options.clock ?? systemClock;
  const tracing = options.tracing ?? noopTracing;
  const clientAddress = options.clientAddress ??
    ((_request: Request, remote: RequestInfo["remoteAddr"]) =>
      toPeerAddress({ remoteAddr: remote }));
  const routes = new Map<string, Route>([
    ["/health", () => toJsonResponse(200, { status: "ok" })],
    [
      "/ready",
      () =>
        state.isReady()
          ? toJsonResponse(200, { ready: true })
          : toJsonResponse(503, { ready: false }),
    ],
    ["/status", async () => toJsonResponse(200, await state.status())],
  ]);
  const metrics = options.metrics;
  if (metrics !== undefined) {
    routes.set("/metrics", async () =>
      new Response(await metrics(), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
      }));
  }
  // The admin routes, and those of them that need the admin token when one is set. The
  // console's pages go with the admin routes, so the page is reached where its feed is, but
  // need no token: a browser cannot send a header when it opens a page (the page asks).
  const adminRoutes = new Set(ADMIN_ROUTES);
  const tokenRoutes = new Set(ADMIN_ROUTES);
  if (options.console !== undefined) {
    for (const [path, route] of Object.entries(options.console.pages)) {
      routes.set(path, route);
      adminRoutes.add(path);
    }
    routes.set(CONSOLE_FEED, options.console.feed);
    adminRoutes.add(CONSOLE_FEED);
    tokenRoutes.add(CONSOLE_FEED);
  }
  const exposure = options.exposure ?? "all";
  if (exposure === "public") { for (const path of adminRoutes) routes.delete(path); }
  const endpoints = new Map(
    exposure === "admin" ? [] : Object.entries(options.endpoints ?? {}),
  );
  /** Whether an upgrade request that matches no route goes to `options.upgrade`. */
  const upgrades = exposure !== "admin";
  const adminToken = options.adminToken;
  const adminTokenMatches = adminToken === undefined || adminToken === ""
    ? undefined
    : createTokenCheck(adminToken);

  /** An answer refusing the admin route, or undefined when the request may have it. */
  async function refuseAdmin(request: Request, path: string): Promise<Response | undefined> {
    if (adminTokenMatches === undefined || !tokenRoutes.has(path)) return undefined;
    const token = bearerToken(request.headers.get("authorization") ?? "");
    if (token !== undefined && token !== "" && await adminTokenMatches(token)) return undefined;
    return toJsonResponse(401, {
      error: "admin-token-required",
      message: `${path} requires the admin token as Authorization: Bearer`,
    }, { "www-authenticate": 'Bearer realm="pharos-admin"' });
  }

  async function handle(request: Request, url: URL, peer: string): Promise<Response> {
    const endpoint = endpoints.get(url.pathname);
    if (endpoint !== undefined) {
      try {
        return await endpoint(request, peer);
      } catch (error) {
        log.error("{method} {path} failed: {error}", {
          method: request.method,
          path: url.pathname,
          error,
        });
        return toJsonResponse(500, {
          error: "internal-error",
          message: "The request failed on the server",
        });
      }
    }
    const route = routes.get(url.pathname);
    if (route === undefined && isUpgrade(request) && upgrades) {
      try {
        return await options.upgrade(request, peer);
      } catch (error) {
        log.error("WebSocket upgrade failed: {error}", { error });
        return toJsonResponse(400, { error: "bad-upgrade", message: "WebSocket upgrade failed" });
      }
    }
    if (route === undefined) {
      return toJsonResponse(404, {
        error: "not-found",
        message: `No route for ${request.method} ${url.pathname}`,
      });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return toJsonResponse(405, {
        error: "method-not-allowed",
        message: `${url.pathname} accepts GET and HEAD`,
      }, {
        allow: "GET, HEAD",
      });
    }
    const refusal = await refuseAdmin(request, url.pathname);
    if (refusal !== undefined) return refusal;
    const response = await route(request);
    return request.method === "HEAD" ? new Response(null, response) : response;
  }

  /** A bounded span name: the route, never the raw path (which a client chooses). */
  function routeOf(request: Request, url: URL): string {
    if (endpoints.has(url.pathname) || routes.has(url.pathname)) return url.pathname;
    return isUpgrade(request) ? "/{websocket}" : "/{unmatched}";
  }

  return (request, info) => {
    const url = new URL(request.url);
    const method = STANDARD_METHODS.has(request.method) ? request.method : "_OTHER";
    const route = routeOf(request, url);
    // An upgrade's span would last only as long as the handshake, but the socket's
    // callbacks made inside it keep its context alive for the whole connection (about
    // 1.4 KB each, measured at 10 000 idle connections): when spans are not exported,
    // upgrades get none.
    if (route === "/{websocket}" && upgrades && !tracing.exporting) {
      return handle(request, url, clientAddress(request, info.remoteAddr));
    }
    const traceparent = request.headers.get("traceparent") ?? undefined;
    // Each request is its own trace (or continues the caller's), never a child of a
    // long-lived span.
    return tracing.inSpan(`${method} ${route}`, {
      "http.request.method": method,
      "http.route": route,
    }, async (span) => {
      // Read per request: a request logs nothing, and times nothing, with debug off.
      // The WebSocket server logs upgrades (refused at debug, accepted at info).
      const debug = log.isEnabledFor("debug") && !(route === "/{websocket}" && upgrades);
      const startedAt = debug ? clock.monotonic() : 0;
      const client = clientAddress(request, info.remoteAddr);
      span.setAttribute("client.address", client);
      const response = await handle(request, url, client);
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

function isUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}
