/**
 * README's "Metrics and traces" end to end: a real Pharos process exports to a real OTLP/HTTP receiver
 * in this test (decoded with the official proto definitions), serves /metrics, and is
 * stopped with SIGTERM; every catalog span, chain and metric must have arrived.
 */
import assert from "node:assert/strict";
import { type DecodedSpan, startOtlpReceiver } from "../fakes/otlp_receiver.ts";
import { toPrometheusName } from "../fakes/prometheus_names.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { until } from "../wait.ts";
import { barrier, postIngest } from "./_helpers.ts";

const TOKEN = "otel-test-token";
const PRODUCER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PRODUCER_SPAN = "00f067aa0ba902b7";
const EVENT_TRACE = "0af7651916cd43dd8448eb211c80319c";
const EVENT_SPAN = "b7ad6b7169203331";

/** Catalog metrics: Prometheus name, type, label names. */
const CATALOG: [string, string, string[]][] = [
  ["ws_connections_total", "counter", []],
  ["ws_disconnections_total", "counter", []],
  ["ws_connection_duration_seconds", "histogram", []],
  ["ws_messages_sent_total", "counter", []],
  ["ws_messages_received_total", "counter", []],
  ["ws_connection_errors_total", "counter", []],
  ["subscriptions_created_total", "counter", ["view"]],
  ["subscriptions_removed_total", "counter", ["view"]],
  ["mutations_processed_total", "counter", ["entity"]],
  ["frames_published_total", "counter", ["entity", "mode"]],
  ["projector_latency_seconds", "histogram", []],
  ["state_table_evictions_total", "counter", ["entity"]],
  ["state_table_at_capacity", "gauge", ["entity"]],
  ["path_cache_hits_total", "counter", []],
  ["path_cache_misses_total", "counter", []],
  ["handler_errors_total", "counter", ["code", "entity"]],
  ["handler_cancellations_total", "counter", ["entity", "reason"]],
  ["handler_call_duration_seconds", "histogram", ["entity", "handler"]],
  // The server runs its handlers in a handler host (the default isolation).
  ["handler_host_batch_duration_seconds", "histogram", []],
  ["process_resident_memory_bytes", "gauge", []],
];

const CATALOG_SPANS = [
  "runtime",
  "projector",
  "ws.server",
  "source",
  "bus.cleanup",
  "ws.connection",
  "ws.subscribe.state",
  "ws.subscribe.list",
  "ws.subscribe.derived",
  "process pipeline",
  "vm.process_event",
  "vm.handler_host",
  "projector.mutation",
  "projector.publish",
];

function transfer(mint: string, slot: number, amount = "1000") {
  return { type: "Transfer", slot, data: { mint, from: "alice", to: "bob", amount } };
}

Deno.test("OTLP export: every catalog span, chain, attribute and metric reaches the collector", async (t) => {
  await using receiver = await startOtlpReceiver();
  await using server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_STACK: "tests/fixtures/otel_stack.ts",
    PHAROS_SOURCES: "demo,ingest",
    PHAROS_INGEST_TOKEN: TOKEN,
    PHAROS_DEMO_RATE: "50",
    PHAROS_STATE_TABLE_SIZE: "5",
    PHAROS_HANDLER_TIMEOUT_MS: "20",
    PHAROS_FUNCTION_CALL_METRICS: "1",
    PHAROS_IDLE_TIMEOUT_MS: "1000",
    PHAROS_MAX_CLIENTS: "2",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_METRIC_EXPORT_INTERVAL: "500",
    OTEL_BSP_SCHEDULE_DELAY: "100",
    OTEL_SERVICE_NAME: "pharos-otel-test",
  });
  const port = await server.port;
  const client = await TestClient.connect(`ws://127.0.0.1:${port}`);
  client.send({ type: "subscribe", view: "Token/list" });
  client.send({ type: "subscribe", view: "Token/state", key: "mintOtel" });
  client.send({ type: "subscribe", view: "Token/latest", take: 3 });
  client.send({ type: "subscribe", view: "No/such" });
  client.send("not json");
  await ingest(port, [
    transfer("mintOtel", 10),
    { ...transfer("mintOtel", 11), traceparent: `00-${EVENT_TRACE}-${EVENT_SPAN}-01` },
    { type: "Fail", slot: 12, data: { mint: "mintOtel" } },
    { type: "Slow", slot: 13, data: { mint: "mintOtel" } },
  ], { traceparent: `00-${PRODUCER_TRACE}-${PRODUCER_SPAN}-01` });
  await client.waitFor((f) => f.some((x) => x.json.key === "mintOtel" && x.json.op === "patch"));
  // A third connection is refused (PHAROS_MAX_CLIENTS=2 counts the second one below).
  const second = await TestClient.connect(`ws://127.0.0.1:${port}`);
  const refused = await fetch(`http://127.0.0.1:${port}/`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  assert.equal(refused.status, 503);
  await refused.body?.cancel();
  await (await fetch(`http://127.0.0.1:${port}/ready`)).body?.cancel();
  // The idle sweep (PHAROS_IDLE_TIMEOUT_MS) runs the bus cleanup, a span of its own.
  await receiver.waitFor(
    (r) => r.spans().some((span) => span.name === "bus.cleanup"),
    10_000,
    "a bus.cleanup span",
  );
  client.send({ type: "unsubscribe", view: "Token/list" });
  await barrier(client); // the unsubscribe was handled

  await client[Symbol.asyncDispose]();
  await second[Symbol.asyncDispose]();
  await until(
    async () => (await (await fetch(`http://127.0.0.1:${port}/status`)).json()).connections === 0,
    "the server to see both closes",
  );
  const metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());

  await t.step("/metrics: every catalog name (promtool's lint: tests/system/ops_test.ts)", () => {
    for (const [name, type] of CATALOG) {
      assert.match(metricsText, new RegExp(`^# TYPE ${name} ${type}$`, "m"), `${name} on /metrics`);
    }
  });

  const spans = receiver.spans();
  const byName = (name: string) => spans.filter((span) => span.name === name);
  const one = (name: string, where: (span: DecodedSpan) => boolean = () => true) => {
    const found = byName(name).find(where);
    assert.ok(found, `no ${name} span matching; have ${[...new Set(spans.map((s) => s.name))]}`);
    return found;
  };

  await t.step("every catalog span arrived, and the HTTP server spans", () => {
    for (const name of CATALOG_SPANS) assert.ok(byName(name).length > 0, `no ${name} span`);
    one("POST /ingest");
    one("GET /ready");
    assert.equal(one("runtime").resource["service.name"], "pharos-otel-test");
  });

  await t.step("one trace per connection: ws.connection → ws.subscribe.*", () => {
    const connection = one("ws.connection", (s) => s.attributes["client.id"] !== undefined);
    assert.equal(connection.parentSpanId, "", "a connection trace is its own root");
    assert.equal(connection.kind, "server");
    assert.match(String(connection.attributes["client.address"]), /^127\.0\.0\.1:\d+$/);
    for (const name of ["ws.subscribe.list", "ws.subscribe.state", "ws.subscribe.derived"]) {
      const child = one(name, (s) => s.traceId === connection.traceId);
      assert.equal(child.parentSpanId, connection.spanId);
    }
    const state = one("ws.subscribe.state", (s) => s.traceId === connection.traceId);
    assert.deepEqual(
      [state.attributes.view, state.attributes.key, state.attributes.mode],
      ["Token/state", "mintOtel", "state"],
    );
  });

  await t.step(
    "one trace per event: vm.process_event → projector.mutation → projector.publish",
    () => {
      const event = one("vm.process_event", (s) => s.attributes.slot === 10);
      assert.equal(event.attributes["event.type"], "Transfer");
      const mutation = one("projector.mutation", (s) => s.parentSpanId === event.spanId);
      assert.equal(mutation.traceId, event.traceId);
      assert.equal(mutation.attributes.entity, "Token");
      const publish = one("projector.publish", (s) => s.parentSpanId === mutation.spanId);
      assert.equal(publish.traceId, event.traceId);
      assert.ok(
        ["Token/list", "Token/state", "Token/latest"].includes(String(publish.attributes.view)),
      );
      assert.ok(["list", "state"].includes(String(publish.attributes.mode)));
    },
  );

  await t.step("each batch's round trip to the handler host is a vm.handler_host span", () => {
    const hostSpans = spans.filter((s) => s.name === "vm.handler_host");
    assert.ok(hostSpans.length > 0);
    const events = new Map(
      spans.filter((s) => s.name === "vm.process_event").map((s) => [s.spanId, s]),
    );
    for (const span of hostSpans) {
      const parent = events.get(span.parentSpanId);
      assert.ok(parent, "under the first event span of its batch");
      assert.equal(span.traceId, parent.traceId);
      assert.equal(span.attributes.outcome, "ok");
      assert.ok(Number(span.attributes["batch.events"]) >= 1);
      assert.equal(typeof span.attributes["process.pid"], "number");
    }
  });

  await t.step(
    "a producer's traceparent is continued: header for the batch, field per event",
    () => {
      const viaHeader = one("vm.process_event", (s) => s.attributes.slot === 10);
      assert.equal(viaHeader.traceId, PRODUCER_TRACE);
      assert.equal(viaHeader.parentSpanId, PRODUCER_SPAN);
      const viaField = one("vm.process_event", (s) => s.attributes.slot === 11);
      assert.equal(viaField.traceId, EVENT_TRACE, "the event's own traceparent wins");
      assert.equal(viaField.parentSpanId, EVENT_SPAN);
      const ingestSpan = one("POST /ingest");
      assert.equal(ingestSpan.traceId, PRODUCER_TRACE, "the HTTP span continues the caller too");
    },
  );

  await t.step("the batch span names its events and links the contexts they came in with", () => {
    const batch = one(
      "process pipeline",
      (s) => String(s.attributes["pharos.batch.positions"]).includes("slots 10-13"),
    );
    assert.equal(batch.kind, "consumer");
    assert.equal(batch.parentSpanId, "", "a batch span is a root: its events have many traces");
    assert.match(String(batch.attributes["pharos.batch.sources"]), /ingest/);
    assert.match(String(batch.attributes["pharos.batch.entities"]), /Token\/mintOtel/);
    assert.ok(Number(batch.attributes["pharos.batch.failures"]) >= 1, "the Fail event");
    assert.equal(batch.status.code, "error");
    const linked = batch.links.map((l) => `${l.traceId}-${l.spanId}`);
    const ingestSpan = one("POST /ingest");
    assert.ok(linked.includes(`${PRODUCER_TRACE}-${ingestSpan.spanId}`), "the ingest request");
    assert.ok(linked.includes(`${PRODUCER_TRACE}-${PRODUCER_SPAN}`), "the header's producer");
    assert.ok(linked.includes(`${EVENT_TRACE}-${EVENT_SPAN}`), "the event's own producer");
    const tree = one("vm.process_event", (s) => s.attributes.slot === 10);
    assert.ok(linked.includes(`${tree.traceId}-${tree.spanId}`), "the event's own tree");
  });

  await t.step("lifecycle spans carry their attributes; errors are marked", () => {
    assert.equal(
      one("runtime", (s) => s.attributes.phase === "startup").attributes["service.version"],
      "0.1.0",
    );
    assert.ok(one("runtime", (s) => s.attributes.phase === "shutdown"));
    assert.match(
      String(
        one("ws.server", (s) => s.attributes.phase === "startup").attributes["server.address"],
      ),
      /^127\.0\.0\.1:\d+$/,
    );
    const source = one("source", (s) => s.attributes["source.kind"] === "ingest");
    assert.equal(source.attributes["source.stream"], "/ingest");
    assert.equal(typeof one("bus.cleanup").attributes.removed, "number");
    for (const span of spans) {
      if (span.parentSpanId === "") continue;
      assert.notEqual(span.name, "runtime", "nothing hangs under the runtime span");
    }
  });

  await t.step("a failing handler marks its event's span ERROR with the exception", () => {
    const failed = one("vm.process_event", (s) => s.attributes.slot === 12);
    assert.equal(failed.status.code, "error");
    const exception = failed.events.find((e) => e.name === "exception");
    assert.ok(exception, "the exception is recorded as a span event");
    assert.match(String(exception.attributes["exception.message"]), /refused on purpose/);
    const ok = one("vm.process_event", (s) => s.attributes.slot === 10);
    assert.notEqual(ok.status.code, "error");
  });

  await t.step("log lines: an event's failure carries its trace; batch lines carry none", () => {
    const lines = server.stdout().split("\n");
    const failure = lines.find((line) => line.includes("pharos.vm: Handler Token.Fail failed"));
    assert.ok(failure, "the handler failure is logged");
    assert.match(failure, new RegExp(`trace_id=${PRODUCER_TRACE}`), "inside its event's span");
    const batches = lines.filter((line) => line.includes("Projector batch processed"));
    assert.ok(batches.length > 0, "batch lines were logged");
    for (const line of batches) {
      assert.doesNotMatch(line, /trace_id=/, `a batch line sums many events: ${line}`);
    }
  });

  await t.step("every catalog metric arrived over OTLP with its type and label set", () => {
    const metrics = receiver.metrics();
    for (const [name, type, labels] of CATALOG) {
      const metric = metrics.find((m) => toPrometheusName(m) === name);
      assert.ok(metric, `${name} not exported; got ${[...new Set(metrics.map((m) => m.name))]}`);
      const otlpType = metric.type === "sum"
        ? (metric.monotonic ? "counter" : "gauge")
        : metric.type;
      assert.equal(otlpType, type, `${name} type`);
      const labelSets = new Set(
        metric.points.map((p) => Object.keys(p.attributes).sort().join(",")),
      );
      assert.ok(labelSets.has(labels.join(",")), `${name} labels ${[...labelSets]} ≠ ${labels}`);
    }
    const errors = metrics.find((m) => toPrometheusName(m) === "handler_errors_total")!;
    assert.ok(
      errors.points.some((p) => p.attributes.code === "refused" && p.attributes.entity === "Token"),
    );
  });
});

function ingest(port: number, events: unknown[], headers: Record<string, string> = {}) {
  return postIngest(port, TOKEN, events, headers);
}
