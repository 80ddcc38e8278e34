import type { Logger } from "../log/mod.ts";
import { toJsonResponse } from "../protocol/mod.ts";
import type { AdminCheck } from "./_admin_token.ts";
import { isUpgrade, type RouteTable } from "./_route_table.ts";
import type { Endpoint, Route } from "./routes.ts";

/** One request as the dispatcher sees it. */
export interface Incoming {
  readonly request: Request;
  readonly url: URL;
  /** The client address (behind a trusted proxy, the forwarded one). */
  readonly peer: string;
}

/** Options for {@link Dispatcher}. */
export interface DispatcherOptions {
  readonly table: RouteTable;
  /** The admin token's check, asked for the routes the table says it guards. */
  readonly checkAdmin: AdminCheck;
  /** Handles WebSocket upgrades on every path that is not an HTTP route. */
  readonly upgrade: (request: Request, peer: string) => Promise<Response>;
  /** Where failures of endpoints and upgrades are logged, at error. */
  readonly log: Logger;
}

/**
 * Sends each request where the table says: an endpoint that owns its path, else a
 * WebSocket upgrade on a path that is no route, else a GET (or HEAD) route, behind the
 * admin token where it applies. Endpoints and upgrades that fail are answered here (JSON
 * 500 and 400): the HTTP side's boundary.
 */
export class Dispatcher {
  readonly #o: DispatcherOptions;

  constructor(options: DispatcherOptions) {
    this.#o = options;
  }

  async dispatch(incoming: Incoming): Promise<Response> {
    const { table } = this.#o;
    const { request, url } = incoming;
    const endpoint = table.endpoint(url.pathname);
    if (endpoint !== undefined) {
      if (table.needsAdminToken(url.pathname)) {
        const refusal = await this.#o.checkAdmin(request, url.pathname);
        if (refusal !== undefined) return refusal;
      }
      return await this.#callEndpoint(endpoint, incoming);
    }
    const route = table.route(url.pathname);
    if (route === undefined && isUpgrade(request) && table.upgrades) {
      return await this.#callUpgrade(incoming);
    }
    if (route === undefined) {
      return toJsonResponse(404, {
        error: "not-found",
        message: `No route for ${request.method} ${url.pathname}`,
      });
    }
    return await this.#serveRoute(route, incoming);
  }

  async #callEndpoint(endpoint: Endpoint, { request, url, peer }: Incoming): Promise<Response> {
    try {
      return await endpoint(request, peer);
    } catch (error) {
      this.#o.log.error("{method} {path} failed: {error}", {
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

  async #callUpgrade({ request, peer }: Incoming): Promise<Response> {
    try {
      return await this.#o.upgrade(request, peer);
    } catch (error) {
      this.#o.log.error("WebSocket upgrade failed: {error}", { error });
      return toJsonResponse(400, { error: "bad-upgrade", message: "WebSocket upgrade failed" });
    }
  }

  /** A route answers GET, and HEAD with the GET's status and headers but no body. */
  async #serveRoute(route: Route, { request, url }: Incoming): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return toJsonResponse(405, {
        error: "method-not-allowed",
        message: `${url.pathname} accepts GET and HEAD`,
      }, {
        allow: "GET, HEAD",
      });
    }
    if (this.#o.table.needsAdminToken(url.pathname)) {
      const refusal = await this.#o.checkAdmin(request, url.pathname);
      if (refusal !== undefined) return refusal;
    }
    const response = await route(request);
    return request.method === "HEAD" ? new Response(null, response) : response;
  }
}
