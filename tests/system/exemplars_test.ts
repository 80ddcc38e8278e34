/**
 * Exemplars end to end: a real Prometheus with exemplar storage scrapes a real Pharos, which
 * answers in OpenMetrics format and exports its spans to a real OTLP receiver. The latency
 * histograms' exemplars are stored, and their trace ids are traces the receiver got.
 */
import assert from "node:assert/strict";
import { startOtlpReceiver } from "../fakes/otlp_receiver.ts";
import { Prometheus } from "../fakes/prometheus_server.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { eventually } from "../wait.ts";

interface ExemplarSeries {
  readonly seriesLabels: Readonly<Record<string, string>>;
  readonly exemplars: readonly { labels: Record<string, string>; value: string }[];
}

Deno.test("exemplars: stored by a real Prometheus, their traces at the receiver", async () => {
  await using receiver = await startOtlpReceiver();
  await using server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_DEMO_RATE: "200",
    PHAROS_FUNCTION_CALL_METRICS: "1",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "100",
  });
  const port = await server.port;
  const scrape = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: { accept: "application/openmetrics-text; version=1.0.0" },
  });
  assert.match(scrape.headers.get("content-type") ?? "", /^application\/openmetrics-text/);
  assert.match(await scrape.text(), /# EOF\n$/);

  await using prometheus = await Prometheus.start(
    { pharos: `127.0.0.1:${port}` },
    ["exemplar-storage"],
  );
  const exemplarsOf = async (metric: string) => {
    const now = Date.now() / 1000;
    const data = await prometheus.api<ExemplarSeries[]>("query_exemplars", {
      query: `${metric}_bucket`,
      start: String(now - 300),
      end: String(now + 60),
    });
    return data.flatMap((series) => series.exemplars);
  };
  const traceIds = () =>
    new Set(receiver.spans().filter((s) => s.name === "process pipeline").map((s) => s.traceId));
  for (
    const metric of [
      "projector_latency_seconds",
      "handler_host_batch_duration_seconds",
      "handler_call_duration_seconds",
    ]
  ) {
    let seen: unknown[] = [];
    const found = await eventually(
      async () => {
        const ids = traceIds();
        const exemplars = await exemplarsOf(metric);
        seen = exemplars;
        return exemplars.find((e) => ids.has(e.labels.trace_id!));
      },
      `an exemplar of ${metric} whose trace the receiver has`,
      {
        timeoutMs: 20_000,
        everyMs: 500,
        detail: () => `exemplars: ${JSON.stringify(seen.slice(0, 3))}, ${traceIds().size} traces`,
      },
    );
    assert.match(found.labels.trace_id!, /^[0-9a-f]{32}$/);
    assert.match(found.labels.span_id!, /^[0-9a-f]{16}$/);
    assert.ok(Number(found.value) >= 0);
  }
  const up = await prometheus.query('up{job="pharos"}');
  assert.deepEqual((up.result as { value: [number, string] }[]).map((r) => r.value[1]), ["1"]);
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());
});

Deno.test("exemplars: Prometheus keeps them and Grafana links them to Jaeger", async () => {
  const root = new URL("../../", import.meta.url);
  const read = (path: string) => Deno.readTextFile(new URL(path, root));
  assert.match(await read("compose.yaml"), /--enable-feature=exemplar-storage/);
  const datasources = await read("ops/grafana/provisioning/datasources/datasources.yml");
  assert.match(
    datasources,
    /exemplarTraceIdDestinations:\n\s+- name: trace_id\n\s+datasourceUid: jaeger/,
  );
  const exemplarTargets: string[] = [];
  for (const file of ["projector.json", "handlers.json"]) {
    const dashboard = JSON.parse(await read(`ops/grafana/dashboards/${file}`));
    const walk = (panels: { targets?: { expr?: string; exemplar?: boolean }[]; panels?: [] }[]) => {
      for (const panel of panels) {
        for (const target of panel.targets ?? []) {
          if (target.exemplar === true) exemplarTargets.push(target.expr ?? "");
        }
        walk(panel.panels ?? []);
      }
    };
    walk(dashboard.panels);
  }
  for (const metric of ["projector_latency_seconds", "handler_host_batch_duration_seconds"]) {
    assert.ok(
      exemplarTargets.some((expr) => expr.includes(`${metric}_bucket`)),
      `a ${metric} panel shows exemplars`,
    );
  }
});
