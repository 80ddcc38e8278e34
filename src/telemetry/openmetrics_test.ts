import assert from "node:assert/strict";
import type { SpanContext } from "@opentelemetry/api";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { EXEMPLARS_PER_SERIES, ExemplarStore } from "./exemplars.ts";
import { createMetricFacades } from "./otel_metrics.ts";
import { metricsFormatFor, toOpenMetrics } from "./openmetrics.ts";
import { createMetricsEndpoint } from "./prometheus.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

/** A store whose active span is whatever `active.context` holds. */
function storeWith(clock: FakeClock) {
  const active: { context: SpanContext | undefined } = { context: undefined };
  return { active, store: new ExemplarStore(() => clock.now(), () => active.context) };
}

Deno.test("openmetrics: the Accept header decides the format", () => {
  const prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;" +
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  assert.equal(metricsFormatFor(prometheus), "openmetrics", "Prometheus's own scrape header");
  assert.equal(metricsFormatFor("text/plain"), "prometheus");
  assert.equal(metricsFormatFor(null), "prometheus");
});

Deno.test("openmetrics: counter families, escapes, no blank lines, # EOF", () => {
  const text = [
    "# HELP ws_connections_total Connections",
    "# TYPE ws_connections_total counter",
    "ws_connections_total 3",
    "",
    '# HELP note A "quoted" gauge',
    "# TYPE note gauge",
    "note 1",
    "# HELP otel_sdk_queue_capacity Queue capacity",
    "# UNIT otel_sdk_queue_capacity {span}",
    "# TYPE otel_sdk_queue_capacity gauge",
    "otel_sdk_queue_capacity 2048",
    "# UNIT process_start_time_seconds seconds",
    "",
  ].join("\n");
  assert.equal(
    toOpenMetrics(text, undefined),
    [
      "# HELP ws_connections Connections",
      "# TYPE ws_connections counter",
      "ws_connections_total 3",
      '# HELP note A \\"quoted\\" gauge',
      "# TYPE note gauge",
      "note 1",
      "# HELP otel_sdk_queue_capacity Queue capacity",
      "# TYPE otel_sdk_queue_capacity gauge",
      "otel_sdk_queue_capacity 2048",
      "# UNIT process_start_time_seconds seconds",
      "# EOF",
      "",
    ].join("\n"),
  );
});

Deno.test("openmetrics: a latency histogram's buckets carry exemplars of sampled spans", async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 11, 7, 12));
  const { active, store } = storeWith(clock);
  const reader = createMetricsEndpoint({ exemplars: store });
  const provider = new MeterProvider({ readers: [reader.reader] });
  const meter = provider.getMeter("pharos");
  const facades = createMetricFacades([meter], { exemplars: store, functionCallMetrics: true });

  await t.step("recorded in a sampled span: on the bucket the value falls in", async () => {
    active.context = { traceId: TRACE, spanId: SPAN, traceFlags: 1 };
    facades.projector.batchDone(0.003);
    facades.vm.handlerDuration("Token", "Transfer", 0.00007);
    active.context = { traceId: "f".repeat(32), spanId: "e".repeat(16), traceFlags: 0 };
    facades.projector.batchDone(0.2); // not sampled: no exemplar
    active.context = undefined;
    facades.projector.batchDone(0.7); // no span: no exemplar
    const text = await reader.render("openmetrics");
    const exemplar = `# {trace_id="${TRACE}",span_id="${SPAN}"}`;
    const buckets = text.split("\n").filter((l) =>
      l.startsWith("projector_latency_seconds_bucket")
    );
    const withExemplar = buckets.filter((line) => line.includes(" # {"));
    assert.deepEqual(withExemplar, [
      `projector_latency_seconds_bucket{le="0.005"} 1 ${exemplar} 0.003 ${clock.now() / 1000}.000`,
    ]);
    const handler = text.split("\n").filter((l) =>
      l.startsWith("handler_call_duration_seconds_bucket") && l.includes(" # {")
    );
    assert.equal(handler.length, 1);
    assert.match(
      handler[0]!,
      /^handler_call_duration_seconds_bucket\{entity="Token",handler="Transfer",le="0\.0001"\} 1 # /,
    );
    assert.ok(text.endsWith("# EOF\n"));
    assert.doesNotMatch(await reader.render(), /# \{/, "Prometheus text carries none");
  });

  await t.step("each series keeps its latest few", () => {
    active.context = { traceId: TRACE, spanId: SPAN, traceFlags: 1 };
    for (let i = 0; i < EXEMPLARS_PER_SERIES + 5; i++) store.offer("h", i, { a: "1" });
    assert.equal(store.find('h{a="1"}', -Infinity, 4.5), undefined, "the oldest are gone");
    assert.equal(store.find('h{a="1"}', 10, Infinity)?.value, EXEMPLARS_PER_SERIES + 4);
  });
  await provider.shutdown();
});
