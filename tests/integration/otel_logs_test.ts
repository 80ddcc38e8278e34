/**
 * Logs over OTLP end to end: a real Pharos process sends every log record its filter allows
 * to a real OTLP/HTTP receiver (decoded with the official proto definitions), with severity,
 * target, structured attributes and the ids of the span the record was made in;
 * `OTEL_LOGS_EXPORTER=none` sends none; an unreachable collector is counted and survived.
 */
import assert from "node:assert/strict";
import { type DecodedLogRecord, startOtlpReceiver } from "../fakes/otlp_receiver.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { until } from "../wait.ts";
import { closedPort, postIngest, sample } from "./_helpers.ts";

const TOKEN = "otel-logs-test-token";
const PRODUCER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

const SERVER_ENV = {
  PORT: "0",
  PHAROS_HOST: "127.0.0.1",
  PHAROS_STACK: "tests/fixtures/otel_stack.ts",
  PHAROS_SOURCES: "ingest",
  PHAROS_INGEST_TOKEN: TOKEN,
  PHAROS_LOG_FORMAT: "json",
  OTEL_BSP_SCHEDULE_DELAY: "100",
  OTEL_BLRP_SCHEDULE_DELAY: "100",
  OTEL_METRIC_EXPORT_INTERVAL: "500",
};

function bodyOf(record: DecodedLogRecord): string {
  return typeof record.body === "string" ? record.body : JSON.stringify(record.body);
}

Deno.test("OTLP logs: records carry severity, target, attributes and their span's ids", async (t) => {
  await using receiver = await startOtlpReceiver();
  await using server = spawnServer({
    ...SERVER_ENV,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: "pharos-logs-test",
  });
  const port = await server.port;
  await ingest(port, [{ type: "Fail", slot: 12, data: { mint: "mintLogs" } }], {
    traceparent: `00-${PRODUCER_TRACE}-00f067aa0ba902b7-01`,
  });
  const failed = (r: DecodedLogRecord) => /^Handler .* failed \(refused\)/.test(bodyOf(r));
  await receiver.waitFor((r) => r.logs().some(failed), 10_000, "the handler failure record");
  await receiver.waitFor(
    (r) => r.spans().some((s) => s.name === "vm.process_event" && s.traceId === PRODUCER_TRACE),
    10_000,
    "the failing event's span",
  );
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());
  const logs = receiver.logs();
  const spans = receiver.spans();

  await t.step("a handler failure: WARN, target pharos.vm, fields as attributes", () => {
    const record = logs.find(failed)!;
    assert.equal(record.severityNumber, 13);
    assert.equal(record.severityText, "WARN");
    assert.equal(record.attributes["target"], "pharos.vm");
    assert.equal(record.attributes["code"], "refused");
    assert.equal(record.attributes["event_type"], "Fail");
    assert.equal(record.attributes["slot"], 12, "numbers stay numbers");
    assert.equal(record.attributes["error"], "refused on purpose");
    assert.equal(
      record.body,
      `Handler ${record.attributes["entity"]}.Fail failed (refused): ` +
        "refused on purpose",
    );
    assert.deepEqual(record.scope, { name: "pharos", version: "0.1.0" });
    assert.equal(record.resource["service.name"], "pharos-logs-test");
    assert.notEqual(record.timeUnixNano, "0");
  });

  await t.step("…made inside its event's span, whose ids it carries", () => {
    const record = logs.find(failed)!;
    const span = spans.find((s) => s.spanId === record.spanId);
    assert.ok(span, `a span ${record.spanId} was exported`);
    assert.equal(span.name, "vm.process_event");
    assert.equal(record.traceId, PRODUCER_TRACE, "the producer's trace, continued");
    assert.equal(span.traceId, record.traceId);
    assert.equal(record.flags & 1, 1, "sampled");
  });

  await t.step("lifecycle records, INFO, with the same fields as the JSON lines", () => {
    const starting = logs.find((r) => r.body === "Starting Pharos runtime");
    assert.ok(starting, "the first record of the process");
    assert.equal(starting.severityNumber, 9);
    assert.equal(starting.severityText, "INFO");
    assert.equal(starting.attributes["target"], "pharos.runtime");
    assert.equal(starting.attributes["version"], "0.1.0");
    const runtime = spans.find((s) => s.name === "runtime" && s.spanId === starting.spanId);
    assert.ok(runtime, "logged inside the start-up runtime span");
    const line = server.stdout().split("\n").find((l) => l.includes('"Starting Pharos runtime"'));
    const json = JSON.parse(line!) as Record<string, unknown>;
    assert.equal(json["trace_id"], starting.traceId, "stdout and OTLP agree");
  });

  await t.step("records made while shutting down are flushed after the spans", () => {
    const stopping = logs.find((r) => r.body === "Received SIGTERM, shutting down");
    assert.ok(stopping, "the shutdown record reached the collector");
    assert.equal(stopping.attributes["signal"], "SIGTERM");
    const shutdown = spans.find((s) => s.name === "runtime" && s.spanId === stopping.spanId);
    assert.equal(shutdown?.attributes["phase"], "shutdown");
    // Shutdown flushes the spans, then the metrics, then the log records, each once the one
    // before has finished; a periodic metrics export may still land at any time.
    const paths = receiver.received().map((r) => r.path);
    assert.ok(
      paths.lastIndexOf("/v1/logs") > paths.lastIndexOf("/v1/traces"),
      `the last export of log records comes after the last of spans: ${paths.join(", ")}`,
    );
  });
});

Deno.test("OTEL_LOGS_EXPORTER=none: spans and metrics are exported, log records are not", async () => {
  await using receiver = await startOtlpReceiver();
  await using server = spawnServer({
    ...SERVER_ENV,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_LOGS_EXPORTER: "none",
  });
  const port = await server.port;
  await ingest(port, [{ type: "Fail", slot: 7, data: { mint: "mintNone" } }]);
  await receiver.waitFor((r) => r.spans().some((s) => s.name === "vm.process_event"), 10_000);
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());
  // The process has exited: everything it was going to send has been sent.
  assert.ok(receiver.metrics().length > 0, "metrics were exported");
  assert.deepEqual(receiver.received().filter((r) => r.path === "/v1/logs"), []);
  assert.match(server.stdout(), /"message":"Handler .* failed \(refused\)/, "stdout still logs");
});

Deno.test("collector unreachable: logs failures counted with signal=logs, stdout logs, clean exit", async () => {
  await using server = spawnServer({
    ...SERVER_ENV,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort()}`,
    OTEL_EXPORTER_OTLP_TIMEOUT: "500",
  });
  const port = await server.port;
  await ingest(port, [{ type: "Fail", slot: 3, data: { mint: "mintDown" } }]);
  let metrics = "";
  await until(
    async () => {
      metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return sample(metrics, "telemetry_export_failures_total", '{signal="logs"}') > 0;
    },
    "a logs export failure counted",
    {
      timeoutMs: 10_000,
      everyMs: 100,
      detail: () => metrics,
    },
  );
  const ready = await fetch(`http://127.0.0.1:${port}/ready`);
  assert.equal(ready.status, 200, "serving while the collector is down");
  await ready.body?.cancel();
  const started = Date.now();
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());
  assert.ok(Date.now() - started < 8000, "shutdown is bounded");
  const stdout = server.stdout();
  assert.match(stdout, /"message":"Handler .* failed \(refused\)/, "stdout still logs");
  assert.match(stdout, /"message":"OpenTelemetry logs export failed/, "the failure is logged");
  assert.match(stdout, /"message":"Received SIGTERM, shutting down"/);
});

function ingest(port: number, events: unknown[], headers: Record<string, string> = {}) {
  return postIngest(port, TOKEN, events, headers);
}
