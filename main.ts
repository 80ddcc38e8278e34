// deno-lint-ignore-file no-console -- the process entry point reports start-up failures on stderr
/**
 * The Pharos server process: reads the environment and flags, configures logging,
 * starts the app on `Deno.serve`, and drains on SIGINT/SIGTERM.
 * @module
 */
import { type App, createApp } from "./src/app.ts";
import { type Config, ConfigError, parseConfig } from "./src/config/mod.ts";
import { getLogger } from "./src/log/mod.ts";
import { loadStack, type Stack } from "./src/stack/mod.ts";
import { initWithOtel, TelemetryConfig } from "./src/telemetry/mod.ts";
import { randomIds, systemClock } from "./src/util/mod.ts";

/** Exit code for invalid configuration (nothing was started). */
const EXIT_CONFIG = 2;
const VERSION = "0.1.0";

let config: Config;
try {
  config = parseConfig({ env: Deno.env.toObject(), args: Deno.args });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`pharos: ${error.message}`);
  Deno.exit(EXIT_CONFIG);
}

// Logging and OpenTelemetry together: exports go to OTEL_EXPORTER_OTLP_ENDPOINT when set,
// the runtime's own OpenTelemetry is used when OTEL_DENO=true, /metrics works either way.
const otel = await initWithOtel(
  new TelemetryConfig("pharos")
    .withJsonLogs(config.logFormat === "json")
    .withLogFilter(config.logFilter),
  {
    env: Deno.env.toObject(),
    serviceVersion: VERSION,
    functionCallMetrics: config.functionCallMetrics,
  },
);
const { telemetry } = otel;
const { tracing } = telemetry;
const log = getLogger(["pharos"]);
const runtimeLog = log.getChild("runtime");
const startup = tracing.startSpan("runtime", {
  "service.name": "pharos",
  "service.version": VERSION,
  phase: "startup",
}, { root: true });
startup.run(() =>
  runtimeLog.info("Starting Pharos runtime", {
    version: VERSION,
    deno: Deno.version.deno,
    telemetry: otel.mode,
  })
);

/** Reports a start-up error on stderr, flushes telemetry and logs, and exits 2. */
async function refuseToStart(message: string): Promise<never> {
  console.error(`pharos: ${message}`);
  startup.recordError(new Error(message));
  startup.end();
  await otel[Symbol.asyncDispose]();
  Deno.exit(EXIT_CONFIG);
}

let stack: Stack | undefined;
if (config.stackModule !== "") {
  try {
    stack = await loadStack(config.stackModule, Deno.cwd());
  } catch (error) {
    await refuseToStart((error as Error).message);
  }
}

function buildApp(): App {
  return createApp({
    config,
    clock: systemClock,
    ids: randomIds,
    log,
    telemetry,
    metrics: otel.renderMetrics,
    ...(stack === undefined ? {} : { stack }),
  });
}
let app: App;
try {
  app = buildApp();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  app = await refuseToStart(error.message);
}

const serverLog = log.getChild(["ws", "server"]);
const server = tracing.inSpan("ws.server", { phase: "startup" }, (span) =>
  Deno.serve({
    port: config.port,
    hostname: config.hostname,
    onListen({ hostname, port }) {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      span.setAttribute("server.address", `${host}:${port}`);
      serverLog.info("WebSocket server listening on {address}", { address: `${host}:${port}` });
    },
  }, app.handler), { root: true });
await app.start();
startup.end();

let stopping = false;
async function stop(signal: Deno.Signal): Promise<void> {
  if (stopping) return;
  stopping = true;
  const shutdown = tracing.startSpan("runtime", { phase: "shutdown", signal }, { root: true });
  shutdown.run(() => runtimeLog.info("Received {signal}, shutting down", { signal }));
  const deadline = setTimeout(() => {
    runtimeLog.error("Shutdown exceeded {ms} ms; exiting", { ms: config.shutdownTimeoutMs });
    Deno.exit(1);
  }, config.shutdownTimeoutMs);
  // Connections drain first, then the last spans and metric points are flushed.
  await shutdown.run(() => app.shutdown());
  await tracing.inSpan("ws.server", { phase: "shutdown" }, () => server.shutdown(), { root: true });
  shutdown.end();
  clearTimeout(deadline);
  await otel[Symbol.asyncDispose](); // flushes spans, metrics and buffered log lines
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void stop(signal));
}
