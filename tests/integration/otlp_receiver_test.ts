/**
 * The OTLP receiver fake against the pinned exporters: a known span tree, a counter, a
 * histogram, an up/down counter and an observable gauge go out through the real OTLP/HTTP
 * protobuf exporters and come back decoded by the official proto definitions.
 */
import assert from "node:assert/strict";
import { context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import {
  type DecodedMetric,
  type DecodedSpan,
  decodeTraceRequest,
  startOtlpReceiver,
} from "../fakes/otlp_receiver.ts";
import { toPrometheusName } from "../fakes/prometheus_names.ts";

const resource = resourceFromAttributes({
  "service.name": "pharos-test",
  "service.version": "9.9",
});

function tracing(url: string, gzip = false): TracerProvider {
  const exporter = new OTLPTraceExporter({
    url: `${url}/v1/traces`,
    // The enum type lives in otlp-exporter-base, which the import map does not name.
    ...(gzip ? { compression: "gzip" as never } : {}),
  });
  return new TracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor({ exporter })] });
}

function byName(spans: DecodedSpan[], name: string): DecodedSpan {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `exactly one ${name} span in ${spans.map((s) => s.name)}`);
  return found[0]!;
}

Deno.test("otlp receiver decodes a span tree sent by the proto trace exporter", async () => {
  await using receiver = await startOtlpReceiver();
  const provider = tracing(receiver.url);
  try {
    const tracer = provider.getTracer("otlp-receiver-test", "1.2.3");
    const runtime = tracer.startSpan("runtime", { attributes: { service: "pharos" } });
    runtime.end();
    const connection = tracer.startSpan("ws.connection", {
      kind: SpanKind.SERVER,
      attributes: { "client.id": "c-1", "peer.address": "127.0.0.1:5000", "ws.n": 3 },
      links: [{ context: runtime.spanContext(), attributes: { "link.kind": "runtime" } }],
    });
    const inConnection = trace.setSpan(context.active(), connection);
    const subscribe: Span = tracer.startSpan("ws.subscribe.state", {
      attributes: { view: "Transfer/state", key: "k1", mode: "state", ratio: 0.25, fresh: true },
    }, inConnection);
    subscribe.addEvent("snapshot.sent", { entities: 2, "frame.kind": "snapshot" });
    const publish = tracer.startSpan(
      "projector.publish",
      { attributes: { view: "Transfer/list", mode: "list", tags: ["a", "b"] } },
      trace.setSpan(context.active(), subscribe),
    );
    publish.recordException(new Error("boom"));
    publish.setStatus({ code: SpanStatusCode.ERROR, message: "boom" });
    publish.end();
    subscribe.end();
    connection.end();
    await provider.forceFlush();
    await receiver.waitFor((r) => r.spans().length === 4, 5000, "four spans");
  } finally {
    await provider.shutdown();
  }

  const spans = receiver.spans();
  const runtime = byName(spans, "runtime");
  const connection = byName(spans, "ws.connection");
  const subscribe = byName(spans, "ws.subscribe.state");
  const publish = byName(spans, "projector.publish");

  for (const span of spans) {
    assert.match(span.traceId, /^[0-9a-f]{32}$/);
    assert.match(span.spanId, /^[0-9a-f]{16}$/);
    assert.deepEqual(span.resource["service.name"], "pharos-test");
    assert.deepEqual(span.scope, { name: "otlp-receiver-test", version: "1.2.3" });
    assert.ok(span.durationMs >= 0);
  }
  // The tree: runtime and ws.connection are roots of their own traces.
  assert.equal(runtime.parentSpanId, "");
  assert.equal(connection.parentSpanId, "");
  assert.notEqual(connection.traceId, runtime.traceId);
  assert.equal(subscribe.parentSpanId, connection.spanId);
  assert.equal(subscribe.traceId, connection.traceId);
  assert.equal(publish.parentSpanId, subscribe.spanId);
  assert.equal(publish.traceId, connection.traceId);
  assert.deepEqual(connection.links, [{
    traceId: runtime.traceId,
    spanId: runtime.spanId,
    attributes: { "link.kind": "runtime" },
  }]);

  assert.equal(runtime.kind, "internal");
  assert.equal(connection.kind, "server");
  assert.deepEqual(connection.attributes, {
    "client.id": "c-1",
    "peer.address": "127.0.0.1:5000",
    "ws.n": 3,
  });
  assert.deepEqual(subscribe.attributes, {
    view: "Transfer/state",
    key: "k1",
    mode: "state",
    ratio: 0.25,
    fresh: true,
  });
  assert.deepEqual(subscribe.events.map((e) => [e.name, e.attributes]), [
    ["snapshot.sent", { entities: 2, "frame.kind": "snapshot" }],
  ]);
  assert.deepEqual(publish.attributes.tags, ["a", "b"]);
  assert.deepEqual(subscribe.status, { code: "unset", message: "" });
  assert.deepEqual(publish.status, { code: "error", message: "boom" });
  const exception = publish.events.find((e) => e.name === "exception");
  assert.ok(exception, "recordException becomes an `exception` event");
  assert.equal(exception.attributes["exception.message"], "boom");
  assert.equal(exception.attributes["exception.type"], "Error");

  // SimpleSpanProcessor: one request per span, protobuf, not compressed by default.
  const requests = receiver.received();
  assert.equal(receiver.requests, 4);
  for (const r of requests) {
    assert.deepEqual([r.method, r.path, r.status, r.contentType, r.contentEncoding], [
      "POST",
      "/v1/traces",
      200,
      "application/x-protobuf",
      "",
    ]);
    assert.match(r.userAgent, /OTel-OTLP-Exporter-JavaScript\/0\.301\.0/);
  }
});

Deno.test("otlp receiver inflates gzip bodies", async () => {
  await using receiver = await startOtlpReceiver();
  const provider = tracing(receiver.url, true);
  try {
    provider.getTracer("gzip-test").startSpan("bus.cleanup", { attributes: { removed: 7 } })
      .end();
    await provider.forceFlush();
    await receiver.waitFor((r) => r.spans().length === 1, 5000, "the gzipped span");
  } finally {
    await provider.shutdown();
  }
  assert.equal(receiver.received()[0]?.contentEncoding, "gzip");
  const [span] = receiver.spans();
  assert.equal(span?.name, "bus.cleanup");
  assert.deepEqual(span?.attributes, { removed: 7 });
});

Deno.test("otlp receiver decodes counters, histograms, up/down counters and gauges", async () => {
  await using receiver = await startOtlpReceiver();
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: `${receiver.url}/v1/metrics` }),
    // Only forceFlush exports in this test.
    exportIntervalMillis: 60_000,
  });
  const provider = new MeterProvider({ resource, readers: [reader] });
  let full = 1;
  try {
    const meter = provider.getMeter("pharos", "0.1.0");
    const connections = meter.createCounter("ws_connections", {
      description: "WebSocket connections established",
    });
    connections.add(2);
    connections.add(1);
    const created = meter.createCounter("subscriptions_created", { unit: "{subscription}" });
    created.add(1, { view: "Transfer/state" });
    created.add(4, { view: "Transfer/list" });
    const duration = meter.createHistogram("ws_connection_duration", {
      unit: "s",
      description: "connection lifetime",
      advice: { explicitBucketBoundaries: [0.1, 1, 10] },
    });
    duration.record(0.05);
    duration.record(2);
    duration.record(3);
    const active = meter.createUpDownCounter("ws_connections_active");
    active.add(3);
    active.add(-1);
    const atCapacity = meter.createObservableGauge("state_table_at_capacity");
    atCapacity.addCallback((result) => {
      result.observe(full, { entity: "Transfer" });
      result.observe(0, { entity: "Account" });
    });
    const rss = meter.createObservableGauge("process_resident_memory", { unit: "By" });
    rss.addCallback((result) => result.observe(123_456_789));

    await provider.forceFlush();
    await receiver.waitFor((r) => r.metrics().length >= 6, 5000, "six metrics");
    full = 0;
    await provider.forceFlush();
    await receiver.waitFor((r) => r.requests >= 2, 5000, "a second export");
  } finally {
    await provider.shutdown();
  }

  const metric = (name: string): DecodedMetric => {
    const found = receiver.lastMetric(name);
    assert.ok(found, `metric ${name} in ${receiver.metrics().map((m) => m.name)}`);
    return found;
  };
  const counter = metric("ws_connections");
  assert.equal(counter.type, "sum");
  assert.equal(counter.monotonic, true);
  assert.equal(counter.temporality, "cumulative");
  assert.equal(counter.unit, "");
  assert.equal(counter.description, "WebSocket connections established");
  assert.deepEqual(counter.points.map((p) => [p.attributes, p.value]), [[{}, 3]]);
  assert.equal(counter.resource["service.name"], "pharos-test");
  assert.deepEqual(counter.scope, { name: "pharos", version: "0.1.0" });

  const labelled = metric("subscriptions_created");
  assert.equal(labelled.unit, "{subscription}");
  assert.deepEqual(
    labelled.points.map((p) => [p.attributes.view, p.value]).sort(),
    [["Transfer/list", 4], ["Transfer/state", 1]],
  );

  const histogram = metric("ws_connection_duration");
  assert.equal(histogram.type, "histogram");
  assert.equal(histogram.unit, "s");
  assert.equal(histogram.temporality, "cumulative");
  assert.equal(histogram.points.length, 1);
  const point = histogram.points[0]!;
  assert.equal(point.count, 3);
  assert.equal(point.sum, 5.05);
  assert.equal(point.min, 0.05);
  assert.equal(point.max, 3);
  assert.deepEqual(point.bounds, [0.1, 1, 10]);
  assert.deepEqual(point.bucketCounts, [1, 0, 2, 0]);

  const upDown = metric("ws_connections_active");
  assert.equal(upDown.type, "sum");
  assert.equal(upDown.monotonic, false);
  assert.equal(upDown.points[0]?.value, 2);

  const gauge = metric("state_table_at_capacity");
  assert.equal(gauge.type, "gauge");
  assert.equal(gauge.monotonic, undefined);
  assert.deepEqual(
    gauge.points.map((p) => [p.attributes.entity, p.value]).sort(),
    [["Account", 0], ["Transfer", 0]],
    "lastMetric gives the second export",
  );
  const firstGauge = receiver.metrics().find((m) => m.name === "state_table_at_capacity");
  assert.equal(firstGauge?.points.find((p) => p.attributes.entity === "Transfer")?.value, 1);
  assert.equal(metric("process_resident_memory").points[0]?.value, 123_456_789);

  // The decoded metrics translate to the catalog's Prometheus names.
  assert.deepEqual(
    [
      "ws_connections",
      "subscriptions_created",
      "ws_connection_duration",
      "state_table_at_capacity",
      "process_resident_memory",
    ].map((name) => toPrometheusName(metric(name))),
    [
      "ws_connections_total",
      "subscriptions_created_total",
      "ws_connection_duration_seconds",
      "state_table_at_capacity",
      "process_resident_memory_bytes",
    ],
  );
});

Deno.test("otlp receiver answers the configured failure status and stores nothing", async () => {
  await using receiver = await startOtlpReceiver({ failWith: 500 });
  const provider = tracing(receiver.url);
  try {
    const tracer = provider.getTracer("failure-test");
    tracer.startSpan("lost").end();
    // SDK 3.x: SimpleSpanProcessor.forceFlush rejects with the exporter's error.
    await assert.rejects(provider.forceFlush(), /Internal Server Error/);
    await receiver.waitFor((r) => r.requests === 1, 5000, "the failed export");
    assert.deepEqual(receiver.spans(), []);
    assert.equal(receiver.received()[0]?.status, 500);

    receiver.setFailure(undefined);
    tracer.startSpan("kept").end();
    await provider.forceFlush();
    await receiver.waitFor((r) => r.spans().length === 1, 5000, "the second export");
    assert.equal(receiver.spans()[0]?.name, "kept");
  } finally {
    await provider.shutdown();
  }
});

Deno.test("otlp receiver rejects wrong paths, content types and undecodable bodies", async () => {
  await using receiver = await startOtlpReceiver();
  const post = async (path: string, type: string, body: Uint8Array) => {
    const response = await fetch(`${receiver.url}${path}`, {
      method: "POST",
      headers: { "content-type": type },
      body: body as BodyInit,
    });
    return [response.status, await response.bytes()] as const;
  };
  const empty = new Uint8Array();
  assert.equal((await post("/v1/nothing", "application/x-protobuf", empty))[0], 404);
  assert.equal((await post("/v1/traces", "application/json", empty))[0], 415);
  assert.equal(
    (await post("/v1/traces", "application/x-protobuf", new Uint8Array([0xff])))[0],
    400,
  );
  // An empty request is a valid (empty) ExportTraceServiceRequest; the reply is an empty body.
  const [status, reply] = await post("/v1/traces", "application/x-protobuf", empty);
  assert.equal(status, 200);
  assert.equal(reply.byteLength, 0);
  assert.equal(receiver.requests, 4);
  assert.deepEqual(decodeTraceRequest(empty), []);
});
