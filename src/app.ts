import { openAuth, SHARED_REVOCATION_LIST } from "./auth/mod.ts";
import { createConsoleTap } from "./console/mod.ts";
import { createDiagnosticsEndpoints, isDiagnosticsEnabled } from "./diagnostics/mod.ts";
import { composeStatus } from "./health/mod.ts";
import { createLogFilterControl, createLogFilterEndpoint, LOG_FILTER_PATH } from "./log/mod.ts";
import { createConfiguredSources, toSourceSpecs } from "./pipeline/mod.ts";
import { openHandlers } from "./sandbox/mod.ts";
import type { Source } from "./sources/mod.ts";
import { createLoopMonitor } from "./telemetry/mod.ts";
import { createTaskTracker, inOrderOnce, randomIds, systemClock } from "./util/mod.ts";
import { createSendScheduler, upgradeToSocket } from "./ws/mod.ts";
import type { App, AppOptions } from "./app_types.ts";
import { wireEventPath } from "./app_event_path.ts";
import { wireServing } from "./app_serving.ts";

export type { App, AppOptions } from "./app_types.ts";

/**
 * Builds the server `main.ts` runs from a config: the stack's handlers (in handler hosts
 * unless `PHAROS_HANDLER_ISOLATION=inline`), authentication (keys and revocation list loaded), the sources, the
 * event path, the WebSocket server, the console and the HTTP routes. Wiring only: each
 * part's behaviour is its component's. Throws a `ConfigError` or a `SandboxError` when the
 * config asks for something that cannot be built, and leaves nothing running then.
 */
export async function createApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  // The console counts what passes the telemetry facades and the bus (see console/tap.ts).
  const consoleTap = createConsoleTap();
  const telemetry = consoleTap.telemetry(options.telemetry);
  const log = (name: string) => options.log.getChild(name);
  const diagnostics = isDiagnosticsEnabled(config.server);

  const auth = await openAuth(config.auth, {
    authorize: options.authorize,
    clock,
    log: log("auth"),
    telemetry: telemetry.auth,
  });
  const handlers = await openHandlers({
    settings: config.vm,
    stackModule: config.server.stackModule,
    ...(options.stack === undefined ? {} : { stack: options.stack }),
    env: options.env ?? {},
    cwd: options.cwd ?? ".",
    clock,
    log: log("vm"),
    telemetry: telemetry.vm,
    detach: (fn) => telemetry.tracing.detached(fn),
    diagnostics,
  });
  const { stack, vm } = handlers;
  if (handlers.hostUsage !== undefined) telemetry.observe.handlerHosts(handlers.hostUsage);
  let sources: readonly Source[];
  try {
    sources = options.sources ?? createConfiguredSources(toSourceSpecs(config.sources, stack), {
      config,
      clock,
      log: log("sources"),
      upgrade: upgradeToSocket,
    });
  } catch (error) {
    await handlers.close();
    throw error;
  }

  // The filter `PUT /debug/log` changes for a while (an admin endpoint).
  const logFilter = options.logging === undefined
    ? undefined
    : createLogFilterControl({ logging: options.logging, clock, log: log("log") });
  const scheduler = createSendScheduler({
    clock,
    onError: (error) => log("ws").error("Sending to a client failed: {error}", { error }),
  });
  const parts = { config, clock, ids, log: options.log, telemetry, scheduler };
  const { bus, projector, cluster, pipeline } = wireEventPath({
    ...parts,
    tapBus: (bus) => consoleTap.bus(bus),
    stack,
    vm,
    sources,
    onStateReplaced: (reason) => ws.restartClients(reason),
  });
  const { ws, liveConsole, handler, adminHandler, listening } = wireServing({
    ...parts,
    consoleTap,
    auth,
    bus,
    projector,
    pipeline,
    sources,
    status: composeStatus([
      pipeline.status,
      () => ws.status(),
      () => ({ handlers: vm.handlersStatus() }),
      () => auth.status({ rowRules: projector.rowRuleCount }),
      async () => cluster === undefined ? {} : { cluster: await cluster.status() },
    ]),
    metrics: options.metrics,
    adminEndpoints: {
      ...(logFilter === undefined ? {} : { [LOG_FILTER_PATH]: createLogFilterEndpoint(logFilter) }),
      ...(diagnostics
        ? createDiagnosticsEndpoints({ log: log("diagnostics"), clock, host: handlers.captures })
        : {}),
    },
    recentLogs: options.recentLogs,
  });

  // Revoked tokens end their live sessions; in cluster mode every instance holds one list.
  auth.revocations?.enforce(ws, cluster?.share(SHARED_REVOCATION_LIST));

  const tasks = createTaskTracker((name, error) =>
    log(name).error("Background task {task} stopped: {error}", { task: name, error })
  );
  const runtimeLog = log("runtime");
  const loopMonitor = createLoopMonitor({ clock, telemetry: telemetry.runtime });
  return {
    handler,
    adminHandler,
    pipeline,
    health: pipeline.health,
    sources: pipeline.sources,
    intake: pipeline.intake,
    vm,
    projector,
    bus,
    ws,
    async start() {
      loopMonitor.start();
      auth.revocations?.start();
      await pipeline.start();
      // In the background: an instance whose Redis is down still serves /ready (503).
      if (cluster !== undefined) tasks.run("cluster", () => cluster.start(pipeline));
    },
    shutdown: inOrderOnce([
      () =>
        runtimeLog.info("Shutting down: draining {clients} clients", { clients: ws.clientCount }),
      () => liveConsole.close(),
      () => auth.revocations?.stop(),
      () => cluster?.stop(), // gives the lease up first: another instance takes over at once
      () => tasks.idle(),
      () => pipeline.stop(),
      () => ws.shutdown({ timeoutMs: Math.max(100, config.server.shutdownTimeoutMs / 2) }),
      () => handlers.close(),
      () => logFilter?.[Symbol.dispose](), // its TTL timer; the filter in force stays
      () => loopMonitor.stop(),
      () => runtimeLog.info("Shutdown complete"),
    ]),
    killNow: () => handlers.killNow(),
    listening,
  };
}
