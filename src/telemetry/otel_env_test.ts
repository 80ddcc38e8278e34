import assert from "node:assert/strict";
import { parseKeyValueList, toOtelSettings } from "./otel_env.ts";

const input = { serviceName: "pharos", serviceVersion: "0.1.0" };

Deno.test("no endpoint configured: nothing is exported, defaults everywhere", () => {
  const s = toOtelSettings(input, {});
  assert.equal(s.traces, undefined);
  assert.equal(s.metrics, undefined);
  assert.equal(s.denoNative, false);
  assert.equal(s.disabled, false);
  assert.deepEqual(s.sampler, { name: "parentbased_always_on", ratio: 1 });
  assert.equal(s.metricExportIntervalMs, 60_000);
  assert.equal(s.metricExportTimeoutMs, 30_000);
  assert.deepEqual(s.spanQueue, {
    maxQueueSize: 2048,
    maxExportBatchSize: 512,
    scheduledDelayMs: 5000,
    exportTimeoutMs: 30_000,
  });
  assert.deepEqual(s.resource, { "service.name": "pharos", "service.version": "0.1.0" });
  assert.deepEqual(s.warnings, []);
});

Deno.test("endpoints: general env gets signal paths, specific env is used as given", async (t) => {
  await t.step("OTEL_EXPORTER_OTLP_ENDPOINT", () => {
    const s = toOtelSettings(input, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" });
    assert.equal(s.traces?.url, "http://collector:4318/v1/traces");
    assert.equal(s.metrics?.url, "http://collector:4318/v1/metrics");
    assert.equal(s.traces?.timeoutMs, 10_000);
    assert.equal(s.traces?.gzip, false);
  });
  await t.step("a path prefix is kept", () => {
    const s = toOtelSettings(input, { OTEL_EXPORTER_OTLP_ENDPOINT: "https://gw.example/otlp" });
    assert.equal(s.traces?.url, "https://gw.example/otlp/v1/traces");
  });
  await t.step("signal-specific wins and is not extended", () => {
    const s = toOtelSettings(input, {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://tempo:4318/custom",
    });
    assert.equal(s.traces?.url, "http://tempo:4318/custom");
    assert.equal(s.metrics?.url, "http://collector:4318/v1/metrics");
  });
  await t.step("config endpoint beats the general env, not the specific one", () => {
    const s = toOtelSettings({ ...input, otlpEndpoint: "http://from-config:4318" }, {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://from-env:4318",
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://metrics:9000/v1/metrics",
    });
    assert.equal(s.traces?.url, "http://from-config:4318/v1/traces");
    assert.equal(s.metrics?.url, "http://metrics:9000/v1/metrics");
  });
  await t.step("only one signal configured", () => {
    const s = toOtelSettings(input, {
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://127.0.0.1:4318/v1/metrics",
    });
    assert.equal(s.traces, undefined);
    assert.equal(s.metrics?.url, "http://127.0.0.1:4318/v1/metrics");
  });
  await t.step("OTEL_*_EXPORTER=none turns a signal off", () => {
    const s = toOtelSettings(input, {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_TRACES_EXPORTER: "none",
    });
    assert.equal(s.traces, undefined);
    assert.ok(s.metrics);
  });
  await t.step("an invalid URL is reported and that signal is off", () => {
    const s = toOtelSettings(input, { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" });
    assert.equal(s.traces, undefined);
    assert.equal(s.metrics, undefined);
    assert.equal(s.logs, undefined);
    assert.equal(s.warnings.length, 3);
    assert.match(s.warnings[0]!, /OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318"/);
  });
  await t.step("empty values count as unset", () => {
    const s = toOtelSettings(input, { OTEL_EXPORTER_OTLP_ENDPOINT: " ", OTEL_SERVICE_NAME: "" });
    assert.equal(s.traces, undefined);
    assert.equal(s.resource["service.name"], "pharos");
  });
});

Deno.test("headers, timeout and compression of the exporters", () => {
  const s = toOtelSettings(input, {
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
    OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20abc, x-tenant = a",
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-tenant=traces",
    OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: "700",
    OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
  });
  assert.deepEqual(s.traces?.headers, { authorization: "Bearer abc", "x-tenant": "traces" });
  assert.deepEqual(s.metrics?.headers, { authorization: "Bearer abc", "x-tenant": "a" });
  assert.equal(s.traces?.timeoutMs, 2500);
  assert.equal(s.metrics?.timeoutMs, 700);
  assert.equal(s.traces?.gzip, true);
});

Deno.test("service name and resource attributes precedence", () => {
  const attrs = "service.name=from-attrs,deployment.environment=prod,service.version=9%2E9";
  assert.deepEqual(toOtelSettings(input, { OTEL_RESOURCE_ATTRIBUTES: attrs }).resource, {
    "service.name": "from-attrs",
    "service.version": "9.9",
    "deployment.environment": "prod",
  });
  const named = toOtelSettings(input, {
    OTEL_RESOURCE_ATTRIBUTES: attrs,
    OTEL_SERVICE_NAME: "from-env",
  });
  assert.equal(named.resource["service.name"], "from-env");
});

Deno.test("samplers", async (t) => {
  const sampler = (env: Record<string, string>) => toOtelSettings(input, env);
  for (
    const name of [
      "always_on",
      "always_off",
      "traceidratio",
      "parentbased_always_on",
      "parentbased_always_off",
      "parentbased_traceidratio",
    ]
  ) {
    await t.step(name, () => {
      const s = sampler({
        OTEL_TRACES_SAMPLER: name.toUpperCase(),
        OTEL_TRACES_SAMPLER_ARG: "0.25",
      });
      assert.equal(s.sampler.name, name);
      assert.equal(s.sampler.ratio, name.endsWith("traceidratio") ? 0.25 : 1);
      assert.deepEqual(s.warnings, []);
    });
  }
  await t.step("unknown sampler and bad ratio are reported", () => {
    assert.equal(
      sampler({ OTEL_TRACES_SAMPLER: "jaeger_remote" }).sampler.name,
      "parentbased_always_on",
    );
    assert.equal(sampler({ OTEL_TRACES_SAMPLER: "jaeger_remote" }).warnings.length, 1);
    const bad = sampler({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" });
    assert.equal(bad.sampler.ratio, 1);
    assert.match(bad.warnings[0]!, /OTEL_TRACES_SAMPLER_ARG=2/);
  });
});

Deno.test("intervals and queue sizes; the metric timeout never exceeds the interval", () => {
  const s = toOtelSettings(input, {
    OTEL_METRIC_EXPORT_INTERVAL: "5000",
    OTEL_BSP_MAX_QUEUE_SIZE: "100",
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "512",
    OTEL_BSP_SCHEDULE_DELAY: "200",
  });
  assert.equal(s.metricExportIntervalMs, 5000);
  assert.equal(s.metricExportTimeoutMs, 5000);
  assert.equal(s.spanQueue.maxQueueSize, 100);
  assert.equal(s.spanQueue.maxExportBatchSize, 100);
  assert.equal(s.spanQueue.scheduledDelayMs, 200);
  const bad = toOtelSettings(input, { OTEL_METRIC_EXPORT_INTERVAL: "soon" });
  assert.equal(bad.metricExportIntervalMs, 60_000);
  assert.match(bad.warnings[0]!, /OTEL_METRIC_EXPORT_INTERVAL="soon"/);
});

Deno.test("OTEL_SDK_DISABLED and OTEL_DENO", () => {
  const disabled = toOtelSettings(input, {
    OTEL_SDK_DISABLED: "TRUE",
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
  });
  assert.equal(disabled.disabled, true);
  assert.equal(disabled.traces, undefined);
  assert.equal(disabled.metrics, undefined);
  assert.equal(toOtelSettings(input, { OTEL_DENO: "true" }).denoNative, true);
  assert.equal(toOtelSettings(input, { OTEL_DENO: "1" }).denoNative, false);
});

Deno.test("parseKeyValueList skips and reports malformed entries", () => {
  const warnings: string[] = [];
  assert.deepEqual(parseKeyValueList("a=1,,novalue,=x,b=%E0%A4%A,c= 3 ", "VAR", warnings), {
    a: "1",
    c: "3",
  });
  assert.equal(warnings.length, 3);
});
