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
import { init, noopTelemetry, TelemetryConfig } from "./src/telemetry/mod.ts";
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

const logging = await init(
  new TelemetryConfig("pharos")
    .withJsonLogs(config.logFormat === "json")
    .withLogFilter(config.logFilter),
);
const log = getLogger(["pharos"]);
const runtimeLog = log.getChild("runtime");
runtimeLog.info("Starting Pharos runtime", { version: VERSION, deno: Deno.version.deno });

/** Reports a start-up error on stderr, flushes the log, and exits 2: nothing was started. */
async function refuseToStart(message: string): Promise<never> {
  console.error(`pharos: ${message}`);
  await logging[Symbol.asyncDispose]();
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
    telemetry: noopTelemetry,
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
const server = Deno.serve({
  port: config.port,
  hostname: config.hostname,
  onListen({ hostname, port }) {
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    serverLog.info("WebSocket server listening on {address}", { address: `${host}:${port}` });
  },
}, app.handler);
await app.start();

let stopping = false;
async function stop(signal: Deno.Signal): Promise<void> {
  if (stopping) return;
  stopping = true;
  runtimeLog.info("Received {signal}, shutting down", { signal });
  const deadline = setTimeout(() => {
    runtimeLog.error("Shutdown exceeded {ms} ms; exiting", { ms: config.shutdownTimeoutMs });
    Deno.exit(1);
  }, config.shutdownTimeoutMs);
  await app.shutdown();
  await server.shutdown();
  clearTimeout(deadline);
  await logging[Symbol.asyncDispose](); // flush buffered lines before exiting
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void stop(signal));
}
