import type { Logger } from "../log/mod.ts";

/** What the HTTP routes need to know about the server. */
export interface HttpState {
  /** True when the stream is healthy and the server is not draining. */
  isReady(): boolean;
  /** JSON detail for `/status`. */
  status(): Record<string, unknown>;
}

/** Options for {@link createHttpHandler}. */
export interface HttpHandlerOptions {
  readonly state: HttpState;
  readonly log: Logger;
  /** Handles WebSocket upgrades on every path that is not an HTTP route. */
  readonly upgrade: (request: Request, peer: string) => Promise<Response>;
  /**
   * Endpoints that own their path entirely (any method, their own upgrades), e.g.
   * `/ingest`. Failures are logged and answered with a JSON 500.
   */
  readonly endpoints?: Readonly<Record<string, Endpoint>>;
}

/** A handler that owns a whole path. */
export type Endpoint = (request: Request, peer: string) => Promise<Response>;

/** Connection details `Deno.serve` passes with each request. */
export interface RequestInfo {
  readonly remoteAddr: { readonly hostname: string; readonly port: number };
}

/** The one `Deno.serve` handler: HTTP routes plus the WebSocket upgrade. */
export type HttpHandler = (request: Request, info: RequestInfo) => Promise<Response>;

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
};

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** Formats a peer address as `host:port` (`[v6]:port` for IPv6). */
export function toPeerAddress(info: RequestInfo): string {
  const { hostname, port } = info.remoteAddr;
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

type Route = (request: Request) => Response;

/** Creates the request handler. */
export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  const { state, log } = options;
  const routes = new Map<string, Route>([
    ["/health", () => json(200, { status: "ok" })],
    ["/ready", () => state.isReady() ? json(200, { ready: true }) : json(503, { ready: false })],
    ["/status", () => json(200, state.status())],
  ]);

  const endpoints = new Map(Object.entries(options.endpoints ?? {}));

  return async (request, info) => {
    const url = new URL(request.url);
    const endpoint = endpoints.get(url.pathname);
    if (endpoint !== undefined) {
      try {
        return await endpoint(request, toPeerAddress(info));
      } catch (error) {
        log.error("{method} {path} failed: {error}", {
          method: request.method,
          path: url.pathname,
          error,
        });
        return json(500, { error: "internal-error", message: "The request failed on the server" });
      }
    }
    const route = routes.get(url.pathname);
    if (route === undefined && request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      try {
        return await options.upgrade(request, toPeerAddress(info));
      } catch (error) {
        log.error("WebSocket upgrade failed: {error}", { error });
        return json(400, { error: "bad-upgrade", message: "WebSocket upgrade failed" });
      }
    }
    if (route === undefined) {
      return json(404, {
        error: "not-found",
        message: `No route for ${request.method} ${url.pathname}`,
      });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return json(405, {
        error: "method-not-allowed",
        message: `${url.pathname} accepts GET and HEAD`,
      }, {
        allow: "GET, HEAD",
      });
    }
    const response = route(request);
    return request.method === "HEAD" ? new Response(null, response) : response;
  };
}
