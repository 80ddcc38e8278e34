/**
 * The Pharos server process: reads the environment and flags, sets up logging and
 * OpenTelemetry, serves the app on its own `Deno.serve` listener, and drains on
 * SIGINT/SIGTERM. (`serve.ts` is the same server for `deno serve`.)
 * @module
 */
import { boot, drainOnSignals, serveAdmin, toAddress } from "./boot.ts";

const booted = await boot("main");
const { config, app, log, startup } = booted;
const { tracing } = booted.otel.telemetry;

const serverLog = log.getChild(["ws", "server"]);
const server = tracing.inSpan("ws.server", { phase: "startup" }, (span) =>
  Deno.serve({
    port: config.server.port,
    hostname: config.server.hostname,
    onListen({ hostname, port }) {
      span.setAttribute("server.address", toAddress(hostname, port));
      serverLog.info("WebSocket server listening on {address}", {
        address: toAddress(hostname, port),
      });
    },
  }, app.handler), { root: true });
const admin = serveAdmin(booted);
await app.start();
startup.end();
drainOnSignals(booted, async () => {
  await Promise.all([server.shutdown(), admin?.shutdown()]);
});
