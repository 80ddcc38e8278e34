import type { AuthRoutes } from "./auth/mod.ts";
import { TOKEN_ENDPOINT_PATH } from "./auth/mod.ts";
import type { Bus } from "./bus/mod.ts";
import { type Console, type ConsoleTap, createConsole } from "./console/mod.ts";
import type { Config } from "./config/mod.ts";
import { isDiagnosticsEnabled } from "./diagnostics/mod.ts";
import {
  createHttpHandler,
  type Endpoint,
  type HttpHandler,
  type MetricsRenderer,
} from "./http/mod.ts";
import type { Logger, RecentRecords } from "./log/mod.ts";
import type { Pipeline } from "./pipeline/mod.ts";
import type { Projector } from "./projector/mod.ts";
import type { Source } from "./sources/mod.ts";
import type { Telemetry } from "./telemetry/mod.ts";
import { type Clock, type Ids, TokenBucket } from "./util/mod.ts";
import { createWsServer, type SendScheduler, type WsServer } from "./ws/mod.ts";

/** What serving is wired from: the app's dependencies and the event path it serves. */
export interface ServingParts {
  readonly config: Config;
  readonly clock: Clock;
  readonly ids: Ids;
  /** Root logger (`pharos`). */
  readonly log: Logger;
  readonly telemetry: Telemetry;
  readonly consoleTap: ConsoleTap;
  readonly auth: AuthRoutes;
  readonly scheduler: SendScheduler;
  readonly bus: Bus;
  readonly projector: Projector;
  readonly pipeline: Pipeline;
  /** Sources that answer on a path of their own (ingest's). */
  readonly sources: readonly Source[];
  /** `/status`, composed from the parts each component owns. */
  readonly status: () => Promise<Record<string, unknown>>;
  readonly metrics: (MetricsRenderer) | undefined;
  /**
   * Operators' endpoints (`/debug/…`): mounted only when an admin token or an admin port is
   * configured (what they show, a heap snapshot above all, holds secrets).
   */
  readonly adminEndpoints: Readonly<Record<string, Endpoint>>;
  readonly recentLogs: RecentRecords | undefined;
}

/** The WebSocket server, the console and the HTTP handlers in front of them. */
export interface Serving {
  readonly ws: WsServer;
  readonly liveConsole: Console;
  readonly handler: HttpHandler;
  readonly adminHandler: HttpHandler | undefined;
  /** See `App.listening`. */
  listening(port: number): void;
}

/** Wires what clients reach: wiring only, each part's behaviour is its component's. */
export function wireServing(parts: ServingParts): Serving {
  const { config, clock, telemetry, projector, pipeline, status } = parts;
  const log = (name: string) => parts.log.getChild(name);
  const ws = createWsServer({
    directory: projector.directory,
    bus: parts.bus,
    clock,
    ids: parts.ids,
    log: log("ws"),
    telemetry: telemetry.ws,
    tracing: telemetry.tracing,
    ...config.ws,
    ...(parts.auth.authorize === undefined ? {} : { authorize: parts.auth.authorize }),
    defaultAccess: parts.auth.defaultAccess,
    scheduler: parts.scheduler,
  });
  const adminPort = config.server.adminPort >= 0;
  const diagnostics = isDiagnosticsEnabled(config.server);
  let publicPort = config.server.port;
  const liveConsole = createConsole({
    tap: parts.consoleTap,
    clock,
    status,
    directory: projector.directory,
    viewIds: projector.viewIds,
    sessions: () => ws.sessions(),
    queueMaxFrames: config.ws.limits.queueMaxFrames,
    ...(parts.recentLogs === undefined ? {} : { recentLogs: parts.recentLogs }),
    ...(adminPort ? { wsPort: () => publicPort } : {}),
  });
  const requestSpans = new TokenBucket(clock, config.server.traceRequestsPerSecond);
  const http = (exposure: "public" | "all" | "admin") =>
    createHttpHandler({
      log: log("http"),
      tracing: telemetry.tracing,
      requestSpans,
      exposure,
      ...(config.server.adminToken === "" ? {} : { adminToken: config.server.adminToken }),
      ...(parts.metrics === undefined ? {} : { metrics: parts.metrics }),
      upgrade: (request, peer) => ws.handleUpgrade(request, peer),
      clientAddress: parts.auth.clientAddress,
      endpoints: endpointsOf(parts.sources, parts.auth.tokenEndpoint),
      ...(diagnostics ? { adminEndpoints: parts.adminEndpoints } : {}),
      console: liveConsole.routes,
      state: { isReady: pipeline.isReady, status },
    });
  return {
    ws,
    liveConsole,
    handler: http(adminPort ? "public" : "all"),
    adminHandler: adminPort ? http("admin") : undefined,
    listening(port) {
      publicPort = port;
    },
  };
}

/** The paths sources answer on (ingest's), and the token endpoint's. */
function endpointsOf(
  sources: readonly Source[],
  tokenEndpoint: Endpoint | undefined,
): Record<string, Endpoint> {
  const endpoints: Record<string, Endpoint> = {};
  for (const { endpoint } of sources) {
    if (endpoint !== undefined) {
      endpoints[endpoint.path] = (request, peer) => endpoint.handle(request, peer);
    }
  }
  if (tokenEndpoint !== undefined) endpoints[TOKEN_ENDPOINT_PATH] = tokenEndpoint;
  return endpoints;
}
