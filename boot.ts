// deno-lint-ignore-file no-console -- the process entry points report start-up failures on stderr
/**
 * What `main.ts` (own listener) and `serve.ts` (`deno serve`) share, the process's concerns:
 * reading the environment and flags, setting up logging and OpenTelemetry, handing the
 * config to `createApp`, reporting a refusal to start, and draining on SIGINT/SIGTERM. Only
 * these process-level files read `Deno.env` or exit.
 * @module
 */
import { type App, createApp } from "./src/app.ts";
import {
  type Config,
  ConfigError,
  helpText,
  parseCommandLine,
  parseConfig,
  versionText,
} from "./src/config/mod.ts";
import { type LogFormat } from "./src/log/mod.ts";
import { createRecentRecords, formatJsonRecord, getLogger, type Logger } from "./src/log/mod.ts";
import { SandboxError } from "./src/sandbox/mod.ts";
import {
  initWithOtel,
  type OpenSpan,
  type OtelGuard,
  TelemetryConfig,
} from "./src/telemetry/mod.ts";
import { randomIds, systemClock } from "./src/util/mod.ts";

/** Exit code for invalid configuration (nothing was started). */
export const EXIT_CONFIG = 2;
/** The Pharos version reported in logs and telemetry. */
export const VERSION = "0.1.0";

/** A configured, built, not yet started server process. */
export interface Booted {
  readonly config: Config;
  readonly otel: OtelGuard;
  readonly app: App;
  readonly log: Logger;
  /** The start-up `runtime` span; end it once the server is serving. */
  readonly startup: OpenSpan;
}

/**
 * Answers `--help` and `--version` (exit 0), or parses the configuration (exit 2 listing
 * every problem), sets up logging and OpenTelemetry, and builds the app from the config
 * (exit 2 when its stack module, keys or sources cannot be used).
 */
export async function boot(entry: string): Promise<Booted> {
  const commandLine = parseCommandLine(Deno.args);
  if (commandLine.kind !== "run") {
    const text = commandLine.kind === "help"
      ? helpText(VERSION)
      : versionText(VERSION, Deno.version);
    await Deno.stdout.write(new TextEncoder().encode(text));
    Deno.exit(0);
  }
  let config: Config;
  try {
    config = parseConfig({ env: Deno.env.toObject(), args: commandLine.args });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    reportStartupFailure(error.message, error.logFormat, { problems: error.problems });
    Deno.exit(EXIT_CONFIG);
  }
  // The console lists the latest warnings and errors: they are kept as they are logged.
  const recentLogs = createRecentRecords();
  // Logging and OpenTelemetry together: exports go to OTEL_EXPORTER_OTLP_ENDPOINT when set,
  // the runtime's own OpenTelemetry is used when OTEL_DENO=true, /metrics works either way.
  const otel = await initWithOtel(
    new TelemetryConfig("pharos")
      .withJsonLogs(config.log.format === "json")
      .withLogFilter(config.log.filter),
    {
      env: Deno.env.toObject(),
      serviceVersion: VERSION,
      functionCallMetrics: config.vm.functionCallMetrics,
      onLogRecord: (record) => recentLogs.push(record),
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
      entry,
    })
  );

  /** Reports a start-up error on stderr, flushes telemetry and logs, and exits 2. */
  async function refuseToStart(message: string): Promise<never> {
    reportStartupFailure(message, config.log.format);
    startup.recordError(new Error(message));
    startup.end();
    await otel[Symbol.asyncDispose]();
    Deno.exit(EXIT_CONFIG);
  }

  let app: App;
  try {
    // Keys come from a file or URL and the stack module loads in a handler host: a bad one
    // stops start-up (exit 2) rather than locking every client out later.
    app = await startup.run(() =>
      createApp({
        config,
        clock: systemClock,
        ids: randomIds,
        log,
        telemetry,
        env: Deno.env.toObject(),
        cwd: Deno.cwd(),
        metrics: otel.renderMetrics,
        recentLogs,
        logging: otel.logging,
      })
    );
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof SandboxError)) throw error;
    return await refuseToStart(error.message);
  }
  // However the process ends, a handler host stuck in a loop must not outlive it.
  globalThis.addEventListener("unload", () => app.killNow());
  return { config, otel, app, log, startup };
}

/**
 * Why the process cannot start, on stderr: `pharos: <message>` for a person at a terminal,
 * or, when the logs are JSON, one JSON line shaped like every other (level `FATAL`), so a
 * log shipper reading the container's output parses every line it gets.
 */
function reportStartupFailure(
  message: string,
  format: LogFormat,
  fields: Record<string, unknown> = {},
): void {
  if (format === "text") {
    console.error(`pharos: ${message}`);
    return;
  }
  const line = formatJsonRecord({
    timestamp: Date.now(),
    level: "fatal",
    category: ["pharos", "runtime"],
    message: [message],
    rawMessage: message,
    properties: { ...fields, exit_code: EXIT_CONFIG },
  });
  console.error(line.trimEnd());
}

/**
 * Serves `/metrics`, `/status`, the console, `/debug/`, `/health` and `/ready` on
 * `PHAROS_ADMIN_PORT` when it is set (the main listener then omits all but the last two).
 * Returns the listener to close.
 */
export function serveAdmin({ config, app, log }: Booted): Deno.HttpServer | undefined {
  const adminHandler = app.adminHandler;
  if (adminHandler === undefined) return undefined;
  const adminLog = log.getChild("http");
  return Deno.serve({
    port: config.server.adminPort,
    hostname: config.server.hostname,
    onListen({ hostname, port }) {
      adminLog.info(
        "Admin endpoints (/metrics, /status, /console, /debug/) listening on {address}",
        {
          address: toAddress(hostname, port),
        },
      );
    },
  }, adminHandler);
}

/**
 * On SIGINT or SIGTERM: connections drain first (`app.shutdown`, then `closeListener`),
 * then the last spans, metric points, OTLP log records and log lines are flushed, and the process exits 0,
 * or 1 when that takes longer than `PHAROS_SHUTDOWN_TIMEOUT_MS`.
 */
export function drainOnSignals(
  { config, otel, app, log }: Booted,
  closeListener: () => Promise<void> = () => Promise.resolve(),
): void {
  const { tracing } = otel.telemetry;
  const runtimeLog = log.getChild("runtime");
  let stopping = false;
  async function stop(signal: Deno.Signal): Promise<void> {
    if (stopping) return;
    stopping = true;
    const shutdown = tracing.startSpan("runtime", { phase: "shutdown", signal }, { root: true });
    shutdown.run(() => runtimeLog.info("Received {signal}, shutting down", { signal }));
    const deadline = setTimeout(() => {
      runtimeLog.error("Shutdown exceeded {ms} ms; exiting", {
        ms: config.server.shutdownTimeoutMs,
      });
      Deno.exit(1);
    }, config.server.shutdownTimeoutMs);
    await shutdown.run(() => app.shutdown());
    await tracing.inSpan("ws.server", { phase: "shutdown" }, closeListener, { root: true });
    shutdown.end();
    clearTimeout(deadline);
    // Flushes spans, then metrics, then OTLP log records (so this shutdown's records go too),
    // then the buffered log lines.
    await otel[Symbol.asyncDispose]();
    Deno.exit(0);
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => void stop(signal));
    } catch {
      // Not supported here (SIGTERM on Windows, a sandboxed host): the host stops us.
    }
  }
}

/** Formats a listen address as `host:port` (`[v6]:port`). */
export function toAddress(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}
