// deno-lint-ignore-file no-console -- the process entry point reports start-up failures on stderr
/**
 * Pharos for `deno serve` and hosts that run a module's default `fetch` export (Deno
 * Deploy-like platforms). The host owns the listener, so the port comes from its flag:
 *
 *   deno task serve                                    # port 8877
 *   deno serve --allow-net --allow-env --allow-read --port "$PORT" serve.ts
 *
 * Everything else is configured as for `main.ts` (environment and flags after `serve.ts`):
 * `PHAROS_*`, `OTEL_*` (with `OTEL_DENO=true` the runtime exports telemetry itself), the
 * stack module and the sources. `PORT` and `PHAROS_HOST` are not used: `deno serve` ignores
 * them, pass `--port`/`--host`. Do not use `--parallel`: each worker would run its own
 * sources and hold its own state and subscribers.
 * @module
 */
import { createApp } from "./src/app.ts";
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
const log = getLogger(["pharos"]);
const runtimeLog = log.getChild("runtime");
const startup = telemetry.tracing.startSpan("runtime", {
  "service.name": "pharos",
  "service.version": VERSION,
  phase: "startup",
}, { root: true });
startup.run(() =>
  runtimeLog.info("Starting Pharos runtime", {
    version: VERSION,
    deno: Deno.version.deno,
    telemetry: otel.mode,
    entry: "deno serve",
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

let app: ReturnType<typeof createApp>;
try {
  app = createApp({
    config,
    clock: systemClock,
    ids: randomIds,
    log,
    telemetry,
    metrics: otel.renderMetrics,
    ...(stack === undefined ? {} : { stack }),
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  app = await refuseToStart(error.message);
}
// Sources start before the first request can arrive; /ready says when they are healthy.
await app.start();
startup.end();

// Drain on SIGINT/SIGTERM as main.ts does (the listener itself belongs to `deno serve` and
// closes when the process exits). Hosts without signal support simply skip this.
let stopping = false;
async function stop(signal: Deno.Signal): Promise<void> {
  if (stopping) return;
  stopping = true;
  const shutdown = telemetry.tracing.startSpan("runtime", { phase: "shutdown", signal }, {
    root: true,
  });
  shutdown.run(() => runtimeLog.info("Received {signal}, shutting down", { signal }));
  const deadline = setTimeout(() => {
    runtimeLog.error("Shutdown exceeded {ms} ms; exiting", { ms: config.shutdownTimeoutMs });
    Deno.exit(1);
  }, config.shutdownTimeoutMs);
  await shutdown.run(() => app.shutdown());
  shutdown.end();
  clearTimeout(deadline);
  await otel[Symbol.asyncDispose](); // flushes spans, metrics and buffered log lines
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  try {
    Deno.addSignalListener(signal, () => void stop(signal));
  } catch {
    // not supported here (e.g. SIGTERM on Windows, or a sandboxed host)
  }
}

/** The peer as the HTTP handler expects it; non-TCP listeners have none. */
function peerOf(addr: Deno.Addr): { hostname: string; port: number } {
  return "hostname" in addr && "port" in addr
    ? { hostname: addr.hostname, port: addr.port }
    : { hostname: "unknown", port: 0 };
}

const serverLog = log.getChild(["ws", "server"]);
export default {
  fetch: (request, info) => app.handler(request, { remoteAddr: peerOf(info.remoteAddr) }),
  onListen(addr) {
    const { hostname, port } = peerOf(addr);
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    telemetry.tracing.inSpan(
      "ws.server",
      { phase: "startup", "server.address": `${host}:${port}` },
      () =>
        serverLog.info("WebSocket server listening on {address}", { address: `${host}:${port}` }),
      {
        root: true,
      },
    );
  },
} satisfies Deno.ServeDefaultExport;
