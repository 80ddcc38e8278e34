/**
 * `initWithOtel` against real sockets: a real OTLP/HTTP receiver (failing, then answering), a
 * collector that is down or accepts connections and never answers, and a child Deno process
 * exporting through the runtime's own OpenTelemetry (`OTEL_DENO=true`).
 */
import assert from "node:assert/strict";
import { metrics, propagation, trace } from "@opentelemetry/api";
import {
  initWithOtel,
  METRIC_DEFINITIONS,
  type OtelGuard,
  type OtelInitOptions,
  TelemetryConfig,
} from "../../src/telemetry/mod.ts";
import { parsePrometheusText } from "../fakes/prometheus_text.ts";
import { captureOutput, exercise, globalTracingIsLive } from "../fakes/otel_probe.ts";
import { startOtlpReceiver } from "../fakes/otlp_receiver.ts";
import { toPrometheusName } from "../fakes/prometheus_names.ts";
import { until, within } from "../wait.ts";
import { closedPort } from "./_helpers.ts";

/** Fast export settings for tests. */
const FAST = {
  OTEL_EXPORTER_OTLP_TIMEOUT: "300",
  OTEL_BSP_SCHEDULE_DELAY: "20",
  OTEL_BLRP_SCHEDULE_DELAY: "20",
  OTEL_METRIC_EXPORT_INTERVAL: "100",
};

const config = new TelemetryConfig("pharos-test").withJsonLogs(true);

async function failures(guard: OtelGuard, signal: string): Promise<number> {
  const family = parsePrometheusText(await guard.renderMetrics()).get(
    "telemetry_export_failures_total",
  );
  return family?.samples.find((s) => s.labels["signal"] === signal)?.value ?? -1;
}

Deno.test("collector down: recording, /metrics and disposal never throw; failures counted and warned", async () => {
  const output = captureOutput();
  const guard = await initWithOtel(config, {
    env: { ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort()}` },
    writable: output.writable,
  });
  assert.equal(guard.mode, "sdk");
  for (let i = 0; i < 5; i++) await exercise(guard.telemetry);
  await until(async () => (await failures(guard, "traces")) >= 1, "a traces failure");
  await until(async () => (await failures(guard, "metrics")) >= 2, "two metrics failures");
  await until(async () => (await failures(guard, "logs")) >= 1, "a logs failure");
  await guard[Symbol.asyncDispose]();
  await guard[Symbol.asyncDispose](); // idempotent

  const warnings = output.lines().filter((l) =>
    l["level"] === "WARN" && l["target"] === "pharos.telemetry"
  );
  assert.deepEqual(
    warnings.map((w) => w["signal"]).sort(),
    ["logs", "metrics", "traces"],
    "once each",
  );
  assert.match(String(warnings[0]!["error"]), /ECONNREFUSED/);
  assert.equal(globalTracingIsLive(), false, "globals unregistered");
});

Deno.test("real collector: spans and metrics arrive under catalog names, and export resumes", async () => {
  await using receiver = await startOtlpReceiver({ failWith: 500 });
  const output = captureOutput();
  await using guard = await initWithOtel(config, {
    env: {
      ...FAST,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test",
    },
    serviceVersion: "0.1.0",
    writable: output.writable,
  });
  const traceparent = await exercise(guard.telemetry);
  await until(async () => (await failures(guard, "metrics")) >= 1, "a metrics failure");

  receiver.setFailure(undefined);
  await receiver.waitFor(
    (r) => (r.lastMetric("telemetry_export_failures_total")?.points.length ?? 0) > 0,
    5000,
    "metrics after the collector came back",
  );
  guard.telemetry.tracing.inSpan("runtime", { service: "pharos" }, () => {}, { root: true });
  await receiver.waitFor((r) => r.spans().some((s) => s.name === "runtime"), 5000, "spans");

  const failed = receiver.lastMetric("telemetry_export_failures_total")!;
  const metricsFailures = failed.points.find((p) => p.attributes["signal"] === "metrics");
  assert.ok((metricsFailures?.value ?? 0) >= 1, "the failures themselves reach the collector");

  // Every name over the wire translates to its catalog name (the instrument name itself);
  // the only others are the SDK's own span- and log-queue metrics.
  const catalog = new Set(Object.values(METRIC_DEFINITIONS).map((d) => d.name));
  for (const metric of receiver.metrics()) {
    const name = toPrometheusName(metric);
    if (name.startsWith("otel_sdk_processor_span_")) continue;
    if (name.startsWith("otel_sdk_processor_log_")) continue;
    assert.ok(catalog.has(name), `${metric.name} (${metric.unit}) → ${name}`);
    assert.equal(name, metric.name);
  }
  for (
    const name of ["ws_connections_total", "frames_published_total", "process_cpu_seconds_total"]
  ) {
    assert.ok(receiver.lastMetric(name), `${name} was exported`);
  }
  const connections = receiver.lastMetric("ws_connections_total")!;
  assert.equal(connections.type, "sum");
  assert.equal(connections.monotonic, true);
  assert.equal(connections.temporality, "cumulative");
  assert.equal(connections.resource["service.name"], "pharos-test");
  assert.equal(connections.resource["service.version"], "0.1.0");
  assert.equal(connections.resource["deployment.environment"], "test");
  assert.equal(connections.scope.name, "pharos");

  // The spans: failed batches were dropped while the collector failed, so look at the last.
  const runtime = receiver.spans().find((s) => s.name === "runtime")!;
  assert.equal(runtime.parentSpanId, "");
  assert.equal(runtime.resource["service.name"], "pharos-test");
  assert.equal(runtime.scope.name, "pharos");
  assert.ok(traceparent?.startsWith("00-"));

  await guard[Symbol.asyncDispose](); // flushes the log writer too
  const lines = output.lines();
  assert.ok(
    lines.some((l) => l["level"] === "INFO" && /metrics export resumed/.test(String(l["message"]))),
    "resumption is logged",
  );
  const subscribed = lines.find((l) => l["message"] === "Client c1 subscribed");
  assert.ok(subscribed, "the log line inside the span");
  assert.equal(subscribed["trace_id"], traceparent!.split("-")[1], "logs carry the trace id");
  assert.deepEqual(subscribed["span"], { name: "ws.connection" });
});

Deno.test("disposal flushes queued spans and exports the last metrics", async () => {
  await using receiver = await startOtlpReceiver();
  const guard = await initWithOtel(config, {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      // Nothing would leave on its own during the test.
      OTEL_BSP_SCHEDULE_DELAY: "600000",
      OTEL_METRIC_EXPORT_INTERVAL: "600000",
    },
    writable: captureOutput().writable,
  });
  await exercise(guard.telemetry);
  guard.telemetry.ws.framesSent(7);
  assert.equal(receiver.requests, 0);
  await guard[Symbol.asyncDispose]();
  assert.deepEqual(
    receiver.spans().map((s) => s.name).sort(),
    ["ws.connection", "ws.subscribe.state"],
  );
  const connection = receiver.spans().find((s) => s.name === "ws.connection")!;
  const child = receiver.spans().find((s) => s.name === "ws.subscribe.state")!;
  assert.equal(child.parentSpanId, connection.spanId);
  assert.equal(connection.kind, "server");
  assert.equal(receiver.lastMetric("ws_messages_sent_total")?.points[0]?.value, 7);
});

Deno.test("OTEL_SDK_DISABLED: no spans, no globals, /metrics still works", async () => {
  await using receiver = await startOtlpReceiver();
  await using guard = await initWithOtel(config, {
    env: { OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
    writable: captureOutput().writable,
  });
  assert.equal(guard.mode, "disabled");
  assert.equal(globalTracingIsLive(), false);
  const traceparent = await exercise(guard.telemetry);
  assert.equal(traceparent, undefined);
  assert.match(await guard.renderMetrics(), /^ws_connections_total 1$/m);
  assert.equal(receiver.requests, 0);
});

Deno.test("OTEL_DENO=true: no SDK installed, runtime providers used, /metrics from a local reader", async () => {
  await using receiver = await startOtlpReceiver();
  const before = { tracer: trace.getTracerProvider(), meter: metrics.getMeterProvider() };
  const guard = await initWithOtel(config, {
    env: { ...FAST, OTEL_DENO: "true", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
    writable: captureOutput().writable,
  });
  assert.equal(guard.mode, "deno");
  assert.equal(globalTracingIsLive(), false, "no tracer provider registered");
  assert.equal(trace.getTracerProvider(), before.tracer);
  assert.equal(metrics.getMeterProvider(), before.meter);
  assert.deepEqual(propagation.fields(), [], "no propagator registered");
  await exercise(guard.telemetry);
  assert.match(await guard.renderMetrics(), /^ws_connections_total 1$/m);
  // Disposal flushes every exporter Pharos made: what it would export has arrived after it.
  await guard[Symbol.asyncDispose]();
  // Spans and metrics are the runtime's; the runtime has no logs API, so Pharos exports its
  // log records itself (and only those).
  const paths = new Set(receiver.received().map((r) => r.path));
  assert.deepEqual([...paths], ["/v1/logs"], "Pharos itself exports only log records");
  assert.ok(
    receiver.logs().some((r) => r.body === "OpenTelemetry set up (deno mode)"),
    "log records arrive",
  );
});

Deno.test("a full span queue drops spans and counts them", async () => {
  await using receiver = await startOtlpReceiver();
  await using guard = await initWithOtel(config, {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_MAX_QUEUE_SIZE: "2",
      OTEL_BSP_SCHEDULE_DELAY: "600000",
      OTEL_METRIC_EXPORT_INTERVAL: "600000",
    },
    writable: captureOutput().writable,
  });
  // Spans 1-2 fill a batch and leave at once; 3-4 wait behind that export; 5-7 are dropped.
  for (let i = 0; i < 7; i++) guard.telemetry.tracing.inSpan("bus.cleanup", {}, () => {});
  const family = parsePrometheusText(await guard.renderMetrics()).get(
    "otel_sdk_processor_span_processed_total",
  );
  const dropped = family?.samples.find((s) => s.labels["error_type"] === "queue_full");
  assert.equal(dropped?.value, 3);
});

Deno.test("initWithOtel options: functionCallMetrics and the shutdown budget", async () => {
  // A collector that accepts connections but never answers: disposal must not wait for it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  /** Each connection read until its client gives up on it (the export's own timeout). */
  const abandoned: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      held.push(conn);
      abandoned.push((async () => {
        const buffer = new Uint8Array(64 * 1024);
        while ((await conn.read(buffer)) !== null) { /* the request, never answered */ }
      })());
    }
  })();
  const output = captureOutput();
  const options: OtelInitOptions = {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${listener.addr.port}`,
      OTEL_EXPORTER_OTLP_TIMEOUT: "500",
      OTEL_BSP_SCHEDULE_DELAY: "600000",
      OTEL_METRIC_EXPORT_INTERVAL: "600000",
    },
    functionCallMetrics: true,
    shutdownTimeoutMs: 100,
    writable: output.writable,
  };
  const guard = await initWithOtel(config, options);
  guard.telemetry.vm.handlerDuration("Token", "transfer", 0.001);
  assert.match(await guard.renderMetrics(), /handler_call_duration_seconds_count\{entity="Token"/);
  await exercise(guard.telemetry);
  const started = performance.now();
  await guard[Symbol.asyncDispose]();
  const took = performance.now() - started;
  assert.ok(took < 450, `disposal took ${took} ms, longer than the budget allows`);
  assert.match(output.text(), /did not finish in time/);
  assert.equal(globalTracingIsLive(), false);
  // The abandoned exports end at their own timeout (500 ms), when their clients close.
  listener.close();
  await accepting;
  await within(5_000, "the abandoned exports to give up", Promise.all(abandoned));
  for (const conn of held) conn.close();
});

Deno.test("OTEL_DENO=true in a real process: the runtime exports everything once", async () => {
  await using receiver = await startOtlpReceiver();
  const mod = new URL("../../src/telemetry/mod.ts", import.meta.url).href;
  const logMod = new URL("../../src/log/mod.ts", import.meta.url).href;
  const script = await Deno.makeTempFile({
    dir: "/tmp",
    prefix: "pharos-otel-deno-",
    suffix: ".ts",
  });
  try {
    await Deno.writeTextFile(
      script,
      `import { initWithOtel, TelemetryConfig } from ${JSON.stringify(mod)};
import { getLogger } from ${JSON.stringify(logMod)};
const guard = await initWithOtel(new TelemetryConfig("pharos-child"), { env: Deno.env.toObject() });
const t = guard.telemetry;
for (let i = 0; i < 3; i++) t.ws.connectionOpened();
t.vm.stateTableAtCapacity("Token", true);
await t.tracing.inSpan("ws.connection", { "client.id": "c1" }, async () => {
  await new Promise((r) => setTimeout(r, 5)); // a timer hop: the context must survive it
  t.tracing.inSpan("ws.subscribe.state", {}, () => {});
  getLogger(["pharos", "ws"]).info("Inside {what}", { what: "the connection" });
}, { root: true, kind: "server" });
// Real time for a real process: the runtime reads observable instruments only on its own
// periodic collections (OTEL_METRIC_EXPORT_INTERVAL=100), and this child cannot see them.
await new Promise((r) => setTimeout(r, 400));
console.log(JSON.stringify({ mode: guard.mode, metrics: await guard.renderMetrics() }));
await guard[Symbol.asyncDispose]();
`,
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        new URL("../../deno.json", import.meta.url).pathname,
        "--allow-env",
        "--allow-read",
        "--allow-net",
        script,
      ],
      env: {
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_METRIC_EXPORT_INTERVAL: "100",
        // What `deno task start:otel` sets when it is unset: the runtime reads it at start.
        OTEL_SERVICE_NAME: "pharos-child",
        NO_COLOR: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.ok(output.success, stderr);
    const stdout = new TextDecoder().decode(output.stdout).trim().split("\n");
    const child = JSON.parse(stdout.at(-1)!) as { mode: string; metrics: string };
    assert.equal(child.mode, "deno");
    assert.match(child.metrics, /^ws_connections_total 3$/m, "/metrics from the local reader");

    await receiver.waitFor((r) => r.spans().length >= 2, 5000, "the child's spans");
    const spans = receiver.spans().filter((s) => s.scope.name === "pharos");
    assert.deepEqual(spans.map((s) => s.name).sort(), ["ws.connection", "ws.subscribe.state"]);
    const connection = spans.find((s) => s.name === "ws.connection")!;
    const subscribe = spans.find((s) => s.name === "ws.subscribe.state")!;
    assert.equal(subscribe.parentSpanId, connection.spanId, "the runtime's context manager nests");
    assert.equal(connection.kind, "server");

    // Each export carries one ws_connections_total series with the true value: recorded once
    // to the runtime's meter; the local /metrics provider never exports.
    const exported = receiver.metrics().filter((m) =>
      m.scope.name === "pharos" && m.name === "ws_connections_total"
    );
    assert.ok(exported.length > 0);
    for (const metric of exported) assert.deepEqual(metric.points.map((p) => p.value), [3]);
    const gauge = receiver.lastMetric("state_table_at_capacity");
    assert.equal(gauge?.points[0]?.value, 1);
    assert.equal(gauge?.points[0]?.attributes["entity"], "Token");

    // The runtime has no logs API: Pharos's own exporter sends the records, once, with the
    // ids of the runtime's span they were made in, under the same service name.
    await receiver.waitFor(
      (r) => r.logs().some((l) => l.body === "Inside the connection"),
      5000,
      "the child's log record",
    );
    const inside = receiver.logs().filter((l) => l.body === "Inside the connection");
    assert.equal(inside.length, 1, "exported once");
    assert.equal(inside[0]!.attributes["target"], "pharos.ws");
    assert.equal(inside[0]!.attributes["what"], "the connection");
    assert.equal(inside[0]!.traceId, connection.traceId);
    assert.equal(inside[0]!.spanId, connection.spanId);
    for (const resource of [connection.resource, exported[0]!.resource, inside[0]!.resource]) {
      assert.equal(resource["service.name"], "pharos-child");
    }
  } finally {
    await Deno.remove(script);
  }
});
