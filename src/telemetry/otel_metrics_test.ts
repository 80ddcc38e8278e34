import assert from "node:assert/strict";
import { ProxyTracerProvider } from "@opentelemetry/api";
import { DataPointType, MeterProvider } from "@opentelemetry/sdk-metrics";
import { HANDLER_CANCEL_REASONS, WS_LIMITS } from "./facade.ts";
import { METRIC_DEFINITIONS } from "./metric_definitions.ts";
import { ZEROED_EXPORT_SIGNALS } from "./metrics_export.ts";
import { createMetricFacades } from "./otel_metrics.ts";
import { createOtelTelemetry } from "./otel_telemetry.ts";
import {
  createMetricsEndpoint,
  type MetricsEndpoint,
  PROMETHEUS_CONTENT_TYPE,
} from "./prometheus.ts";
import { type Family, parsePrometheusText } from "../../tests/fakes/prometheus_text.ts";
import { type PrometheusNameInput, toPrometheusName } from "../../tests/fakes/prometheus_names.ts";
import { recordOneOfEach } from "../../tests/fakes/every_metric.ts";

/** README's metric table ("Metrics and traces"): Prometheus name → type and label keys. */
const EXPECTED: Readonly<Record<string, readonly [string, readonly string[]]>> = {
  // The catalog (names are contracts).
  ws_connections_total: ["counter", []],
  ws_disconnections_total: ["counter", []],
  ws_connection_duration_seconds: ["histogram", []],
  ws_messages_sent_total: ["counter", []],
  ws_messages_received_total: ["counter", []],
  ws_connection_errors_total: ["counter", []],
  subscriptions_created_total: ["counter", ["view"]],
  subscriptions_removed_total: ["counter", ["view"]],
  mutations_processed_total: ["counter", ["entity"]],
  frames_published_total: ["counter", ["entity", "mode"]],
  projector_latency_seconds: ["histogram", []],
  state_table_evictions_total: ["counter", ["entity"]],
  state_table_at_capacity: ["gauge", ["entity"]],
  path_cache_hits_total: ["counter", []],
  path_cache_misses_total: ["counter", []],
  handler_errors_total: ["counter", ["code", "entity"]],
  handler_cancellations_total: ["counter", ["entity", "reason"]],
  handler_call_duration_seconds: ["histogram", ["entity", "handler"]],
  handler_host_restarts_total: ["counter", ["reason"]],
  handler_host_batch_duration_seconds: ["histogram", []],
  process_resident_memory_bytes: ["gauge", []],
  // Extras.
  ws_connections_active: ["gauge", []],
  ws_connection_errors_by_kind_total: ["counter", ["kind"]],
  ws_slow_consumer_disconnects_total: ["counter", []],
  ws_handshake_rejections_total: ["counter", ["code"]],
  ws_limit_exceeded_total: ["counter", ["limit"]],
  ws_unknown_view_subscriptions_total: ["counter", []],
  ws_view_forbidden_total: ["counter", ["view"]],
  view_cache_evictions_total: ["counter", ["entity"]],
  projector_view_errors_total: ["counter", ["view"]],
  source_events_total: ["counter", ["source"]],
  source_healthy: ["gauge", ["source"]],
  pharos_ready: ["gauge", []],
  pipeline_pending_events: ["gauge", []],
  pipeline_capacity_events: ["gauge", []],
  log_lines_dropped_total: ["counter", []],
  process_cpu_seconds_total: ["counter", []],
  process_heap_used_bytes: ["gauge", []],
  process_start_time_seconds: ["gauge", []],
  // Delivery lag, the event loop, the handler hosts.
  event_delivery_lag_seconds: ["histogram", ["view"]],
  event_loop_delay_seconds: ["histogram", []],
  event_loop_utilization: ["gauge", []],
  handler_host_resident_memory_bytes: ["gauge", []],
  handler_host_heap_used_bytes: ["gauge", []],
  handler_host_heap_limit_bytes: ["gauge", []],
  handler_host_cpu_seconds_total: ["counter", []],
  // Cluster mode only (once `observe.cluster` is registered).
  cluster_log_lag_events: ["gauge", []],
  cluster_log_append_errors_total: ["counter", []],
  cluster_lease_held: ["gauge", []],
  cluster_checkpoint_age_seconds: ["gauge", []],
  cluster_redis_up: ["gauge", []],
  cluster_epoch_changes_total: ["counter", []],
  // Authentication and client addresses.
  auth_jwks_refreshes_total: ["counter", ["outcome", "trigger"]],
  forwarded_header_errors_total: ["counter", ["problem"]],
  auth_revocation_list_refreshes_total: ["counter", ["outcome"]],
  auth_revocation_list_entries: ["gauge", ["kind"]],
  auth_revoked_sessions_closed_total: ["counter", []],
};

function setUp(functionCallMetrics?: boolean) {
  const endpoint = createMetricsEndpoint();
  const meterProvider = new MeterProvider({ readers: [endpoint.reader] });
  const telemetry = createOtelTelemetry({
    meterProvider,
    tracerProvider: new ProxyTracerProvider(),
    ...(functionCallMetrics === undefined ? {} : { functionCallMetrics }),
  });
  return {
    telemetry,
    endpoint,
    async scrape(): Promise<Map<string, Family>> {
      return parsePrometheusText(await endpoint.render());
    },
    async [Symbol.asyncDispose]() {
      await meterProvider.shutdown();
    },
  };
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}) {
  const family = families.get(name.replace(/_(sum|count|bucket)$/, "")) ?? families.get(name);
  const sample = family?.samples.find((s) =>
    s.name === name &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v) &&
    Object.keys(s.labels).filter((k) => k !== "le").length ===
      Object.keys(labels).filter((k) => k !== "le").length
  );
  assert.ok(sample, `no sample ${name}${JSON.stringify(labels)}`);
  return sample.value;
}

Deno.test("/metrics shows every catalog name with exactly its labels after one call of each", async () => {
  await using t = setUp(true);
  recordOneOfEach(t.telemetry);
  const families = await t.scrape();

  const names = [...families.keys()].filter((name) => name !== "target_info").sort();
  assert.deepEqual(names, Object.keys(EXPECTED).sort());
  for (const [name, [type, labels]] of Object.entries(EXPECTED)) {
    const family = families.get(name)!;
    assert.equal(family.type, type, `${name} type`);
    assert.notEqual(family.help, "description missing", `${name} has a description`);
    assert.ok(family.samples.length > 0, `${name} has samples`);
    for (const sample of family.samples) {
      const keys = Object.keys(sample.labels).filter((k) => k !== "le").sort();
      assert.deepEqual(keys, labels, `labels of ${sample.name}`);
    }
  }
});

Deno.test("a server running alone has no cluster series", async () => {
  await using t = setUp();
  t.telemetry.observe.pipeline(() => ({ pending: 0, capacity: 10 }));
  const names = [...(await t.scrape()).keys()];
  assert.deepEqual(names.filter((name) => name.startsWith("cluster_")), []);
  t.telemetry.observe.cluster(() => ({
    lagEvents: 0,
    leaseHeld: false,
    checkpointAgeSeconds: undefined,
    redisUp: false,
  }));
  const f = await t.scrape();
  assert.equal(value(f, "cluster_log_append_errors_total"), 0, "counters start at 0");
  assert.equal(value(f, "cluster_epoch_changes_total"), 0);
  assert.equal(value(f, "cluster_redis_up"), 0);
  assert.equal(f.has("cluster_checkpoint_age_seconds"), false, "no checkpoint, no age");
});

Deno.test("/metrics values follow the facade calls", async () => {
  await using t = setUp(true);
  recordOneOfEach(t.telemetry);
  const f = await t.scrape();
  assert.equal(value(f, "ws_connections_total"), 2);
  assert.equal(value(f, "ws_disconnections_total"), 1);
  assert.equal(value(f, "ws_connections_active"), 1, "total minus disconnections");
  assert.equal(value(f, "ws_connection_duration_seconds_sum"), 12.5);
  assert.equal(value(f, "ws_connection_duration_seconds_bucket", { le: "15" }), 1);
  assert.equal(value(f, "ws_connection_duration_seconds_bucket", { le: "5" }), 0);
  assert.equal(value(f, "ws_messages_sent_total"), 3);
  assert.equal(value(f, "ws_connection_errors_total"), 1);
  assert.equal(value(f, "ws_connection_errors_by_kind_total", { kind: "message-too-big" }), 1);
  assert.equal(value(f, "ws_handshake_rejections_total", { code: "server-at-capacity" }), 1);
  assert.equal(value(f, "ws_limit_exceeded_total", { limit: "messages-per-minute" }), 1);
  assert.equal(value(f, "mutations_processed_total", { entity: "Token" }), 4);
  assert.equal(value(f, "frames_published_total", { mode: "list", entity: "Token" }), 1);
  assert.equal(value(f, "state_table_at_capacity", { entity: "Token" }), 1);
  assert.equal(value(f, "state_table_at_capacity", { entity: "Holder" }), 0);
  assert.equal(value(f, "handler_errors_total", { entity: "Token", code: "handler-threw" }), 1);
  assert.equal(
    value(f, "handler_call_duration_seconds_count", { entity: "Token", handler: "transfer" }),
    1,
  );
  assert.equal(value(f, "source_healthy", { source: "demo" }), 1);
  assert.equal(value(f, "source_healthy", { source: "upstream" }), 0);
  assert.equal(value(f, "pharos_ready"), 1);
  assert.equal(value(f, "pipeline_pending_events"), 2);
  assert.equal(value(f, "pipeline_capacity_events"), 1000);
  assert.equal(value(f, "log_lines_dropped_total"), 5);
  assert.equal(value(f, "cluster_log_lag_events"), 7);
  assert.equal(value(f, "cluster_lease_held"), 1);
  assert.equal(value(f, "cluster_checkpoint_age_seconds"), 12.5);
  assert.equal(value(f, "cluster_redis_up"), 1);
  assert.equal(value(f, "cluster_log_append_errors_total"), 3);
  assert.equal(value(f, "cluster_epoch_changes_total"), 1);
  assert.equal(
    value(f, "auth_jwks_refreshes_total", { trigger: "unknown-kid", outcome: "updated" }),
    1,
  );
  assert.equal(
    value(f, "auth_jwks_refreshes_total", { trigger: "max-age", outcome: "failed" }),
    0,
    "every trigger and outcome from the start",
  );
  assert.equal(value(f, "forwarded_header_errors_total", { problem: "malformed" }), 1);
  assert.equal(value(f, "forwarded_header_errors_total", { problem: "too-long" }), 0);
  assert.equal(value(f, "auth_revocation_list_refreshes_total", { outcome: "updated" }), 1);
  assert.equal(value(f, "auth_revocation_list_refreshes_total", { outcome: "shared" }), 0);
  assert.equal(value(f, "auth_revocation_list_entries", { kind: "jti" }), 3);
  assert.equal(value(f, "auth_revocation_list_entries", { kind: "sub" }), 1);
  assert.equal(value(f, "auth_revoked_sessions_closed_total"), 2);
  assert.ok(value(f, "process_resident_memory_bytes") > 1_000_000);
  assert.ok(value(f, "process_heap_used_bytes") > 0);
  assert.ok(value(f, "process_cpu_seconds_total") > 0);
  assert.equal(value(f, "event_delivery_lag_seconds_count", { view: "Token/list" }), 1);
  assert.equal(
    value(f, "event_delivery_lag_seconds_bucket", { view: "Token/list", le: "0.005" }),
    1,
  );
  assert.equal(
    value(f, "event_delivery_lag_seconds_bucket", { view: "Token/list", le: "0.0025" }),
    0,
  );
  assert.equal(value(f, "event_loop_delay_seconds_sum"), 0.0012);
  assert.equal(value(f, "event_loop_utilization"), 0.35);
  assert.equal(value(f, "handler_host_resident_memory_bytes"), 52_000_000);
  assert.equal(value(f, "handler_host_heap_used_bytes"), 18_000_000);
  assert.equal(value(f, "handler_host_heap_limit_bytes"), 256 * 1024 * 1024);
  assert.equal(value(f, "handler_host_cpu_seconds_total"), 4.5);
  const start = value(f, "process_start_time_seconds");
  assert.ok(start > 1.6e9 && start <= Date.now() / 1000, `start time ${start}`);

  t.telemetry.vm.stateTableAtCapacity("Token", false);
  t.telemetry.observe.health(() => ({ ready: false, sources: [] }));
  const after = await t.scrape();
  assert.equal(value(after, "state_table_at_capacity", { entity: "Token" }), 0);
  assert.equal(value(after, "pharos_ready"), 0, "the latest health registration wins");
});

Deno.test("histogram buckets suit seconds", async () => {
  await using t = setUp(true);
  recordOneOfEach(t.telemetry);
  const f = await t.scrape();
  const bounds = (name: string) =>
    f.get(name)!.samples.filter((s) => s.name === `${name}_bucket`).map((s) => s.labels["le"]);
  assert.deepEqual(bounds("projector_latency_seconds"), [
    "0.0005",
    "0.001",
    "0.0025",
    "0.005",
    "0.01",
    "0.025",
    "0.05",
    "0.1",
    "0.25",
    "0.5",
    "1",
    "2",
    "+Inf",
  ]);
  const connection = bounds("ws_connection_duration_seconds");
  assert.equal(connection[0], "1");
  assert.equal(connection.at(-2), "86400");
  const handler = bounds("handler_call_duration_seconds");
  assert.equal(handler[0], "0.00005");
  assert.ok(handler.includes("0.25"), "the default 250 ms handler budget is a bound");
});

Deno.test("handler_call_duration_seconds exists only with functionCallMetrics", async (t) => {
  for (const enabled of [undefined, false] as const) {
    await t.step(`functionCallMetrics ${enabled}`, async () => {
      await using s = setUp(enabled);
      s.telemetry.vm.handlerDuration("Token", "transfer", 0.001);
      const text = await s.endpoint.render();
      assert.doesNotMatch(text, /handler_call_duration/);
    });
  }
  await t.step("functionCallMetrics true", async () => {
    await using s = setUp(true);
    s.telemetry.vm.handlerDuration("Token", "transfer", 0.001);
    assert.match(
      await s.endpoint.render(),
      /^handler_call_duration_seconds_count\{entity="Token",handler="transfer"\} 1$/m,
    );
  });
});

Deno.test("label-free counters are exported at 0 before anything happens", async () => {
  await using t = setUp();
  const f = await t.scrape();
  for (const name of ["ws_connections_total", "ws_disconnections_total", "path_cache_hits_total"]) {
    assert.equal(value(f, name), 0, name);
  }
  assert.equal(value(f, "ws_connections_active"), 0);
  assert.equal(
    f.has("subscriptions_created_total"),
    false,
    "series over the app's values wait for its catalog",
  );
});

Deno.test("the handler host series exist once the app registers a reading, and only then", async (t) => {
  await using s = setUp();
  const hostSeries = (f: Map<string, Family>) =>
    [...f.keys()].filter((name) =>
      name.startsWith("handler_host_") && !/restarts|batch/.test(name)
    );
  await t.step("handlers in this process: none of them", async () => {
    assert.deepEqual(hostSeries(await s.scrape()), []);
  });
  await t.step("registered: the cap and the CPU time at once, memory once reported", async () => {
    let reading = {
      residentBytes: undefined as number | undefined,
      heapUsedBytes: undefined as number | undefined,
      heapLimitBytes: 64 * 1024 * 1024,
      cpuSeconds: 0,
    };
    s.telemetry.observe.handlerHosts(() => reading);
    let f = await s.scrape();
    assert.deepEqual(hostSeries(f).sort(), [
      "handler_host_cpu_seconds_total",
      "handler_host_heap_limit_bytes",
    ]);
    assert.equal(value(f, "handler_host_cpu_seconds_total"), 0);
    reading = { ...reading, residentBytes: 40e6, heapUsedBytes: 9e6, cpuSeconds: 1.25 };
    f = await s.scrape();
    assert.equal(value(f, "handler_host_resident_memory_bytes"), 40e6);
    assert.equal(value(f, "handler_host_heap_used_bytes"), 9e6);
    assert.equal(value(f, "handler_host_cpu_seconds_total"), 1.25);
  });
});

Deno.test("the event loop series appear with the monitor's first samples", async () => {
  await using s = setUp();
  const before = await s.scrape();
  assert.equal(before.has("event_loop_delay_seconds"), false);
  assert.equal(before.has("event_loop_utilization"), false);
  s.telemetry.runtime.loopDelay(0.0004);
  s.telemetry.runtime.loopUtilization(0.02);
  const f = await s.scrape();
  assert.equal(value(f, "event_loop_delay_seconds_count"), 1);
  assert.equal(value(f, "event_loop_delay_seconds_bucket", { le: "0.001" }), 1);
  assert.equal(value(f, "event_loop_utilization"), 0.02);
});

Deno.test("series over a closed set of label values are exported at 0 from start-up", async () => {
  await using t = setUp();
  const f = await t.scrape();
  for (const limit of WS_LIMITS) assert.equal(value(f, "ws_limit_exceeded_total", { limit }), 0);
  for (const reason of HANDLER_CANCEL_REASONS) {
    assert.equal(value(f, "handler_host_restarts_total", { reason }), 0, reason);
  }
});

Deno.test("the catalog exports every series over the app's values at 0", async (t) => {
  await using s = setUp();
  s.telemetry.vm.stateTableAtCapacity("Token", true);
  s.telemetry.projector.mutationsProcessed("Token", 3);
  s.telemetry.observe.catalog({
    entities: ["Token", "Holder"],
    modes: ["list", "state", "append"],
    views: ["Token/list", "Holder/latest"],
    sources: ["demo", "upstream"],
  });
  const f = await s.scrape();

  await t.step("per entity, per entity and reason, per mode and entity", () => {
    assert.equal(value(f, "mutations_processed_total", { entity: "Holder" }), 0);
    assert.equal(value(f, "view_cache_evictions_total", { entity: "Holder" }), 0);
    assert.equal(value(f, "state_table_evictions_total", { entity: "Token" }), 0);
    assert.equal(value(f, "state_table_at_capacity", { entity: "Holder" }), 0);
    for (const reason of HANDLER_CANCEL_REASONS) {
      assert.equal(value(f, "handler_cancellations_total", { entity: "Holder", reason }), 0);
    }
    for (const mode of ["list", "state", "append"]) {
      assert.equal(value(f, "frames_published_total", { mode, entity: "Token" }), 0);
    }
  });
  await t.step("per view and per source", () => {
    for (const view of ["Token/list", "Holder/latest"]) {
      assert.equal(value(f, "subscriptions_created_total", { view }), 0);
      assert.equal(value(f, "subscriptions_removed_total", { view }), 0);
      assert.equal(value(f, "projector_view_errors_total", { view }), 0);
    }
    // A view's errors are the view's: no series holds an entity's name.
    const viewErrors = f.get("projector_view_errors_total")?.samples.map((s) => s.labels.view);
    assert.deepEqual(viewErrors?.sort(), ["Holder/latest", "Token/list"]);
    assert.equal(value(f, "source_events_total", { source: "upstream" }), 0);
  });
  await t.step("what was recorded before stays, and recording goes on from there", async () => {
    assert.equal(value(f, "state_table_at_capacity", { entity: "Token" }), 1, "still full");
    assert.equal(value(f, "mutations_processed_total", { entity: "Token" }), 3);
    s.telemetry.projector.mutationsProcessed("Holder", 2);
    s.telemetry.ws.subscriptionCreated("Token/list");
    const after = await s.scrape();
    assert.equal(value(after, "mutations_processed_total", { entity: "Holder" }), 2);
    assert.equal(value(after, "subscriptions_created_total", { view: "Token/list" }), 1);
    assert.equal(value(after, "mutations_processed_total", { entity: "Token" }), 3);
  });
  await t.step("no series for values nobody announced", () => {
    const codes = f.get("handler_errors_total")?.samples.length ?? 0;
    assert.equal(codes, 0, "error codes are not known up front");
  });
});

Deno.test("with an exporter, export failures start at 0 for every signal", async (t) => {
  for (const exportSignals of [["traces"], ["traces", "metrics"], []]) {
    await t.step(`exporting ${exportSignals.join(", ") || "nothing"}`, async () => {
      const endpoint = createMetricsEndpoint();
      const meterProvider = new MeterProvider({ readers: [endpoint.reader] });
      try {
        createMetricFacades([meterProvider.getMeter("pharos")], { exportSignals });
        const f = parsePrometheusText(await endpoint.render());
        if (exportSignals.length === 0) {
          assert.equal(f.has("telemetry_export_failures_total"), false, "no exporter, no counter");
          return;
        }
        for (const signal of ZEROED_EXPORT_SIGNALS) {
          assert.equal(value(f, "telemetry_export_failures_total", { signal }), 0, signal);
        }
      } finally {
        await meterProvider.shutdown();
      }
    });
  }
});

Deno.test("a reading that throws costs only its own gauge", async () => {
  await using t = setUp();
  t.telemetry.observe.health(() => {
    throw new Error("board gone");
  });
  t.telemetry.observe.pipeline(() => ({ pending: 1, capacity: 10 }));
  const f = await t.scrape();
  assert.equal(value(f, "pipeline_pending_events"), 1);
  assert.equal(f.get("pharos_ready")?.samples.length ?? 0, 0);
});

/** What the OTLP exporter would send: name, unit, type and monotonicity of each metric. */
async function otlpView(endpoint: MetricsEndpoint) {
  const { resourceMetrics } = await endpoint.reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((scope) =>
    scope.metrics.map((metric) => {
      const type: PrometheusNameInput["type"] = metric.dataPointType === DataPointType.HISTOGRAM
        ? "histogram"
        : metric.dataPointType === DataPointType.SUM
        ? "sum"
        : "gauge";
      return {
        name: metric.descriptor.name,
        unit: metric.descriptor.unit,
        type,
        monotonic: metric.dataPointType === DataPointType.SUM && metric.isMonotonic,
      };
    })
  );
}

Deno.test("the Collector's OTLP→Prometheus translation gives the same catalog names", async () => {
  await using t = setUp(true);
  recordOneOfEach(t.telemetry);
  const otlp = await otlpView(t.endpoint);
  const translated = otlp.map((metric) => toPrometheusName(metric)).sort();
  assert.deepEqual(translated, Object.keys(EXPECTED).sort());
  // And without suffixes (add_metric_suffixes: false) nothing changes either: names already
  // carry them, and units are real units only where the name says so.
  for (const metric of otlp) {
    assert.equal(metric.name, toPrometheusName(metric), metric.name);
    if (metric.name.endsWith("_seconds") || metric.name.endsWith("_seconds_total")) {
      assert.equal(metric.unit, "s", `${metric.name} unit`);
    } else if (metric.name.endsWith("_bytes")) {
      assert.equal(metric.unit, "By", `${metric.name} unit`);
    } else {
      assert.equal(metric.unit, "", `${metric.name} has no unit (a "1" would add _ratio)`);
    }
  }
});

Deno.test("every definition is in the expected table and the content type is 0.0.4", () => {
  const names = Object.values(METRIC_DEFINITIONS).map((d) =>
    d.name === "telemetry_export_failures_total" ? undefined : d.name
  ).filter((n) => n !== undefined).sort();
  assert.deepEqual(names, Object.keys(EXPECTED).sort());
  assert.equal(PROMETHEUS_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
});

Deno.test("render rejects when the reader is not attached to a MeterProvider", async () => {
  const endpoint = createMetricsEndpoint();
  await assert.rejects(endpoint.render());
});
