/**
 * Ship Pharos's spans, metrics and log records to an OpenTelemetry collector over OTLP
 * http/protobuf (the seed's otlp_tracing example):
 *
 *   deno task example:otlp_tracing                              # http://localhost:4318
 *   deno task example:otlp_tracing http://collector:4318 --seconds 30
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 deno task example:otlp_tracing
 *
 * It runs a Pharos app with the demo source and one WebSocket subscriber for `--seconds`
 * (default 5), then disposes the guard, which flushes the last spans, metrics and log records.
 * The endpoint must take all three signals (`/v1/traces`, `/v1/metrics`, `/v1/logs`): the
 * compose stack's collector does (`docker compose up --build`, or `docker compose up
 * otel-collector`, which brings up Jaeger and Loki with it). It passes the traces to Jaeger
 * (http://localhost:16686, service `pharos-example`), the log records to Loki (Grafana,
 * http://localhost:3000, Explore) and the metrics to its Prometheus exporter. A receiver that
 * takes only traces (Jaeger's own OTLP port) refuses the other two, which shows as
 * export-failure warnings. A collector that is down costs nothing but a warning: export
 * failures never stop the app.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  createApp,
  initWithOtel,
  parseConfig,
  randomIds,
  systemClock,
  TelemetryConfig,
} from "../src/mod.ts";

// Arguments: [collector URL] [--seconds N].
const args = [...Deno.args];
const at = args.indexOf("--seconds");
const seconds = at < 0 ? 5 : Number(args.splice(at, 2)[1]);
if (!(seconds > 0)) throw new RangeError("--seconds needs a positive number");
const endpoint = args[0] ?? Deno.env.get("OTEL_EXPORTER_OTLP_ENDPOINT") ?? "http://localhost:4318";

// Logging (text) and the OpenTelemetry SDK: spans to `${endpoint}/v1/traces`, metrics to
// `${endpoint}/v1/metrics`, every record the log filter lets through to `${endpoint}/v1/logs`.
// Disposing the guard flushes all three (bounded: 5 s by default).
await using otel = await initWithOtel(
  new TelemetryConfig("pharos-example").withOtlpEndpoint(endpoint),
  { env: { OTEL_METRIC_EXPORT_INTERVAL: "1000" } }, // OTEL_* settings; main.ts passes Deno.env
);
const log = getLogger(["pharos", "example"]);

const app = await createApp({
  config: parseConfig({
    // Handlers run in this process: the example runs without --allow-run for a handler host.
    env: { PHAROS_DEMO_RATE: "20", PHAROS_DEMO_KEYS: "5", PHAROS_HANDLER_ISOLATION: "inline" },
  }),
  clock: systemClock,
  ids: randomIds,
  log: getLogger(["pharos"]),
  telemetry: otel.telemetry,
  metrics: otel.renderMetrics,
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.handler);
await app.start();
log.info("Sending telemetry to {endpoint} for {seconds} s", { endpoint, seconds });

// One subscriber: a ws.connection trace with a ws.subscribe.list child, and publish spans.
const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
await new Promise((resolve) => (ws.onopen = resolve));
ws.send(JSON.stringify({ type: "subscribe", view: "Token/list" }));
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
ws.close(1000, "example done");
await new Promise((resolve) => (ws.onclose = resolve));
await new Promise((resolve) => setTimeout(resolve, 50)); // the server ends ws.connection

await app.shutdown();
await server.shutdown();
log.info("Done; flushing spans, metrics and log records");
// `otel` is disposed here (end of module scope): the last spans, metrics and records are exported.
