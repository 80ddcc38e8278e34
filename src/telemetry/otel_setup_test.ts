import assert from "node:assert/strict";
import { context, metrics, propagation, trace } from "@opentelemetry/api";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { captureOutput, exercise, globalTracingIsLive } from "../../tests/fakes/otel_probe.ts";
import { initWithOtel } from "./otel_setup.ts";
import { createOtelTelemetry } from "./otel_telemetry.ts";
import { createMetricsEndpoint } from "./prometheus.ts";
import { TelemetryConfig } from "./telemetry_config.ts";

// The set-up against a real OTLP receiver, a collector that is down or stalls, and a child
// process with the runtime's own OpenTelemetry: tests/integration/otel_setup_test.ts.

const config = new TelemetryConfig("pharos-test").withJsonLogs(true);

Deno.test("no endpoint: nothing is exported, spans still correlate logs, /metrics works", async () => {
  const output = captureOutput();
  const guard = await initWithOtel(config, { writable: output.writable });
  assert.equal(guard.settings.traces, undefined);
  assert.equal(guard.settings.metrics, undefined);
  assert.ok(globalTracingIsLive(), "the SDK is installed globally");
  assert.equal(propagation.fields().includes("traceparent"), true);
  const traceparent = await exercise(guard.telemetry);
  const text = await guard.metricsText();
  assert.match(text, /^ws_connections_total 1$/m);
  assert.doesNotMatch(text, /telemetry_export_failures_total/, "no exporters, no failure counter");
  assert.match(text, /^target_info\{.*service_name="pharos-test"/m);
  await guard[Symbol.asyncDispose]();
  assert.equal(globalTracingIsLive(), false);
  assert.deepEqual(propagation.fields(), []);
  const line = output.lines().find((l) => l["message"] === "Client c1 subscribed");
  assert.equal(line?.["trace_id"], traceparent!.split("-")[1]);
});

Deno.test("bring your own providers: nothing global is installed", async () => {
  const before = {
    tracer: trace.getTracerProvider(),
    meter: metrics.getMeterProvider(),
    fields: propagation.fields(),
  };
  const spans = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
  });
  const endpoint = createMetricsEndpoint();
  const meterProvider = new MeterProvider({ readers: [endpoint.reader] });
  const telemetry = createOtelTelemetry({ meterProvider, tracerProvider });

  await exercise(telemetry);
  assert.equal(trace.getTracerProvider(), before.tracer);
  assert.equal(metrics.getMeterProvider(), before.meter);
  assert.deepEqual(propagation.fields(), before.fields);
  assert.equal(globalTracingIsLive(), false);
  // No context manager was registered: context.with is the no-op default.
  const key = Symbol("k");
  const ctx = context.active().setValue(key, 1);
  assert.equal(context.with(ctx, () => context.active().getValue(key)), undefined);

  assert.deepEqual(spans.getFinishedSpans().map((s) => s.name).sort(), [
    "ws.connection",
    "ws.subscribe.state",
  ]);
  assert.match(await endpoint.render(), /^ws_connections_total 1$/m);
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
});
