/**
 * The ops files against a real Prometheus (Debian's `prometheus` binary) scraping a real
 * Pharos every second: every alert rule of ops/prometheus/alerts.yml evaluates without error,
 * the alerts an operator relies on go pending when their cause happens (a dead upstream,
 * failing handlers, stalled clients, Redis gone under a cluster-mode instance), and every
 * PromQL expression of every Grafana dashboard evaluates and returns data (the cluster
 * dashboard's from a cluster-mode instance on a real redis-server, scraped as
 * `pharos-cluster`; the delivery lag panels from a client that stays subscribed). Loopback only;
 * Prometheus keeps its TSDB in a temp dir.
 */
import assert from "node:assert/strict";
import { startInstance } from "../fakes/cluster_instance.ts";
import { startOtlpReceiver } from "../fakes/otlp_receiver.ts";
import { startRedis } from "../fakes/redis_server.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { UpstreamFeed } from "../fakes/upstream_feed.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { Prometheus, type QueryResult } from "../fakes/prometheus_server.ts";
import { RawWebSocket } from "../integration/_raw_ws.ts";
import { eventually } from "../wait.ts";

const ROOT = new URL("../../", import.meta.url);
const ALERTS = new URL("ops/prometheus/alerts.yml", ROOT).pathname;
const DASHBOARDS = new URL("ops/grafana/dashboards/", ROOT);

/**
 * Stalled clients to drop: SlowConsumerDisconnects needs `rate(…[5m]) > 0.05`, i.e. more than
 * 15 drops within the window (Prometheus extrapolates a young series by half an interval only).
 */
const STALLED_CLIENTS = 20;

// ---------------------------------------------------------------------------------------------
// Dashboards.

type Json = Record<string, unknown>;

/** Every PromQL expression of a dashboard: panel targets (rows included) and variable queries. */
function dashboardExprs(dashboard: Json): string[] {
  const exprs: string[] = [];
  const walk = (panels: unknown) => {
    for (const panel of (Array.isArray(panels) ? panels : []) as Json[]) {
      for (const target of (panel.targets ?? []) as Json[]) {
        if (typeof target.expr === "string" && target.expr.trim() !== "") exprs.push(target.expr);
      }
      walk(panel.panels);
    }
  };
  walk(dashboard.panels);
  const variables = ((dashboard.templating as Json | undefined)?.list ?? []) as Json[];
  for (const variable of variables) {
    const query = variable.query as Json | string | undefined;
    const text = typeof query === "string" ? query : query?.query;
    const selector = typeof text === "string"
      ? text.trim().match(/^label_values\((.*),\s*[A-Za-z_]\w*\s*\)$/s)?.[1]
      : undefined;
    if (variable.type === "query" && selector !== undefined) exprs.push(selector);
  }
  return exprs;
}

/**
 * The dashboard's variables as Grafana would fill them by default: a custom variable's
 * current value, `instance` the target scraped as the dashboard's `job` (default `pharos`;
 * its All value `.*` would do too, but the target is stricter), and the interval variables
 * a value Prometheus accepts.
 */
function substitute(
  expr: string,
  dashboard: Json,
  targets: Readonly<Record<string, string>>,
): string {
  const values = new Map<string, string>([
    ["__rate_interval", "1m"],
    ["__interval", "15s"],
    ["__range", "5m"],
  ]);
  const variables = ((dashboard.templating as Json | undefined)?.list ?? []) as Json[];
  for (const variable of variables) {
    const name = variable.name as string;
    if (values.has(name) || name === "instance") continue;
    const current = (variable.current as Json | undefined)?.value;
    const value = Array.isArray(current) ? current[0] : current;
    if (typeof value === "string") {
      values.set(name, value === "$__all" ? String(variable.allValue ?? ".*") : value);
    }
  }
  const instance = targets[values.get("job") ?? "pharos"] ?? targets.pharos!;
  values.set("instance", instance.replaceAll(".", "\\\\."));
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced, bare) => {
    const value = values.get(braced ?? bare);
    return value ?? whole;
  });
}

/** True when an instant query answered with at least one sample. */
function hasData(result: QueryResult): boolean {
  if (result.resultType === "vector" || result.resultType === "matrix") {
    return (result.result as unknown[]).length > 0;
  }
  return result.result !== undefined && result.result !== null; // scalar, string
}

// ---------------------------------------------------------------------------------------------

/** A random string of `length` base64 characters: incompressible payload for big frames. */
function noise(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil((length * 3) / 4)));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).slice(0, length);
}

Deno.test("a real Prometheus: rules evaluate, alerts go pending on their causes, dashboards have data", async (t) => {
  await using stack = new AsyncDisposableStack();
  const feed = stack.use(new UpstreamFeed());
  const receiver = stack.use(await startOtlpReceiver());
  const server = stack.use(spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_STACK: "tests/fixtures/otel_stack.ts",
    // The opt-in handler_call_duration_seconds, so its dashboard panels are checked too.
    PHAROS_FUNCTION_CALL_METRICS: "1",
    PHAROS_SOURCES: "demo,ingest,upstream",
    PHAROS_INGEST_TOKEN: "t",
    PHAROS_UPSTREAM_URL: feed.url,
    // Readiness hangs on the upstream alone; it is unhealthy 2 × 1 s after it dies.
    PHAROS_REQUIRED_SOURCES: "upstream",
    PHAROS_HEARTBEAT_MS: "1000",
    PHAROS_DEMO_RATE: "20",
    // Small outbound queues, so a client that never reads is dropped after a few big frames.
    PHAROS_QUEUE_FRAMES: "4",
    PHAROS_QUEUE_BYTES: "65536",
    // Exporting registers telemetry_export_failures_total (at 0 for every signal).
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  }));
  const port = await server.port;
  const base = `http://127.0.0.1:${port}`;
  const target = `127.0.0.1:${port}`;

  // The upstream stays healthy while it sends events (more often than the 1 s heartbeat).
  let slot = 1;
  const publishing = setInterval(() => {
    feed.publish({
      type: "Transfer",
      slot: slot++,
      index: 0,
      data: { mint: "upstream", from: "a", to: "b", amount: "1" },
    });
  }, 200);
  stack.defer(() => clearInterval(publishing));

  // A cluster-mode instance on a real Redis, scraped as the compose file's cluster job: the
  // cluster dashboard and alerts read it.
  const redis = stack.use(await startRedis());
  const clusterInstance = stack.use(await startInstance({ id: "solo", redisUrl: redis.url }));
  await clusterInstance.ready();
  const targets = { pharos: target, "pharos-cluster": `127.0.0.1:${clusterInstance.port}` };

  const prometheus = stack.use(await Prometheus.start(targets));

  const ingest = async (events: readonly Record<string, unknown>[]) => {
    const response = await fetch(`${base}/ingest`, {
      method: "POST",
      headers: { authorization: "Bearer t" },
      body: events.map((e) => JSON.stringify(e)).join("\n"),
    });
    assert.equal(response.status, 202, await response.text());
  };

  // One connection that ends, so ws_connection_duration_seconds has a sample.
  {
    await using client = await TestClient.connect(`ws://${target}/`);
    client.send({ type: "subscribe", view: "Token/list" });
    await client.waitFor((frames) => frames.some((f) => f.json.op === "subscribed"));
    client.socket.close(1000);
    await client.closed;
  }

  await t.step("every rule evaluates over scraped data: health ok, no error", async () => {
    const up = await eventually(
      async () => {
        const { result } = await prometheus.query(`up{job="pharos"} == 1`);
        return (result as { metric: Record<string, string> }[])[0];
      },
      "the first scrape of Pharos",
      { timeoutMs: 10_000, everyMs: 250 },
    );
    assert.equal(up.metric.instance, target);
    const scraped = Date.now();
    const rules = await eventually(
      async () => {
        const rules = await prometheus.rules();
        const fresh = rules.every((r) => Date.parse(r.lastEvaluation) > scraped);
        return rules.length > 0 && fresh ? rules : undefined;
      },
      "an evaluation of every rule after the scrape",
      { timeoutMs: 10_000, everyMs: 250 },
    );
    assert.ok(rules.length >= 10, `only ${rules.length} rules loaded from ${ALERTS}`);
    const unhealthy = rules.filter((r) => r.health !== "ok" || (r.lastError ?? "") !== "");
    assert.deepEqual(unhealthy, []);
  });

  // A client that stays subscribed and reads: the delivery lag panels need frames handed to a
  // socket (the demo source makes 20 Token events a second).
  await using watcher = await TestClient.connect(`ws://${target}/`);

  await t.step(
    "a reading subscriber, the event loop, the handler host: their series are scraped",
    async () => {
      watcher.send({ type: "subscribe", view: "Token/list" });
      await watcher.waitFor((frames) => frames.some((f) => f.json.op === "patch"));
      for (
        const expr of [
          `event_delivery_lag_seconds_count{job="pharos",view="Token/list"} > 0`,
          `event_delivery_lag_seconds_bucket{job="pharos",view="Token/list",le="+Inf"} > 0`,
          `event_loop_delay_seconds_count{job="pharos"} > 0`,
          `event_loop_utilization{job="pharos"} >= 0 <= 1`,
          `handler_host_heap_used_bytes{job="pharos"} > 0`,
          `handler_host_heap_used_bytes{job="pharos"} < handler_host_heap_limit_bytes{job="pharos"}`,
          `handler_host_resident_memory_bytes{job="pharos"} > 1e7`,
          `handler_host_cpu_seconds_total{job="pharos"} > 0`,
        ]
      ) {
        await eventually(
          async () => hasData(await prometheus.query(expr)) ? true : undefined,
          expr,
          { timeoutMs: 15_000, everyMs: 250 },
        );
      }
    },
  );

  await t.step("Fail events: HandlerErrors goes pending", async () => {
    // The first failure creates the series; the rate needs the ones after it.
    await prometheus.waitForAlerts(
      [{ alertname: "HandlerErrors", entity: "Token", code: "refused" }],
      () => ingest([{ type: "Fail", slot: 1, data: { mint: "m" } }]),
    );
  });

  await t.step("stalled clients: SlowConsumerDisconnects goes pending", async () => {
    await using stalled = new AsyncDisposableStack();
    for (let i = 0; i < STALLED_CLIENTS; i++) {
      const { socket, response } = await RawWebSocket.open(port);
      stalled.use(socket);
      assert.equal(response.status, 101);
      await socket.sendText({ type: "subscribe", view: "Token/list" }); // and never reads
    }
    // Transfers with 16 KB addresses make ~50 KB list frames: a few fill a stalled socket.
    let n = 0;
    const bigTransfers = () =>
      ingest(Array.from({ length: 8 }, () => ({
        type: "Transfer",
        slot: 1000 + n,
        data: { mint: `big-${n++ % 4}`, from: noise(16_384), to: noise(16_384), amount: "1" },
      })));
    await prometheus.waitForAlerts([{ alertname: "SlowConsumerDisconnects" }], bigTransfers);
  });

  await t.step("a dead upstream: StreamUnhealthy and PharosNotReady go pending", async () => {
    await eventually(
      async () => {
        const ready = await prometheus.query(`pharos_ready{job="pharos"} == 1`);
        const alerts = await prometheus.alerts();
        const notReady = alerts.some((a) => a.labels.alertname === "PharosNotReady");
        return hasData(ready) && !notReady ? true : undefined;
      },
      "pharos_ready 1 and no PharosNotReady before the kill",
      { timeoutMs: 10_000, everyMs: 250 },
    );
    clearInterval(publishing);
    await feed.kill();
    await prometheus.waitForAlerts([
      { alertname: "StreamUnhealthy", source: "upstream" },
      { alertname: "PharosNotReady" },
    ]);
  });

  await t.step("every dashboard expression evaluates and returns data", async () => {
    const problems: string[] = [];
    let checked = 0;
    for await (const entry of Deno.readDir(DASHBOARDS)) {
      if (!entry.name.endsWith(".json")) continue;
      const dashboard = JSON.parse(await Deno.readTextFile(new URL(entry.name, DASHBOARDS)));
      for (const raw of dashboardExprs(dashboard)) {
        const expr = substitute(raw, dashboard, targets);
        if (/\$\w/.test(expr)) problems.push(`${entry.name}: unknown variable in ${raw}`);
        checked++;
        try {
          const result = await prometheus.query(expr);
          if (!hasData(result)) problems.push(`${entry.name}: no data for ${expr}`);
        } catch (error) {
          problems.push(`${entry.name}: ${(error as Error).message}`);
        }
      }
    }
    assert.ok(checked > 50, `only ${checked} dashboard expressions found`);
    assert.deepEqual(problems, []);
  });

  await t.step("Redis stopped: ClusterRedisDown and ClusterLeaseLost go pending", async () => {
    const job = { job: "pharos-cluster" };
    await eventually(
      async () => {
        const held = await prometheus.query(`cluster_lease_held{job="pharos-cluster"} == 1`);
        return hasData(held) ? true : undefined;
      },
      "the cluster instance holding the lease",
      { timeoutMs: 10_000, everyMs: 250 },
    );
    await redis.stop();
    await prometheus.waitForAlerts([
      { alertname: "ClusterRedisDown", ...job, instance: targets["pharos-cluster"] },
      { alertname: "ClusterLeaseLost", ...job },
    ]);
  });

  server.child.kill("SIGTERM");
  await server.exited;
});
