import { type App, type AppOptions, createApp } from "../../src/app.ts";
import { type Config, parseConfig } from "../../src/config/mod.ts";
import { getLogger } from "../../src/log/mod.ts";
import type { Source } from "../../src/sources/mod.ts";
import type { Stack } from "../../src/stack/mod.ts";
import { type Clock, randomIds, systemClock } from "../../src/util/mod.ts";
import { createRecordingTelemetry, type RecordingTelemetry } from "./recording_telemetry.ts";
import { ManualSource } from "./manual_source.ts";

/** A real Pharos on `Deno.serve`, 127.0.0.1, port 0, fed by a ManualSource. */
export interface TestServer extends AsyncDisposable {
  readonly app: App;
  readonly source: ManualSource;
  readonly telemetry: RecordingTelemetry;
  readonly config: Config;
  readonly port: number;
  /** `ws://<PHAROS_HOST>:<port>` (127.0.0.1 unless the env says otherwise) */
  readonly wsUrl: string;
  /** `http://<PHAROS_HOST>:<port>` */
  readonly httpUrl: string;
}

/** Options for {@link startTestServer}. */
export interface TestServerOptions {
  /** Environment-style overrides, e.g. `{ PHAROS_MAX_CLIENTS: "3" }`. */
  readonly env?: Record<string, string>;
  readonly stack?: Stack;
  readonly extraSources?: readonly Source[];
  /**
   * The app's clock (and its auth's). Default: the system clock. Pass a `FakeClock` to test
   * staleness, heartbeats, expiry, idle timeouts and batching by advancing it; sockets and
   * the event loop still run in real time.
   */
  readonly clock?: Clock;
  /** The process's logging, whose filter `/debug/log` changes (`AppOptions.logging`). */
  readonly logging?: AppOptions["logging"];
}

/** Serves `app` on `hostname` (127.0.0.1), port 0, and starts it; disposing shuts both down. */
async function serve(app: App, hostname = "127.0.0.1") {
  const server = Deno.serve({ port: 0, hostname, onListen() {} }, app.handler);
  await app.start();
  const port = server.addr.port;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    port,
    wsUrl: `ws://${host}:${port}`,
    httpUrl: `http://${host}:${port}`,
    async [Symbol.asyncDispose]() {
      await app.shutdown();
      await server.shutdown();
    },
  };
}

/**
 * The config of a test server: loopback, port 0, and handlers in this process unless the
 * env asks for handler hosts (the stacks tests pass are values, which run in-process anyway).
 */
function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig({
    env: { PORT: "0", PHAROS_HOST: "127.0.0.1", PHAROS_HANDLER_ISOLATION: "inline", ...env },
  });
}

/** The app as `boot.ts` builds it (keys loaded, stack module resolved), with test telemetry. */
function buildApp(
  config: Config,
  telemetry: RecordingTelemetry,
  clock: Clock,
  extra: Pick<AppOptions, "sources" | "stack" | "logging">,
): Promise<App> {
  return createApp({
    config,
    clock,
    ids: randomIds,
    log: getLogger(["pharos"]),
    telemetry,
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    ...extra,
  });
}

/** Starts a real server; dispose it (`await using`) to shut it down cleanly. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const config = testConfig(options.env);
  const telemetry = createRecordingTelemetry();
  const source = new ManualSource();
  const app = await buildApp(config, telemetry, options.clock ?? systemClock, {
    sources: [source, ...(options.extraSources ?? [])],
    ...(options.stack === undefined ? {} : { stack: options.stack }),
    ...(options.logging === undefined ? {} : { logging: options.logging }),
  });
  return {
    app,
    source,
    telemetry,
    config,
    ...(await serve(app)),
  };
}

/** A real server whose sources come from its config, as `main.ts` builds them. */
export interface EnvServer extends AsyncDisposable {
  readonly app: App;
  readonly telemetry: RecordingTelemetry;
  readonly port: number;
  /** `ws://<PHAROS_HOST>:<port>` (127.0.0.1 unless the env says otherwise) */
  readonly wsUrl: string;
  /** `http://<PHAROS_HOST>:<port>` */
  readonly httpUrl: string;
}

/**
 * Starts a server configured by `env` (e.g. `{ PHAROS_SOURCES: "ingest", … }`), with no
 * ManualSource: the ingest endpoint, replay and upstream sources are the real ones.
 */
export async function startEnvServer(
  env: Record<string, string>,
  stack?: Stack,
  clock: Clock = systemClock,
): Promise<EnvServer> {
  const telemetry = createRecordingTelemetry();
  const config = testConfig(env);
  const app = await buildApp(config, telemetry, clock, stack === undefined ? {} : { stack });
  return { app, telemetry, ...(await serve(app, config.server.hostname)) };
}
