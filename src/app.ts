import { type AuthSetup, createAuthRoutes, TOKEN_ENDPOINT_PATH } from "./auth/mod.ts";
import { type Bus, createMemoryBus } from "./bus/mod.ts";
import { createCluster } from "./cluster/mod.ts";
import { createConsole, createConsoleTap } from "./console/mod.ts";
import type { Config } from "./config/mod.ts";
import type { HealthBoard } from "./health/mod.ts";
import { createHttpHandler, type Endpoint, type HttpHandler } from "./http/mod.ts";
import type { Logger, RecentRecords } from "./log/mod.ts";
import {
  createConfiguredSources,
  createPipeline,
  type Intake,
  type Pipeline,
  toSourceSpecs,
} from "./pipeline/mod.ts";
import { createProjector, type Projector } from "./projector/mod.ts";
import { CloseCode } from "./protocol/mod.ts";
import type { Source } from "./sources/mod.ts";
import { BASE_VIEW_NAMES, demoStack, type Stack } from "./stack/mod.ts";
import type { Telemetry } from "./telemetry/mod.ts";
import type { Clock, Ids } from "./util/mod.ts";
import { createPathCache, createVm, type Vm } from "./vm/mod.ts";
import { createHostedVm, type HostPool } from "./sandbox/mod.ts";
import {
  type Authorize,
  createSendScheduler,
  createWsServer,
  upgradeToSocket,
  type WsServer,
} from "./ws/mod.ts";

/** Everything `createApp` needs; dependencies are explicit, tunables come from `config`. */
export interface AppOptions {
  readonly config: Config;
  readonly clock: Clock;
  readonly ids: Ids;
  /** Root logger (category `pharos`); components log under its children. */
  readonly log: Logger;
  readonly telemetry: Telemetry;
  /** Default: the built-in demo Token stack. */
  readonly stack?: Stack;
  /**
   * Handler hosts from `openSandbox` (`PHAROS_HANDLER_ISOLATION=process`), with `stack`
   * their manifest's stack: handlers run there. Without them handlers run in-process.
   * The app closes them on shutdown.
   */
  readonly handlerHosts?: HostPool;
  /** Sources to run instead of those the config and stack ask for. */
  readonly sources?: readonly Source[];
  /**
   * Upgrade authorization hook; replaces the one built from the configuration
   * (`PHAROS_AUTH`, `PHAROS_ALLOWED_ORIGINS`).
   */
  readonly authorize?: Authorize;
  /** Verifiers and minter from {@link prepareAuth}; required when the config enables auth. */
  readonly auth?: AuthSetup;
  /** Renders `GET /metrics`; without it the route is absent. */
  readonly metrics?: () => Promise<string>;
  /** The latest warnings and errors, for the console (`boot.ts` installs the ring). */
  readonly recentLogs?: RecentRecords;
}

/** A wired Pharos server, not yet listening: hand `handler` to `Deno.serve`. */
export interface App {
  readonly handler: HttpHandler;
  /** `/metrics`, `/status`, `/health`, `/ready` for the admin port, when one is configured. */
  readonly adminHandler: HttpHandler | undefined;
  /** Starts the sources; resolves once they run. */
  start(): Promise<void>;
  /**
   * Tells the app the port its main listener got (`PORT=0` picks one): the console, when
   * served on the admin port, sends its page there for entities.
   */
  listening(port: number): void;
  /** Drains: `/ready` turns 503, sources stop, queued events finish, clients get 1001. */
  shutdown(): Promise<void>;
  readonly pipeline: Pipeline;
  readonly health: HealthBoard;
  readonly sources: readonly Source[];
  readonly intake: Intake;
  readonly vm: Vm;
  readonly projector: Projector;
  readonly bus: Bus;
  readonly ws: WsServer;
}

/**
 * Wires config, stack, sources, pipeline (intake, VM, projector), bus, WebSocket server
 * and HTTP routes. Throws a `ConfigError` when the sources asked for cannot be built.
 */
export function createApp(options: AppOptions): App {
  const { config, clock } = options;
  // The console counts what passes the telemetry facades and the bus (see console/tap.ts).
  const consoleTap = createConsoleTap();
  const telemetry = consoleTap.telemetry(options.telemetry);
  const { tracing } = telemetry;
  const log = (name: string) => options.log.getChild(name);
  const stack = options.stack ?? demoStack;

  const sources = options.sources ?? createConfiguredSources(toSourceSpecs(config.sources, stack), {
    config,
    clock,
    log: log("sources"),
    upgrade: upgradeToSocket,
  });

  const hosts = options.handlerHosts;
  const vm = hosts === undefined
    ? createVm({ stack, clock, telemetry: telemetry.vm, ...config.vm })
    : createHostedVm({
      stack,
      pool: hosts,
      clock,
      telemetry: telemetry.vm,
      log: log("vm"),
      stateTableSize: config.vm.stateTableSize,
      handlerTimeoutMs: config.vm.handlerTimeoutMs,
    });
  const bus = consoleTap.bus(createMemoryBus({
    log: log("bus"),
    onListenerError: (topic, error) =>
      log("bus").error("Bus listener on {topic} failed: {error}", { topic, error }),
  }));
  const projector = createProjector({
    stack,
    bus,
    clock,
    log: log("projector"),
    telemetry: telemetry.projector,
    tracing,
    paths: createPathCache({ telemetry: telemetry.vm }),
    ownsMutations: true, // the VM's wire patches are fresh per event
    ...config.projector,
  });
  // One scheduler paces every client's sends in slices; the pipeline waits for it between
  // batches (see PipelineOptions.fanoutIdle).
  const scheduler = createSendScheduler({
    clock,
    onError: (error) => log("ws").error("Sending to a client failed: {error}", { error }),
  });
  const cluster = config.cluster.redisUrl === "" ? undefined : createCluster({
    config: config.cluster,
    stack: stack.name,
    instance: config.cluster.instanceId || `pharos-${Deno.pid}-${options.ids.next().slice(0, 6)}`,
    clock,
    log: log("cluster"),
    telemetry,
    state: { vm, projector },
    maxLagEvents: config.pipeline.capacity * 4,
    onStateReplaced: (reason) => closeClients(reason),
  });
  const pipeline = createPipeline({
    stack,
    sources,
    ...(cluster === undefined ? {} : { cluster: cluster.pipeline }),
    vm,
    projector,
    clock,
    log: options.log,
    telemetry,
    fanoutIdle: () => scheduler.busy ? scheduler.idle() : undefined,
    ...config.pipeline,
  });

  // Every series over a value known now exists at 0 from the first scrape.
  const entities = Object.keys(stack.entities);
  telemetry.observe.catalog({
    entities,
    modes: BASE_VIEW_NAMES, // a base view's name is its frames' mode
    views: projector.viewIds,
    sources: pipeline.sources.map((source) => source.name),
  });

  const { authorize, tokenEndpoint, clientAddress } = createAuthRoutes(config.auth, {
    setup: options.auth,
    authorize: options.authorize,
    log: log("auth"),
    telemetry: telemetry.auth,
  });

  const ws = createWsServer({
    directory: projector.directory,
    bus,
    clock,
    ids: options.ids,
    log: log("ws"),
    telemetry: telemetry.ws,
    tracing,
    ...config.ws,
    ...(authorize === undefined ? {} : { authorize }),
    scheduler,
  });

  /** Clients of a state that was replaced reconnect (1012) and subscribe again for snapshots. */
  function closeClients(reason: string): void {
    for (const session of ws.sessions()) session.close(CloseCode.ServiceRestart, reason);
  }

  const endpoints: Record<string, Endpoint> = {};
  // Sources that answer on a path of their own.
  for (const { endpoint } of sources) {
    if (endpoint !== undefined) {
      endpoints[endpoint.path] = (request, peer) => endpoint.handle(request, peer);
    }
  }
  if (tokenEndpoint !== undefined) endpoints[TOKEN_ENDPOINT_PATH] = tokenEndpoint;

  const adminPort = config.server.adminPort >= 0;
  let publicPort = config.server.port;
  const status = async () => ({
    ...pipeline.status(),
    ...ws.status(),
    handlers: hosts?.status() ?? { isolation: "inline" },
    ...authStatus(),
    ...(cluster === undefined ? {} : { cluster: await cluster.status() }),
  });
  const liveConsole = createConsole({
    tap: consoleTap,
    clock,
    status,
    directory: projector.directory,
    viewIds: projector.viewIds,
    sessions: () => ws.sessions(),
    queueMaxFrames: config.ws.limits.queueMaxFrames,
    ...(options.recentLogs === undefined ? {} : { recentLogs: options.recentLogs }),
    ...(adminPort ? { wsPort: () => publicPort } : {}),
  });

  const http = (exposure: "public" | "all" | "admin") =>
    createHttpHandler({
      log: log("http"),
      tracing,
      exposure,
      ...(config.server.adminToken === "" ? {} : { adminToken: config.server.adminToken }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      upgrade: (request, peer) => ws.handleUpgrade(request, peer),
      clientAddress,
      endpoints,
      console: liveConsole.routes,
      state: { isReady: pipeline.isReady, status },
    });

  /** `/status`'s `auth`: the JWT key set in force, when there is one. */
  function authStatus(): Record<string, unknown> {
    const keys = options.auth?.keys?.status();
    if (keys === undefined) return {};
    return {
      auth: {
        jwks: {
          source: keys.source,
          keys: keys.keys,
          age_seconds: Math.max(0, Math.round((clock.now() - keys.loadedAt) / 1000)),
        },
      },
    };
  }

  let shutdown: Promise<void> | undefined;
  async function drain(): Promise<void> {
    const runtimeLog = log("runtime");
    runtimeLog.info("Shutting down: draining {clients} clients", { clients: ws.clientCount });
    liveConsole.close();
    await cluster?.stop(); // gives the lease up first: another instance takes over at once
    await pipeline.stop();
    await ws.shutdown({ timeoutMs: Math.max(100, config.server.shutdownTimeoutMs / 2) });
    await hosts?.close();
    runtimeLog.info("Shutdown complete");
  }

  return {
    handler: http(adminPort ? "public" : "all"),
    adminHandler: adminPort ? http("admin") : undefined,
    pipeline,
    health: pipeline.health,
    sources: pipeline.sources,
    intake: pipeline.intake,
    vm,
    projector,
    bus,
    ws,
    async start() {
      await pipeline.start();
      // In the background: an instance whose Redis is down still serves /ready (503).
      cluster?.start(pipeline).catch((error) =>
        log("cluster").error("Cluster mode stopped: {error}", { error })
      );
    },
    shutdown: () => shutdown ??= drain(),
    listening(port) {
      publicPort = port;
    },
  };
}
