import assert from "node:assert/strict";
import { startOtlpReceiver } from "../fakes/otlp_receiver.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { closedPort, sample } from "./_helpers.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { until } from "../wait.ts";

Deno.test("collector down: Pharos keeps serving, failures are counted; back: exports resume", async () => {
  const port = closedPort();
  await using server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_DEMO_RATE: "200",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_METRIC_EXPORT_INTERVAL: "200",
    OTEL_BSP_SCHEDULE_DELAY: "100",
    OTEL_EXPORTER_OTLP_TIMEOUT: "500",
  });
  const pharos = await server.port;
  await using client = await TestClient.connect(`ws://127.0.0.1:${pharos}`);
  client.send({ type: "subscribe", view: "Token/list" });
  // Until both signals have failed to export (and been counted) at least once.
  let metrics = "";
  const failures = (signal: string) =>
    sample(metrics, "telemetry_export_failures_total", `{signal="${signal}"}`);
  await until(
    async () => {
      metrics = await (await fetch(`http://127.0.0.1:${pharos}/metrics`)).text();
      return failures("metrics") > 0 && failures("traces") > 0;
    },
    "failed exports of metrics and traces, counted",
    {
      timeoutMs: 10_000,
      everyMs: 100,
      detail: () => metrics,
    },
  );

  const ready = await fetch(`http://127.0.0.1:${pharos}/ready`);
  assert.equal(ready.status, 200, "serving while the collector is down");
  await ready.body?.cancel();
  const before = client.ops("patch").length;
  await client.waitFor((f) => f.filter((x) => x.json.op === "patch").length > before + 10);
  const rss = sample(metrics, "process_resident_memory_bytes");
  assert.ok(rss > 0 && rss < 512 * 1024 * 1024, `RSS ${rss}`);
  await until(
    () => /WARN pharos\.telemetry: .*export/i.test(server.stdout()),
    "the failure to be logged",
  );

  // The collector comes back on the same port: spans and metrics flow again.
  await using receiver = await startOtlpReceiver({ port });
  await receiver.waitFor((r) => r.spans().length > 0 && r.metrics().length > 0, 10_000);
  assert.ok(receiver.spans().some((span) => span.name === "process pipeline"));
  metrics = await (await fetch(`http://127.0.0.1:${pharos}/metrics`)).text();
  assert.ok(sample(metrics, "ws_connections_total") >= 1);
  await client[Symbol.asyncDispose]();
  server.child.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr());
});
