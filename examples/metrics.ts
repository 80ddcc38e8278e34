// deno-lint-ignore-file no-console -- an example prints what it measured
/**
 * Pharos metrics in the host application's own MeterProvider (the seed's "use my registry"):
 *
 *   deno task example:metrics
 *
 * The host builds one MeterProvider with a Prometheus-text reader, hands it to Pharos through
 * `createOtelTelemetry`, records a metric of its own in the same provider, runs a Pharos app
 * in-process (port 0), pushes a few events, subscribes a WebSocket client, and finally prints
 * selected series as `GET /metrics` would show them. Nothing global is installed.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import {
  createApp,
  createMetricsEndpoint,
  createOtelTelemetry,
  parseConfig,
  type PharosEvent,
  randomIds,
  type Source,
  systemClock,
} from "../src/mod.ts";

// 1. The host's registry: one MeterProvider whose reader renders Prometheus text on demand.
const endpoint = createMetricsEndpoint();
const meterProvider = new MeterProvider({ readers: [endpoint.reader] });
const telemetry = createOtelTelemetry({ meterProvider, tracerProvider: new TracerProvider() });
// The host's own metrics live in the same registry, next to Pharos's.
const runs = meterProvider.getMeter("example-host").createCounter("example_host_runs_total", {
  description: "Runs of this example",
});
runs.add(1);

// 2. A source the example drives by hand: `push` resolves once the event has been processed.
let sink: ((event: PharosEvent) => Promise<void>) | undefined;
const source: Source = {
  name: "example",
  kind: "manual",
  stream: "events pushed by examples/metrics.ts",
  start(context) {
    sink = context.sink;
    context.onStatus("connected");
    return Promise.resolve();
  },
  stop: () => Promise.resolve(),
};
const push = (event: PharosEvent) => sink!(event);

// 3. Pharos in-process, on a free port, with the built-in demo Token stack.
const app = await createApp({
  config: parseConfig({
    // Handlers run in this process: the example runs without --allow-run for a handler host.
    env: { PHAROS_HANDLER_ISOLATION: "inline" },
  }),
  clock: systemClock,
  ids: randomIds,
  log: getLogger(["pharos"]), // LogTape is not configured here: Pharos stays quiet
  telemetry,
  sources: [source],
  metrics: () => endpoint.render(), // also serve GET /metrics
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.handler);
await app.start();

// 4. A WebSocket subscriber on Token/list, then three Transfer events for two tokens.
const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
let frames = 0;
ws.onmessage = () => frames++;
await new Promise((resolve) => (ws.onopen = resolve));
ws.send(JSON.stringify({ type: "subscribe", view: "Token/list" }));
const deadline = Date.now() + 5000;
const wait = async (done: () => boolean) => {
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
};
await wait(() => frames >= 1); // the `subscribed` ack: the subscription is live
for (const [slot, mint] of [[1, "mintA"], [2, "mintB"], [3, "mintA"]] as const) {
  await push({ type: "Transfer", slot, data: { mint, from: "alice", to: "bob", amount: "5" } });
}
await wait(() => frames >= 4); // the ack and three live patches
ws.close();
await wait(() => app.ws.clientCount === 0);
console.log(`subscriber received ${frames} frames (subscribed ack + live patches)`);

// 5. What the host's registry now holds (the same text GET /metrics serves).
const scrape = await fetch(`http://127.0.0.1:${server.addr.port}/metrics`);
console.log(`GET /metrics -> ${scrape.status}, ${(await scrape.text()).length} bytes`);
const wanted = [
  "example_host_runs_total",
  "ws_connections_total",
  "ws_disconnections_total",
  "ws_messages_sent_total",
  "subscriptions_created_total",
  "source_events_total",
  "mutations_processed_total",
  "frames_published_total",
  "projector_latency_seconds_count",
  "process_resident_memory_bytes",
];
for (const line of (await endpoint.render()).split("\n")) {
  if (wanted.some((name) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))) {
    console.log(line);
  }
}

await app.shutdown();
await server.shutdown();
await meterProvider.shutdown();
