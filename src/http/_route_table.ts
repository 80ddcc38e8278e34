import {
  type Endpoint,
  healthRoute,
  type HttpState,
  type MetricsRenderer,
  metricsRoute,
  readyRoute,
  type Route,
  statusRoute,
} from "./routes.ts";

/** Routes that reveal internals: served on the admin port when there is one. */
const ADMIN_ROUTES = ["/metrics", "/status"];
/** Where the console's feed is served (its pages are wherever `console.pages` says). */
const CONSOLE_FEED = "/console/feed";

/** What decides a listener's routes (the fields of `HttpHandlerOptions` of that name). */
export interface RouteTableOptions {
  readonly state: HttpState;
  readonly endpoints?: Readonly<Record<string, Endpoint>> | undefined;
  readonly adminEndpoints?: Readonly<Record<string, Endpoint>> | undefined;
  readonly metrics?: (MetricsRenderer) | undefined;
  readonly console?:
    | { readonly pages: Readonly<Record<string, Route>>; readonly feed: Route }
    | undefined;
  readonly exposure?: "all" | "public" | "admin" | undefined;
}

/** Whether a request asks for a WebSocket upgrade. */
export function isUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/**
 * Which paths one listener serves, by its exposure: GET routes, endpoints that own their
 * path, whether upgrades are taken, and which routes want the admin token.
 */
export class RouteTable {
  readonly #routes = new Map<string, Route>();
  readonly #endpoints: Map<string, Endpoint>;
  /** The admin routes that need the admin token when one is set. */
  readonly #tokenRoutes = new Set(ADMIN_ROUTES);
  /** Whether an upgrade request that matches no route goes to the WebSocket server. */
  readonly upgrades: boolean;

  constructor(options: RouteTableOptions) {
    const exposure = options.exposure ?? "all";
    const adminRoutes = this.#addRoutes(options);
    if (exposure === "public") { for (const path of adminRoutes) this.#routes.delete(path); }
    this.#endpoints = new Map(
      exposure === "admin" ? [] : Object.entries(options.endpoints ?? {}),
    );
    // Admin endpoints (the diagnostics under `/debug/`) go where the admin routes go, and
    // always behind the admin token when one is set.
    if (exposure !== "public") {
      for (const [path, endpoint] of Object.entries(options.adminEndpoints ?? {})) {
        this.#endpoints.set(path, endpoint);
        this.#tokenRoutes.add(path);
      }
    }
    this.upgrades = exposure !== "admin";
  }

  endpoint(path: string): Endpoint | undefined {
    return this.#endpoints.get(path);
  }

  route(path: string): Route | undefined {
    return this.#routes.get(path);
  }

  /** Whether `path` is one of the routes or admin endpoints the admin token guards. */
  needsAdminToken(path: string): boolean {
    return this.#tokenRoutes.has(path);
  }

  /** A bounded span name: the route, never the raw path (which a client chooses). */
  routeOf(request: Request, url: URL): string {
    if (this.#endpoints.has(url.pathname) || this.#routes.has(url.pathname)) return url.pathname;
    return isUpgrade(request) ? "/{websocket}" : "/{unmatched}";
  }

  /** Adds every route; returns the admin ones. */
  #addRoutes(options: RouteTableOptions): Set<string> {
    const routes = this.#routes;
    routes.set("/health", healthRoute);
    routes.set("/ready", readyRoute(options.state));
    routes.set("/status", statusRoute(options.state));
    if (options.metrics !== undefined) routes.set("/metrics", metricsRoute(options.metrics));
    // The admin routes, and those of them that need the admin token when one is set. The
    // console's pages go with the admin routes, so the page is reached where its feed is, but
    // need no token: a browser cannot send a header when it opens a page (the page asks).
    const adminRoutes = new Set(ADMIN_ROUTES);
    if (options.console !== undefined) {
      for (const [path, route] of Object.entries(options.console.pages)) {
        routes.set(path, route);
        adminRoutes.add(path);
      }
      routes.set(CONSOLE_FEED, options.console.feed);
      adminRoutes.add(CONSOLE_FEED);
      this.#tokenRoutes.add(CONSOLE_FEED);
    }
    return adminRoutes;
  }
}
