/**
 * A real Pharos on `Deno.serve` (127.0.0.1, port 0) whose sources come from its
 * environment-style config, the way `main.ts` builds them (`PHAROS_SOURCES=ingest`, …),
 * unlike `startTestServer`, which always runs a ManualSource instead.
 */
import { type App, createApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config/mod.ts";
import { getLogger } from "../../src/log/mod.ts";
import type { Stack } from "../../src/stack/mod.ts";
import { randomIds, systemClock } from "../../src/util/mod.ts";
import { createRecordingTelemetry } from "../fakes/recording_telemetry.ts";

/** A running server built from config; dispose it to shut it down. */
export interface EnvServer extends AsyncDisposable {
  readonly app: App;
  /** `ws://127.0.0.1:<port>` */
  readonly wsUrl: string;
  /** `http://127.0.0.1:<port>` */
  readonly httpUrl: string;
}

/** Starts a server configured by `env` (e.g. `{ PHAROS_SOURCES: "ingest", … }`). */
export async function startEnvServer(
  env: Record<string, string>,
  stack?: Stack,
): Promise<EnvServer> {
  const config = parseConfig({ env: { PORT: "0", PHAROS_HOST: "127.0.0.1", ...env } });
  const app = createApp({
    config,
    clock: systemClock,
    ids: randomIds,
    log: getLogger(["pharos"]),
    telemetry: createRecordingTelemetry(),
    ...(stack === undefined ? {} : { stack }),
  });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.handler);
  await app.start();
  const port = server.addr.port;
  return {
    app,
    wsUrl: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      await app.shutdown();
      await server.shutdown();
    },
  };
}
