/**
 * The Pharos server process: reads the environment and flags, sets up logging and
 * OpenTelemetry, serves the app on its own `Deno.serve` listener, and drains on
 * SIGINT/SIGTERM. (`serve.ts` is the same server for `deno serve`.) Inside a `deno compile`
 * executable, the same file is also the handler host: the server starts the executable
 * again with `--pharos-handler-host`.
 * @module
 */
import { boot, drainOnSignals, serveAdmin, toAddress } from "./boot.ts";
import { HOST_FLAG } from "./src/sandbox/mod.ts";

/** Runs the server. */
async function serve(): Promise<void> {
  const booted = await boot("main");
  const { config, app, log, startup } = booted;
  const { tracing } = booted.otel.telemetry;

  const serverLog = log.getChild(["ws", "server"]);
  const server = tracing.inSpan("ws.server", { phase: "startup" }, (span) =>
    Deno.serve({
      port: config.server.port,
      hostname: config.server.hostname,
      onListen({ hostname, port }) {
        app.listening(port);
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
}

if (Deno.args[0] === HOST_FLAG) {
  // Imported only here: the host's prelude takes over `console` for the guest code.
  const { runStandaloneHost } = await import("./src/sandbox/standalone_host.ts");
  await runStandaloneHost(Deno.args[1] ?? "{}");
} else {
  await serve();
}
