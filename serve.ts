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
import { boot, drainOnSignals, serveAdmin, toAddress } from "./boot.ts";

const booted = await boot("deno serve");
const { app, log, startup } = booted;
const { tracing } = booted.otel.telemetry;
// PHAROS_ADMIN_PORT works here too: the admin listener is ours, not the host's.
const admin = serveAdmin(booted);
// Sources start before the first request can arrive; /ready says when they are healthy.
await app.start();
startup.end();
// The main listener belongs to `deno serve` and closes when the process exits.
drainOnSignals(booted, async () => {
  await admin?.shutdown();
});

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
    app.listening(port);
    const address = toAddress(hostname, port);
    tracing.inSpan(
      "ws.server",
      { phase: "startup", "server.address": address },
      () => serverLog.info("WebSocket server listening on {address}", { address }),
      { root: true },
    );
  },
} satisfies Deno.ServeDefaultExport;
