import assert from "node:assert/strict";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { parsePrometheusText } from "../../tests/fakes/prometheus_text.ts";
import { EmptyHistograms } from "./empty_histograms.ts";
import { createMetricFacades } from "./otel_metrics.ts";
import { createMetricsEndpoint } from "./prometheus.ts";

Deno.test("empty histograms: each view's delivery lag is on /metrics from start, at 0", async (t) => {
  const emptyHistograms = new EmptyHistograms();
  const endpoint = createMetricsEndpoint({ emptyHistograms });
  const provider = new MeterProvider({ readers: [endpoint.reader] });
  const facades = createMetricFacades([provider.getMeter("pharos")], { emptyHistograms });
  facades.observe.catalog({ views: ["Token/list", 'Odd "view"'] });
  const series = (text: string, view: string) =>
    parsePrometheusText(text).get("event_delivery_lag_seconds")?.samples.filter((s) =>
      s.labels.view === view
    ) ?? [];

  await t.step("before any frame: buckets, sum and count at 0, in one family", async () => {
    const text = await endpoint.render();
    const samples = series(text, "Token/list");
    assert.ok(samples.length > 3, "a series for Token/list");
    assert.ok(samples.every((s) => s.value === 0));
    assert.ok(samples.some((s) => s.name.endsWith("_bucket") && s.labels.le === "+Inf"));
    // A label value is escaped as the exposition escapes it.
    assert.match(
      text,
      /^event_delivery_lag_seconds_bucket\{view="Odd \\"view\\"",le="\+Inf"\} 0$/m,
    );
    assert.equal(text.match(/^# TYPE event_delivery_lag_seconds histogram$/gm)?.length, 1);
    assert.ok(text.endsWith("\n"));
  });

  await t.step("after a frame: the recorded series, and still one family", async () => {
    facades.ws.deliveryLag("Token/list", 0.004);
    const text = await endpoint.render();
    const count = series(text, "Token/list").filter((s) => s.name.endsWith("_count"));
    assert.deepEqual(count.map((s) => s.value), [1], "the real series, not a second empty one");
    assert.match(text, /^event_delivery_lag_seconds_count\{view="Odd \\"view\\""\} 0$/m);
    assert.equal(text.match(/^# TYPE event_delivery_lag_seconds histogram$/gm)?.length, 1);
    assert.match(
      await endpoint.render("openmetrics"),
      /event_delivery_lag_seconds_count\{view="Odd \\"view\\""\} 0\n/,
    );
  });
  await provider.shutdown();
});
