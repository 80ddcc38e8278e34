import { type Bus, createMemoryBus } from "./bus/mod.ts";
import type { Config } from "./config/mod.ts";
import { createHealthMonitor, type HealthMonitor } from "./health/mod.ts";
import { createHttpHandler, type HttpHandler } from "./http/mod.ts";
import type { Logger } from "./log/mod.ts";
import { createProjector, type Projector } from "./projector/mod.ts";
import { createDemoSource, type Source, type SourceStatus } from "./sources/mod.ts";
import { demoStack, type PharosEvent, type Stack } from "./stack/mod.ts";
import type { Telemetry } from "./telemetry/mod.ts";
import type { Clock, Ids } from "./util/mod.ts";
import { createPathCache, createVm, type Vm } from "./vm/mod.ts";
import { type Authorize, createWsServer, type WsServer } from "./ws/mod.ts";

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
  /** Default: the demo source at `config.demoRatePerSecond`. */
  readonly sources?: readonly Source[];
  /** Upgrade authorization hook; default allows everyone. */
  readonly authorize?: Authorize;
}

/** A wired Pharos server, not yet listening: hand `handler` to `Deno.serve`. */
export interface App {
  readonly handler: HttpHandler;
  /** Starts the sources; resolves once they run. */
  start(): Promise<void>;
  /** Drains: `/ready` turns 503, sources stop, pending frames flush, clients get 1001. */
  shutdown(): Promise<void>;
  readonly health: HealthMonitor;
  readonly vm: Vm;
  readonly projector: Projector;
  readonly bus: Bus;
  readonly ws: WsServer;
}

/** Wires config, stack, sources, VM, projector, bus, WebSocket server and HTTP routes. */
export function createApp(options: AppOptions): App {
  const { config, clock, telemetry } = options;
  const log = (name: string) => options.log.getChild(name);
  const runtimeLog = log("runtime");
  const stack = options.stack ?? demoStack;
  const health = createHealthMonitor({ clock });
  runtimeLog.info("Health monitoring enabled");
  const paths = createPathCache({ telemetry: telemetry.vm });
  const vm = createVm({
    stack,
    clock,
    telemetry: telemetry.vm,
    stateTableSize: config.stateTableSize,
    handlerTimeoutMs: config.handlerTimeoutMs,
  });
  const busLog = log("bus");
  const bus = createMemoryBus({
    onListenerError: (topic, error) =>
      busLog.error("Bus listener on {topic} failed: {error}", { topic, error }),
  });
  const projector = createProjector({
    stack,
    bus,
    clock,
    log: log("projector"),
    telemetry: telemetry.projector,
    paths,
    cacheSize: config.viewCacheSize,
    batchMaxSize: config.batchMaxSize,
    batchDelayMs: config.batchDelayMs,
  });
  log("projector").info("Projector started");
  const ws = createWsServer({
    directory: projector.directory,
    bus,
    clock,
    ids: options.ids,
    log: log("ws"),
    telemetry: telemetry.ws,
    maxClients: config.maxClients,
    idleTimeoutMs: config.idleTimeoutMs,
    limits: {
      maxSubscriptions: config.maxSubscriptionsPerClient,
      maxMessageBytes: config.maxMessageBytes,
      queueMaxFrames: config.queueMaxFrames,
      queueMaxBytes: config.queueMaxBytes,
    },
    ...(options.authorize === undefined ? {} : { authorize: options.authorize }),
  });
  const sources = options.sources ??
    [createDemoSource({ clock, ratePerSecond: config.demoRatePerSecond, keys: config.demoKeys })];
  const sourceLog = log("sources");
  const vmLog = log("vm");
  let started = false;
  let draining = false;

  async function sink(source: Source, event: PharosEvent): Promise<void> {
    telemetry.sources.eventReceived(source.name);
    health.recordEvent();
    const result = await vm.process(event);
    for (const failure of result.failures) {
      vmLog.warn("Handler {entity}.{handler} failed ({code}): {error}", {
        entity: failure.entity,
        handler: failure.handler,
        code: failure.code,
        error: failure.error instanceof Error ? failure.error.message : String(failure.error),
      });
    }
    if (result.mutations.length > 0) projector.push(result.mutations);
  }

  function onStatus(source: Source, status: SourceStatus, message?: string): void {
    sourceLog.info("Source {source} is {status}", {
      source: source.name,
      status,
      ...(message ? { message } : {}),
    });
    if (status === "connected") health.recordConnection();
    else if (status === "reconnecting") health.recordReconnecting();
    else if (status === "disconnected") health.recordDisconnection();
    else health.recordError(message ?? "source error");
  }

  const handler = createHttpHandler({
    log: log("http"),
    upgrade: (request, peer) => ws.handleUpgrade(request, peer),
    state: {
      isReady: () => started && !draining && health.isHealthy(),
      status: () => {
        const age = health.lastEventAgeMs();
        return {
          status: health.status().kind,
          healthy: health.isHealthy(),
          ready: started && !draining && health.isHealthy(),
          draining,
          last_event_age_ms: age === undefined ? null : Math.round(age),
          error_count: health.errorCount,
          connections: ws.clientCount,
          connections_closing: ws.closingCount,
          max_connections: config.maxClients,
          stack: stack.name,
          sources: sources.map((source) => ({ name: source.name, kind: source.kind })),
        };
      },
    },
  });

  return {
    handler,
    health,
    vm,
    projector,
    bus,
    ws,
    async start() {
      for (const source of sources) {
        sourceLog.info("Source {source} starting (kind: {kind}, stack: {stack})", {
          source: source.name,
          kind: source.kind,
          stack: stack.name,
        });
        await source.start({
          sink: (event) => sink(source, event),
          onStatus: (status, message) => onStatus(source, status, message),
        });
      }
      started = true;
    },
    async shutdown() {
      if (draining) return;
      draining = true;
      runtimeLog.info("Shutting down: draining {clients} clients", { clients: ws.clientCount });
      await Promise.all(sources.map((source) => source.stop()));
      projector.flush();
      await ws.shutdown({ timeoutMs: Math.max(100, config.shutdownTimeoutMs / 2) });
      runtimeLog.info("Shutdown complete");
    },
  };
}
