import { type Bus, createMemoryBus } from "./bus/mod.ts";
import { type Config, ConfigError } from "./config/mod.ts";
import { createHealthBoard, type HealthBoard, type HealthMonitor } from "./health/mod.ts";
import {
  createHttpHandler,
  type Endpoint,
  type HttpHandler,
  type HttpHandlerOptions,
} from "./http/mod.ts";
import type { Logger } from "./log/mod.ts";
import { createProjector, type Projector } from "./projector/mod.ts";
import { createIntake, type Intake, type Source, type SourceStatus } from "./sources/mod.ts";
import { demoStack, type PharosEvent, type Stack } from "./stack/mod.ts";
import type { Telemetry } from "./telemetry/mod.ts";
import { type Clock, type Ids, yieldToIo } from "./util/mod.ts";
import {
  type AuthSetup,
  createAuthorize,
  createTokenEndpoint,
  TOKEN_ENDPOINT_PATH,
} from "./app_auth.ts";
import { createPathCache, createVm, type Vm } from "./vm/mod.ts";
import { type Authorize, createSendScheduler, createWsServer, type WsServer } from "./ws/mod.ts";
import { createConfiguredSources, toSourceSpecs } from "./app_sources.ts";

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
}

/** A wired Pharos server, not yet listening: hand `handler` to `Deno.serve`. */
export interface App {
  readonly handler: HttpHandler;
  /** `/metrics`, `/status`, `/health`, `/ready` for the admin port, when one is configured. */
  readonly adminHandler: HttpHandler | undefined;
  /** Starts the sources; resolves once they run. */
  start(): Promise<void>;
  /** Drains: `/ready` turns 503, sources stop, queued events finish, clients get 1001. */
  shutdown(): Promise<void>;
  readonly health: HealthBoard;
  readonly sources: readonly Source[];
  readonly intake: Intake;
  readonly vm: Vm;
  readonly projector: Projector;
  readonly bus: Bus;
  readonly ws: WsServer;
}

/**
 * Wires config, stack, sources, intake, VM, projector, bus, WebSocket server and HTTP
 * routes. Throws a `ConfigError` when the sources asked for cannot be built.
 */
export function createApp(options: AppOptions): App {
  const { config, clock, telemetry } = options;
  const { tracing } = telemetry;
  const log = (name: string) => options.log.getChild(name);
  const runtimeLog = log("runtime");
  const healthLog = log("health");
  const sourceLog = log("sources");
  const vmLog = log("vm");
  const stack = options.stack ?? demoStack;

  const configured = options.sources === undefined
    ? createConfiguredSources(toSourceSpecs(config, stack), { config, clock, log: sourceLog })
    : { sources: options.sources };
  const sources = configured.sources;

  const health = createHealthBoard({
    clock,
    heartbeatMs: config.heartbeatMs,
    required: config.requiredSources,
    onStale: (source, silentMs) =>
      healthLog.warn("Stream appears to be stale - no recent events", {
        source,
        silent_ms: Math.round(silentMs),
      }),
  });
  const monitors = new Map<Source, HealthMonitor>(
    sources.map((source) => [source, health.add(source.name, source.kind)]),
  );
  healthLog.info("Health monitoring enabled", {
    heartbeat_ms: config.heartbeatMs,
    sources: sources.map((source) => source.name).join(","),
  });

  const paths = createPathCache({ telemetry: telemetry.vm });
  const vm = createVm({
    stack,
    clock,
    telemetry: telemetry.vm,
    stateTableSize: config.stateTableSize,
    handlerTimeoutMs: config.handlerTimeoutMs,
    functionCallMetrics: config.functionCallMetrics,
  });
  const busLog = log("bus");
  const bus = createMemoryBus({
    onListenerError: (topic, error) =>
      busLog.error("Bus listener on {topic} failed: {error}", { topic, error }),
  });
  const projector = tracing.inSpan("projector", { phase: "startup" }, () => {
    const created = createProjector({
      stack,
      bus,
      clock,
      log: log("projector"),
      telemetry: telemetry.projector,
      tracing,
      paths,
      cacheSize: config.viewCacheSize,
      batchMaxSize: config.batchMaxSize,
      batchDelayMs: config.batchDelayMs,
    });
    log("projector").info("Projector started");
    return created;
  }, { root: true });

  /** One trace per event, continuing the producer's when the event carries a traceparent. */
  function processEvent(event: PharosEvent, source: string): Promise<void> {
    return tracing.inSpan("vm.process_event", {
      "event.type": event.type,
      "event.source": source,
      ...(event.slot === undefined ? {} : { slot: event.slot }),
    }, async (span) => {
      const result = await vm.process(event);
      for (const failure of result.failures) {
        vmLog.warn("Handler {entity}.{handler} failed ({code}): {error}", {
          entity: failure.entity,
          handler: failure.handler,
          code: failure.code,
          error: failure.error instanceof Error ? failure.error.message : String(failure.error),
        });
      }
      if (result.failures.length > 0) {
        span.setAttribute("handler.failures", result.failures.length);
        // A failed handler run fails this event's processing: mark it, with the exception.
        for (const failure of result.failures) span.recordError(failure.error);
      }
      if (result.mutations.length > 0) projector.push(result.mutations, span.traceparent);
    }, {
      root: true,
      kind: "consumer",
      ...(event.traceparent === undefined ? {} : { parent: event.traceparent }),
    });
  }
  // One scheduler paces every client's sends in slices; the pipeline waits for it before
  // the next event, so a flood is held back at the intake (ingest answers 503 when it is
  // full) instead of piling frames up in memory or holding the thread.
  const scheduler = createSendScheduler({
    clock,
    onError: (error) => log("ws").error("Sending to a client failed: {error}", { error }),
  });
  const intake = createIntake({
    clock,
    capacity: config.pipelineCapacity,
    yieldToEventLoop: yieldToIo,
    // The end of a burst: publish now rather than after the batch delay.
    onIdle: () => projector.flush(),
    process: async ({ event, source }) => {
      if (scheduler.busy) await scheduler.idle();
      await processEvent(event, source);
    },
    onError: ({ source }, error) =>
      vmLog.error("Failed to process an event from {source}: {error}", { source, error }),
  });

  const needsAuth = config.authMode !== "none" || config.authPrivateKey !== "";
  if (needsAuth && options.auth === undefined && options.authorize === undefined) {
    throw new ConfigError(["authentication is configured: build the app with prepareAuth()"]);
  }
  const authSetup: AuthSetup = options.auth ?? { verifier: undefined, minter: undefined };
  const authorize = options.authorize ??
    (config.authMode !== "none" || config.allowedOrigins.length > 0
      ? createAuthorize(config, authSetup, log("auth"))
      : undefined);

  const ws = createWsServer({
    directory: projector.directory,
    bus,
    clock,
    ids: options.ids,
    log: log("ws"),
    telemetry: telemetry.ws,
    tracing,
    maxClients: config.maxClients,
    idleTimeoutMs: config.idleTimeoutMs,
    limits: {
      maxSubscriptions: config.maxSubscriptionsPerClient,
      maxMessageBytes: config.maxMessageBytes,
      queueMaxFrames: config.queueMaxFrames,
      queueMaxBytes: config.queueMaxBytes,
      maxSnapshotRows: config.maxSnapshotRows,
      maxMessagesPerMinute: config.maxMessagesPerMinute,
      maxBytesPerMinute: config.maxBytesPerMinute,
    },
    admission: {
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      maxConnectionsPerSubject: config.maxConnectionsPerSubject,
      maxConnectionsPerOrigin: config.maxConnectionsPerOrigin,
      handshakesPerMinutePerIp: config.handshakesPerMinutePerIp,
    },
    ...(authorize === undefined ? {} : { authorize }),
    scheduler,
  });

  let started = false;
  let draining = false;
  let healthChecks: Disposable | undefined;
  const isReady = () => started && !draining && health.isHealthy();

  function onStatus(source: Source, status: SourceStatus, message?: string): void {
    const monitor = monitors.get(source)!;
    const fields = { source: source.name, status, ...(message ? { message } : {}) };
    if (status === "error") sourceLog.warn("Source {source} is {status}: {message}", fields);
    else sourceLog.info("Source {source} is {status}", fields);
    if (status === "connected" || status === "reconnecting") {
      tracing.inSpan(
        "source",
        {
          "source.name": source.name,
          "source.kind": source.kind,
          "source.stream": source.stream,
          phase: status === "connected" ? "connect" : "reconnect",
        },
        () => {},
        { root: true },
      );
    }
    if (status === "connected") monitor.recordConnection();
    else if (status === "reconnecting") monitor.recordReconnecting();
    else if (status === "disconnected") monitor.recordDisconnection();
    else monitor.recordError(message ?? "source error");
  }

  const endpoints: Record<string, Endpoint> = {};
  if (configured.ingest !== undefined) {
    const ingest = configured.ingest;
    endpoints["/ingest"] = (request, peer) => ingest.handle(request, peer);
  }
  if (authSetup.minter !== undefined) {
    endpoints[TOKEN_ENDPOINT_PATH] = createTokenEndpoint(config, authSetup.minter, log("auth"));
  }

  telemetry.observe.health(() => ({
    ready: isReady(),
    sources: health.sources().map(({ name, healthy }) => ({ name, healthy })),
  }));
  telemetry.observe.pipeline(() => ({ pending: intake.pending, capacity: intake.capacity }));

  const adminPort = config.adminPort >= 0;
  const httpOptions: HttpHandlerOptions = {
    log: log("http"),
    tracing,
    ...(config.adminToken === "" ? {} : { adminToken: config.adminToken }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    upgrade: (request, peer) => ws.handleUpgrade(request, peer),
    endpoints,
    state: {
      isReady,
      status: () => {
        const status = health.status();
        const age = health.lastEventAgeMs();
        return {
          status: status.kind,
          ...(status.kind === "Error" ? { message: status.message } : {}),
          healthy: health.isHealthy(),
          ready: isReady(),
          draining,
          last_event_age_ms: age === undefined ? null : Math.round(age),
          error_count: health.errorCount,
          sources: health.sources(),
          pipeline: { pending: intake.pending, capacity: intake.capacity },
          connections: ws.clientCount,
          connections_closing: ws.closingCount,
          max_connections: config.maxClients,
          stack: stack.name,
        };
      },
    },
  };
  const handler = createHttpHandler({
    ...httpOptions,
    exposure: adminPort ? "public" : "all",
  });
  const adminHandler = adminPort
    ? createHttpHandler({ ...httpOptions, exposure: "admin" })
    : undefined;

  return {
    handler,
    adminHandler,
    health,
    sources,
    intake,
    vm,
    projector,
    bus,
    ws,
    async start() {
      healthChecks = health.start();
      for (const source of sources) {
        const monitor = monitors.get(source)!;
        sourceLog.info("Source {source} starting (kind: {kind}, stream: {stream})", {
          source: source.name,
          kind: source.kind,
          stream: source.stream,
          stack: stack.name,
        });
        await tracing.inSpan("source", {
          "source.name": source.name,
          "source.kind": source.kind,
          "source.stream": source.stream,
          phase: "start",
        }, () =>
          source.start({
            sink: (event) => {
              monitor.recordEvent();
              telemetry.sources.eventReceived(source.name);
              return intake.submit(source.name, event);
            },
            offer: (events) => {
              if (!intake.offer(source.name, events)) return false;
              for (let i = 0; i < events.length; i++) {
                monitor.recordEvent();
                telemetry.sources.eventReceived(source.name);
              }
              return true;
            },
            capacity: intake.capacity,
            onStatus: (status, message) => onStatus(source, status, message),
          }), { root: true });
      }
      started = true;
    },
    async shutdown() {
      if (draining) return;
      draining = true;
      runtimeLog.info("Shutting down: draining {clients} clients", { clients: ws.clientCount });
      await Promise.all(sources.map((source) => source.stop()));
      await intake.close();
      tracing.inSpan("projector", { phase: "shutdown" }, () => projector.flush(), { root: true });
      await ws.shutdown({ timeoutMs: Math.max(100, config.shutdownTimeoutMs / 2) });
      healthChecks?.[Symbol.dispose]();
      runtimeLog.info("Shutdown complete");
    },
  };
}
