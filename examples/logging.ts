/**
 * Pharos's logs as JSON Lines with a per-target filter (the seed's logging example):
 *
 *   deno task example:logging
 *
 * `init` configures LogTape for the `pharos` category: JSON output and the RUST_LOG-style
 * filter `info,pharos.ws=debug` (everything at info, the WebSocket sessions at debug). The
 * example runs a Pharos app with the demo source for a moment, connects a client that sends
 * one subscribe and one malformed message (logged at debug), then shuts down and disposes the
 * logging handle, which flushes the buffered lines. Every stdout line is one JSON object.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  createApp,
  init,
  noopTelemetry,
  parseConfig,
  randomIds,
  systemClock,
  TelemetryConfig,
} from "../src/mod.ts";

// Disposed last (`await using`): flushes what the background writer still holds.
await using _logging = await init(
  new TelemetryConfig("pharos").withJsonLogs(true).withLogFilter("info,pharos.ws=debug"),
);
// The host's own lines go through the same pipeline when logged under `pharos`.
const log = getLogger(["pharos", "example"]);

const app = await createApp({
  // The demo source: 50 Transfer events/s over 5 tokens. Its debug lines stay hidden.
  config: parseConfig({
    // Handlers run in this process: the example runs without --allow-run for a handler host.
    env: { PHAROS_DEMO_RATE: "50", PHAROS_DEMO_KEYS: "5", PHAROS_HANDLER_ISOLATION: "inline" },
  }),
  clock: systemClock,
  ids: randomIds,
  log: getLogger(["pharos"]),
  telemetry: noopTelemetry,
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.handler);
await app.start();
log.info("Example server on port {port}", { port: server.addr.port });

const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
await new Promise((resolve) => (ws.onopen = resolve));
ws.send(JSON.stringify({ type: "subscribe", view: "Token/list" })); // INFO pharos.ws
ws.send("not json"); // DEBUG pharos.ws: ignored message
await new Promise((resolve) => setTimeout(resolve, 300));
ws.close(1000, "example done");
await new Promise((resolve) => (ws.onclose = resolve));
await new Promise((resolve) => setTimeout(resolve, 50)); // the server logs the disconnect

await app.shutdown();
await server.shutdown();
log.info("Example done");
