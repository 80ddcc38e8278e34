/**
 * The operations bundle, checked with the real tools: `compose.yaml` with docker-compose
 * (both profiles), the cluster's load balancer configuration with haproxy, the Prometheus
 * configuration and alert rules with promtool (including the rules' unit tests), the Grafana
 * dashboards' structure and PromQL, the runbook links, and every metric name used by a
 * dashboard or a rule against the `/metrics` of a real running Pharos (cluster-mode names
 * against the list in `_cluster_metrics.ts`).
 *
 * docker-compose (Debian package `docker-compose`), promtool (Debian package `prometheus`)
 * and haproxy (Debian package `haproxy`) must be installed. Unlike the exposition lint in
 * other tests, these checks fail instead of skipping when a tool is missing, because the
 * files they check have no other validation.
 */
import assert from "node:assert/strict";
import { ProxyTracerProvider } from "@opentelemetry/api";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { createMetricsEndpoint, createOtelTelemetry } from "../../src/telemetry/mod.ts";
import { recordOneOfEach } from "../fakes/every_metric.ts";
import { until } from "../wait.ts";
import { CATALOG } from "../fakes/metric_catalog.ts";
import { startOtlpReceiver } from "../fakes/otlp_receiver.ts";
import { promtoolCheckMetrics } from "../fakes/promtool.ts";
import { spawnServer } from "../fakes/server_process.ts";
import { TestClient } from "../fakes/ws_client.ts";
import { barrier } from "../integration/_helpers.ts";
import { taskArgs } from "../integration/_tasks.ts";
import { CLUSTER_METRICS } from "./_cluster_metrics.ts";

const ROOT = new URL("../../", import.meta.url);
const path = (relative: string) => new URL(relative, ROOT).pathname;
const read = (relative: string) => Deno.readTextFile(new URL(relative, ROOT));

const COMPOSE = "compose.yaml";
const HAPROXY = "ops/haproxy/haproxy.cfg";
const PROMETHEUS_CONFIG = "ops/prometheus/prometheus.yml";
const ALERTS = "ops/prometheus/alerts.yml";
const ALERTS_TEST = "ops/prometheus/alerts_test.yml";
const DATASOURCES = "ops/grafana/provisioning/datasources/datasources.yml";
const DASHBOARDS = "ops/grafana/dashboards/";
const RUNBOOKS = "docs/runbooks.md";

const PROMTOOL_REQUIRED =
  "promtool is not installed: install the Debian package `prometheus` (`.ci/run` does)";

/** Debian packages that provide the tools (what `.ci/run` installs). */
const PACKAGES: Record<string, string> = {
  "docker-compose": "docker-compose",
  promtool: "prometheus",
  haproxy: "haproxy",
};

interface ToolResult {
  code: number;
  output: string;
}

/** Runs a CLI tool from the repository root; a missing tool fails with how to install it. */
async function tool(command: string, args: string[]): Promise<ToolResult> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(command, {
      args,
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `${command} is not installed: install the Debian package \`${
          PACKAGES[command] ?? command
        }\` (.ci/run does: apt-get install -y ${PACKAGES[command] ?? command})`,
      );
    }
    throw error;
  }
  const decoder = new TextDecoder();
  return {
    code: out.code,
    output: (decoder.decode(out.stdout) + decoder.decode(out.stderr)).trim(),
  };
}

async function assertTool(command: string, args: string[]): Promise<string> {
  const { code, output } = await tool(command, args);
  assert.equal(code, 0, `${command} ${args.join(" ")} exited ${code}:\n${output}`);
  return output;
}

// ---------------------------------------------------------------------------------------------
// A small reader for our own YAML files (no YAML parser among the dependencies): the values
// of `key:` lines, plain, quoted, or block scalars (`|`, `>`) on the lines below.

interface YamlEntry {
  key: string;
  value: string;
  line: number;
  indent: number;
}

function unquote(raw: string): string {
  const value = raw.trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
    return JSON.parse(value) as string;
  }
  if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
    return value.slice(1, -1).replaceAll("''", "'");
  }
  // A trailing comment on a plain scalar.
  return value.replace(/\s+#.*$/, "");
}

/** Every `key: value` of a YAML text, in order (list dashes are part of the indentation). */
function yamlEntries(text: string): YamlEntry[] {
  const lines = text.split("\n");
  const entries: YamlEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = lines[i]!.match(/^(\s*(?:-\s+)*)([A-Za-z_][\w.-]*):(?:\s+(.*))?$/);
    if (match === null || lines[i]!.trimStart().startsWith("#")) continue;
    const indent = match[1]!.length;
    const rest = (match[3] ?? "").trim();
    let value = rest;
    if (/^[|>][+-]?$/.test(rest)) {
      const block: string[] = [];
      while (i + 1 < lines.length) {
        const next = lines[i + 1]!;
        const nextIndent = next.length - next.trimStart().length;
        if (next.trim() !== "" && nextIndent <= indent) break;
        block.push(next.trim());
        i++;
      }
      value = block.join(rest.startsWith(">") ? " " : "\n").trim();
    } else {
      value = unquote(rest);
    }
    entries.push({ key: match[2]!, value, line: i + 1, indent });
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// PromQL: metric names and label names used by an expression.

const PROMQL_KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "atan2",
  "inf",
  "nan",
]);

/** Label names in matchers (`{job="…"}`) and in by/without/on/ignoring/group lists. */
function labelNames(expr: string): string[] {
  const names: string[] = [];
  const unstrung = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  for (const block of unstrung.matchAll(/\{([^}]*)\}/g)) {
    for (const m of block[1]!.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) names.push(m[1]!);
  }
  for (
    const list of unstrung.matchAll(
      /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    )
  ) {
    for (const name of list[1]!.split(",")) if (name.trim() !== "") names.push(name.trim());
  }
  return names;
}

/** Identifiers of an expression that name metrics: not functions, keywords, labels or values. */
function metricNames(expr: string): string[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ") // label lists
    .replace(/\$\{?\w+\}?/g, " "); // Grafana variables
  const names = new Set<string>();
  const tokens = /0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-z]*|([A-Za-z_:][\w:]*)(\s*\()?/g;
  for (const match of text.matchAll(tokens)) {
    const [, identifier, call] = match;
    if (identifier === undefined || call !== undefined) continue; // a number, or a function
    if (PROMQL_KEYWORDS.has(identifier.toLowerCase())) continue;
    names.add(identifier);
  }
  return [...names];
}

/** Grafana's `label_values(metric_selector, label)`: the selector is PromQL. */
function templatingExpr(query: string): string | undefined {
  const match = query.trim().match(/^label_values\((.*),\s*[A-Za-z_]\w*\s*\)$/s);
  return match?.[1];
}

Deno.test("PromQL name extraction ignores functions, keywords, labels, numbers and variables", () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (le, entity) (rate(handler_call_duration_seconds_bucket{job="$job", instance=~"$instance"}[5m])))',
    ),
    ["handler_call_duration_seconds_bucket"],
  );
  assert.deepEqual(
    metricNames(
      "sum(rate(path_cache_hits_total[5m])) / (sum(rate(path_cache_hits_total[5m])) + sum(rate(path_cache_misses_total[5m] offset 1h)))",
    ),
    ["path_cache_hits_total", "path_cache_misses_total"],
  );
  assert.deepEqual(
    metricNames("process_resident_memory_bytes > 4e9 and on(instance) up == bool 1"),
    [
      "process_resident_memory_bytes",
      "up",
    ],
  );
  assert.deepEqual(metricNames('count(source_healthy{x="a}b"} == 0) or vector(0)'), [
    "source_healthy",
  ]);
  assert.deepEqual(metricNames("time() - max(process_start_time_seconds)"), [
    "process_start_time_seconds",
  ]);
  assert.deepEqual(labelNames('sum by (entity, code) (rate(x{job="pharos",a!~"b"}[5m]))'), [
    "job",
    "a",
    "entity",
    "code",
  ]);
  assert.equal(
    templatingExpr('label_values(pharos_ready{job="$job"}, instance)'),
    'pharos_ready{job="$job"}',
  );
});

// ---------------------------------------------------------------------------------------------
// What the files define.

interface AlertRule {
  name: string;
  expr: string;
  fields: Map<string, string>;
}

async function alertRules(): Promise<AlertRule[]> {
  const rules: AlertRule[] = [];
  for (const entry of yamlEntries(await read(ALERTS))) {
    if (entry.key === "alert") {
      rules.push({ name: entry.value, expr: "", fields: new Map() });
      continue;
    }
    const rule = rules.at(-1);
    if (rule === undefined) continue;
    if (entry.key === "expr") rule.expr = entry.value;
    else rule.fields.set(entry.key, entry.value);
  }
  return rules;
}

interface Dashboard {
  file: string;
  json: Record<string, unknown>;
}

async function dashboards(): Promise<Dashboard[]> {
  const list: Dashboard[] = [];
  for await (const entry of Deno.readDir(path(DASHBOARDS))) {
    if (!entry.isFile || !entry.name.endsWith(".json")) continue;
    const text = await read(DASHBOARDS + entry.name);
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new Error(`${DASHBOARDS}${entry.name} is not valid JSON: ${error}`);
    }
    list.push({ file: DASHBOARDS + entry.name, json });
  }
  return list.sort((a, b) => a.file.localeCompare(b.file));
}

type Json = Record<string, unknown>;

/** Panels, including those nested in collapsed rows. */
function panelsOf(dashboard: Json): Json[] {
  const out: Json[] = [];
  for (const panel of (dashboard.panels ?? []) as Json[]) {
    out.push(panel);
    if (Array.isArray(panel.panels)) out.push(...panelsOf(panel));
  }
  return out;
}

/** Every PromQL expression of a dashboard: panel targets and `label_values` variables. */
function dashboardExprs(dashboard: Json): { where: string; expr: string }[] {
  const exprs: { where: string; expr: string }[] = [];
  for (const panel of panelsOf(dashboard)) {
    for (const target of (panel.targets ?? []) as Json[]) {
      if (typeof target.expr === "string") {
        exprs.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr });
      }
    }
  }
  const variables = ((dashboard.templating as Json | undefined)?.list ?? []) as Json[];
  for (const variable of variables) {
    if (variable.type !== "query") continue;
    const query = typeof variable.query === "string"
      ? variable.query
      : String((variable.query as Json | undefined)?.query ?? "");
    const expr = templatingExpr(query) ?? query;
    if (expr !== "") exprs.push({ where: `variable ${variable.name}`, expr });
  }
  return exprs;
}

/** Every expression of the dashboards and the rules, with where it comes from. */
async function allExprs(): Promise<{ where: string; expr: string }[]> {
  const exprs = (await alertRules()).map((rule) => ({
    where: `${ALERTS} ${rule.name}`,
    expr: rule.expr,
  }));
  for (const { file, json } of await dashboards()) {
    exprs.push(...dashboardExprs(json).map((e) => ({ where: `${file} ${e.where}`, expr: e.expr })));
  }
  return exprs;
}

// ---------------------------------------------------------------------------------------------
// Compose and Dockerfile.

/** The service blocks of `docker-compose config` output (normalized YAML), by name. */
function composeServices(config: string): Map<string, string> {
  const services = new Map<string, string>();
  const block = config.match(/^services:\n((?: {2}.*\n|\n)*)/m)?.[1] ?? "";
  for (const part of block.split(/^(?= {2}[\w.-]+:$)/m)) {
    const name = part.match(/^ {2}([\w.-]+):$/m)?.[1];
    if (name !== undefined) services.set(name, part);
  }
  return services;
}

/** The `profiles` of a service block (none: the service is always on). */
function profilesOf(service: string): string[] {
  const list = service.match(/^ {4}profiles:\n((?: {4}(?: {2})?- .*\n)+)/m)?.[1] ?? "";
  return [...list.matchAll(/- (\S+)/g)].map((m) => m[1]!);
}

Deno.test("compose.yaml: docker-compose config -q accepts it, six services by default and the cluster profile", async () => {
  await assertTool("docker-compose", ["-f", COMPOSE, "config", "-q"]);
  await assertTool("docker-compose", ["-f", COMPOSE, "--profile", "cluster", "config", "-q"]);
  const services = composeServices(await assertTool("docker-compose", ["-f", COMPOSE, "config"]));
  const always = [...services].filter(([, block]) => profilesOf(block).length === 0);
  assert.deepEqual(always.map(([name]) => name).sort(), [
    "grafana",
    "jaeger",
    "loki",
    "otel-collector",
    "pharos",
    "prometheus",
  ]);
  const cluster = [...services].filter(([, block]) => profilesOf(block).includes("cluster"));
  assert.deepEqual(cluster.map(([name]) => name).sort(), ["lb", "pharos-a", "pharos-b", "redis"]);
  assert.equal(services.size, always.length + cluster.length, "a service in another profile");

  // The cluster instances: Pharos's image and telemetry settings, plus the shared log.
  const pharos = services.get("pharos")!;
  for (const name of ["pharos-a", "pharos-b"]) {
    const block = services.get(name)!;
    assert.match(block, /^ {4}image: pharos:local$/m, name);
    assert.match(block, /^ {6}PHAROS_REDIS_URL: redis:\/\/redis:6379$/m, name);
    assert.match(block, new RegExp(`^ {6}PHAROS_INSTANCE_ID: ${name}$`, "m"), name);
    for (const line of pharos.match(/^ {6}OTEL_\w+: .*$/gm) ?? []) {
      assert.ok(block.includes(line + "\n"), `${name} lacks pharos's ${line.trim()}`);
    }
  }
  const redis = services.get("redis")!;
  assert.match(redis, /^ {4}image: redis:7\.2\.\d+$/m);
  assert.match(
    redis,
    /^ {4}command:\n(?: {4}- .*\n)*? {4}- --appendonly\n {4}- ["']yes["']\n {4}- --appendfsync\n {4}- everysec\n/m,
  );
  const lb = services.get("lb")!;
  assert.match(lb, /^ {4}image: haproxy:2\.8\.\d+$/m);
  assert.match(lb, /published: 8878\n\s+target: 8878\n/);

  const compose = await read(COMPOSE);
  for (const [, image] of compose.matchAll(/^\s*image:\s*(\S+)/gm)) {
    assert.match(image!, /:[\w][\w.-]*$/, `image ${image} has no pinned tag`);
    assert.doesNotMatch(image!, /:latest$/, `image ${image} is not pinned`);
  }
  for (
    const mount of [
      "./ops/otel-collector.yaml:",
      "./ops/prometheus:", // the folder: rule_files are relative to prometheus.yml
      "./ops/grafana/provisioning:",
      "./ops/grafana/dashboards:",
      "./ops/haproxy/haproxy.cfg:",
    ]
  ) {
    assert.ok(compose.includes(mount), `compose.yaml does not mount ${mount}`);
  }
});

/** An haproxy time (`300`, `5s`, `1h`, …; milliseconds without a unit) in milliseconds. */
function haproxyMs(value: string): number {
  const match = value.match(/^(\d+)(us|ms|s|m|h|d)?$/);
  assert.ok(match, `not an haproxy time: ${value}`);
  const unit = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  return Number(match[1]) * unit[(match[2] ?? "ms") as keyof typeof unit];
}

Deno.test("haproxy.cfg: haproxy -c accepts it; /ready checks, WebSocket tunnel timeout, no query strings in logs", async () => {
  // Outside Docker the server names do not resolve: init-addr none lets -c pass anyway.
  const output = await assertTool("haproxy", ["-c", "-f", HAPROXY]);
  assert.match(output, /Configuration file is valid/, output);
  const cfg = (await read(HAPROXY)).replace(/^\s*#.*$/gm, "");
  assert.match(cfg, /^\s*bind :8878$/m);
  assert.match(cfg, /^\s*http-check send meth GET uri \/ready$/m);
  assert.match(cfg, /^\s*http-check expect status 200$/m);
  // The instances count each client through X-Forwarded-For (PHAROS_TRUSTED_PROXIES).
  assert.match(cfg, /^\s*option forwardfor$/m);
  for (const name of ["pharos-a", "pharos-b"]) {
    assert.match(cfg, new RegExp(`^\\s*server ${name} ${name}:8877$`, "m"));
  }
  assert.match(cfg, /^\s*default-server .*\bresolvers docker\b.*\binit-addr last,libc,none\b/m);
  assert.match(cfg, /^\s*nameserver \S+ 127\.0\.0\.11:53$/m);
  // Longer than PHAROS_IDLE_TIMEOUT_MS (300 s by default): Pharos decides when a socket is idle.
  const tunnel = cfg.match(/^\s*timeout tunnel (\S+)$/m)?.[1];
  assert.ok(tunnel, "no timeout tunnel: WebSockets would be cut after timeout client/server");
  assert.ok(haproxyMs(tunnel) > 300_000, `timeout tunnel ${tunnel} is not above 300 s`);
  // WebSocket clients may present `?hs_token=…`: no log field that carries the query string.
  const format = cfg.match(/^\s*log-format (.*)$/m)?.[1];
  assert.ok(format, "no log-format: option httplog would log the query string");
  assert.doesNotMatch(format, /%(?:\{[^}]*\})?(?:r|HU|HQ)\b/, `log-format ${format} logs queries`);
  assert.doesNotMatch(cfg, /^\s*option httplog\b/m);
});

Deno.test("Dockerfile: the project's Deno, cached dependencies, non-root, /ready healthcheck", async () => {
  const dockerfile = await read("Dockerfile");
  const deno = (await read(".ci/run")).match(/DENO_VERSION="([^"]+)"/)?.[1];
  assert.ok(deno, ".ci/run names no DENO_VERSION");
  assert.match(dockerfile, new RegExp(`^FROM denoland/deno:${deno.replaceAll(".", "\\.")}$`, "m"));
  const lockCopy = dockerfile.search(/^COPY .*deno\.json deno\.lock/m);
  const install = dockerfile.search(/^RUN deno install --frozen$/m);
  const sources = dockerfile.search(/^COPY .*\. \.$/m);
  assert.ok(lockCopy >= 0 && install > lockCopy && sources > install, "dependency layer first");
  assert.match(dockerfile, /^USER deno$/m);
  assert.match(dockerfile, /^EXPOSE 8877$/m);
  assert.match(dockerfile, /^HEALTHCHECK .*\n?.*"deno", "eval", ".*\/ready/m);
  // The start task's own command, without `deno task` and its `Task start …` line.
  const start = taskArgs("start").map((arg) => JSON.stringify(arg)).join(", ");
  assert.ok(dockerfile.includes(`\nCMD ["deno", ${start}]\n`), `CMD is not deno ${start}`);
});

// ---------------------------------------------------------------------------------------------
// Prometheus.

Deno.test("promtool: prometheus.yml and its rule files are valid", async () => {
  const output = await assertTool("promtool", ["check", "config", PROMETHEUS_CONFIG]);
  assert.match(output, /1 rule files found/, output);
  const config = await read(PROMETHEUS_CONFIG);
  assert.match(config, /targets: \["pharos:8877"\]/);
  assert.match(config, /targets: \["otel-collector:8889"\]/);
  // The cluster instances only through DNS: a static target would be down (and fire
  // PharosDown) whenever the cluster profile is not running.
  const cluster = config.slice(config.indexOf("- job_name: pharos-cluster"));
  assert.ok(cluster.length > 0 && config.includes("- job_name: pharos-cluster"), "no cluster job");
  assert.match(
    cluster,
    /dns_sd_configs:\n\s+- names: \["pharos-a", "pharos-b"\]\n\s+type: A\n\s+port: 8877\n/,
  );
  assert.doesNotMatch(
    config,
    /targets: \[[^\]]*pharos-[ab]/,
    "cluster instances as static targets",
  );
});

Deno.test("promtool: alerts.yml is valid", async () => {
  const output = await assertTool("promtool", ["check", "rules", ALERTS]);
  assert.match(output, /SUCCESS: \d+ rules found/, output);
});

Deno.test("promtool: the alert rules' unit tests pass", async () => {
  const output = await assertTool("promtool", ["test", "rules", ALERTS_TEST]);
  assert.match(output, /SUCCESS/, output);
});

Deno.test("alerts: the expected set, each with severity, annotations, runbook and tests", async () => {
  const rules = await alertRules();
  assert.deepEqual(rules.map((r) => r.name).sort(), [
    "ClusterCheckpointStale",
    "ClusterEpochChanged",
    "ClusterLeaseLost",
    "ClusterLogLag",
    "ClusterRedisDown",
    "DeliveryLagHigh",
    "EventLoopDelayHigh",
    "HandlerCancellations",
    "HandlerErrors",
    "HandlerHostNearHeapLimit",
    "HandlerHostRestarts",
    "HighErrorRate",
    "HighEvictionRate",
    "HighMemoryUsage",
    "JwksRefreshFailing",
    "PharosDown",
    "PharosNotReady",
    "RevocationListFailing",
    "SlowConsumerDisconnects",
    "StreamUnhealthy",
    "TelemetryExportFailures",
  ]);

  // Anchors of docs/runbooks.md, as GitHub makes them from the headings.
  const anchors = new Set(
    [...(await read(RUNBOOKS)).matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
      m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, "").replaceAll(" ", "-")
    ),
  );

  // alerts_test.yml: for each alert, a case that expects it and a case that expects silence.
  const firing = new Set<string>();
  const quiet = new Set<string>();
  let alertname = "";
  for (const entry of yamlEntries(await read(ALERTS_TEST))) {
    if (entry.key === "alertname") alertname = entry.value;
    if (entry.key === "exp_alerts") (entry.value === "[]" ? quiet : firing).add(alertname);
  }

  for (const rule of rules) {
    assert.match(rule.fields.get("severity") ?? "", /^(critical|warning|info)$/, rule.name);
    for (const annotation of ["summary", "description", "runbook_url"]) {
      assert.ok(rule.fields.get(annotation), `${rule.name} has no ${annotation}`);
    }
    assert.match(rule.fields.get("description")!, /\{\{ \$(value|labels\.\w+)/, rule.name);
    const runbook = rule.fields.get("runbook_url")!;
    const anchor = runbook.match(/^docs\/runbooks\.md#(.+)$/)?.[1];
    assert.ok(anchor, `${rule.name}: runbook_url ${runbook} is not docs/runbooks.md#<anchor>`);
    assert.ok(anchors.has(anchor), `${rule.name}: ${RUNBOOKS} has no section #${anchor}`);
    // The direct scrapes (standalone and cluster instances), never the collector's copy.
    assert.match(
      rule.expr,
      /job=~"pharos\|pharos-cluster"/,
      `${rule.name} must select the direct scrapes`,
    );
    assert.doesNotMatch(rule.expr, /otel-collector/, rule.name);
    // Cluster rules read only cluster metrics, so they find nothing on a standalone server.
    if (rule.name.startsWith("Cluster")) {
      const names = metricNames(rule.expr);
      assert.ok(names.length > 0 && names.every((n) => clusterMetrics.has(n)), rule.name);
    }
    assert.ok(firing.has(rule.name), `${ALERTS_TEST} has no case where ${rule.name} fires`);
    assert.ok(quiet.has(rule.name), `${ALERTS_TEST} has no case where ${rule.name} stays quiet`);
  }
});

Deno.test("otel-collector.yaml: a logs pipeline from OTLP to Loki's OTLP endpoint", async () => {
  const text = await read("ops/otel-collector.yaml");
  // yamlEntries keys have no `/`: find the exporter (name/instance) by its lines.
  assert.match(text, /^ {2}otlphttp\/loki:\n {4}endpoint: http:\/\/loki:3100\/otlp$/m);
  const entries = yamlEntries(text);
  const logs = entries.findIndex((e) => e.key === "logs" && e.indent === 4);
  assert.ok(logs >= 0, "no logs pipeline");
  const pipeline = new Map(
    entries.slice(logs + 1, logs + 4).map((e) => [e.key, e.value] as const),
  );
  assert.equal(pipeline.get("receivers"), "[otlp]");
  assert.equal(pipeline.get("exporters"), "[otlphttp/loki]");
});

// ---------------------------------------------------------------------------------------------
// Grafana.

Deno.test("Grafana provisions Loki with a trace_id link to Jaeger, and Jaeger spans link to logs", async () => {
  const entries = yamlEntries(await read(DATASOURCES));
  /** The entries of the data source whose `uid` is `uid` (up to the next `- name:`). */
  const source = (uid: string) => {
    const at = entries.findIndex((e) => e.key === "uid" && e.value === uid);
    assert.ok(at >= 1, `no data source with uid ${uid}`);
    const end = entries.findIndex((e, i) => i > at && e.key === "name" && e.indent === 4);
    return entries.slice(at - 1, end < 0 ? undefined : end);
  };
  const value = (list: typeof entries, key: string) => list.find((e) => e.key === key)?.value;

  const loki = source("loki");
  assert.equal(value(loki, "type"), "loki");
  assert.equal(value(loki, "url"), "http://loki:3100");
  const derived = loki.slice(loki.findIndex((e) => e.key === "derivedFields"));
  assert.ok(derived.length > 1, "the Loki data source has no derivedFields");
  assert.equal(value(derived, "matcherType"), "label", "matched on structured metadata");
  assert.equal(value(derived, "matcherRegex"), "trace_id");
  assert.equal(value(derived, "datasourceUid"), "jaeger", "links to the Jaeger data source");
  // `$$` is Grafana's escape for a literal `$` in provisioning files.
  assert.equal(value(derived, "url"), "$${__value.raw}");

  const jaeger = source("jaeger");
  assert.equal(value(jaeger, "type"), "jaeger");
  const toLogs = jaeger.slice(jaeger.findIndex((e) => e.key === "tracesToLogsV2"));
  assert.ok(toLogs.length > 1, "the Jaeger data source has no tracesToLogsV2");
  assert.equal(value(toLogs, "datasourceUid"), "loki");
  assert.match(value(toLogs, "query") ?? "", /\| trace_id="\$\$\{__trace\.traceId\}"/);
});

Deno.test("dashboards: valid JSON with uid, title, panels and provisioned data sources", async () => {
  const provisioned = new Set(
    yamlEntries(await read(DATASOURCES)).filter((e) => e.key === "uid").map((e) => e.value),
  );
  assert.ok(provisioned.has("prometheus") && provisioned.has("jaeger"), [...provisioned].join());

  const list = await dashboards();
  assert.deepEqual(list.map((d) => d.json.title).sort(), [
    "Cluster",
    "Handlers",
    "Health & Sources",
    "Projector Performance",
    "VM Performance",
    "WebSocket Connections",
  ]);
  const uids = new Set<string>();
  for (const { file, json } of list) {
    assert.equal(typeof json.uid, "string", `${file}: no uid`);
    assert.match(json.uid as string, /^[\w-]{1,40}$/, `${file}: uid`);
    assert.ok(!uids.has(json.uid as string), `${file}: duplicate uid ${json.uid}`);
    uids.add(json.uid as string);
    assert.equal(typeof json.title, "string", `${file}: no title`);
    assert.equal(typeof json.schemaVersion, "number", `${file}: no schemaVersion`);
    assert.ok((json.schemaVersion as number) >= 36, `${file}: schemaVersion too old`);
    const panels = panelsOf(json);
    assert.ok(panels.some((p) => Array.isArray(p.targets)), `${file}: no panel with queries`);
    const ids = new Set<unknown>();
    for (const panel of panels) {
      const where = `${file} panel "${panel.title}"`;
      assert.ok(!ids.has(panel.id), `${where}: duplicate id ${panel.id}`);
      ids.add(panel.id);
      assert.equal(typeof panel.title, "string", `${where}: no title`);
      assert.ok(panel.gridPos, `${where}: no gridPos`);
      const sources = [
        panel.datasource,
        ...((panel.targets ?? []) as Json[]).map((t) => t.datasource),
      ]
        .filter((s) => s !== undefined) as Json[];
      if (Array.isArray(panel.targets)) assert.ok(sources.length > 0, `${where}: no datasource`);
      for (const source of sources) {
        assert.ok(
          provisioned.has(source.uid as string),
          `${where}: unknown datasource ${source.uid}`,
        );
      }
    }
    assert.ok(dashboardExprs(json).length > 0, `${file}: no PromQL`);
  }
});

Deno.test("dashboards: every PromQL expression parses (promtool check rules)", async () => {
  const exprs = (await dashboards()).flatMap(({ file, json }) =>
    dashboardExprs(json).map((e) => ({ where: `${file} ${e.where}`, expr: e.expr }))
  );
  const rules = exprs.map((e, i) =>
    `      - record: dashboard_expr_${i}\n        expr: ${JSON.stringify(e.expr)}\n`
  );
  const file = await Deno.makeTempFile({ prefix: "pharos-dashboard-exprs-", suffix: ".yml" });
  try {
    await Deno.writeTextFile(file, `groups:\n  - name: dashboards\n    rules:\n${rules.join("")}`);
    const { code, output } = await tool("promtool", ["check", "rules", file]);
    const failing = [...output.matchAll(/dashboard_expr_(\d+)/g)]
      .map((m) => exprs[Number(m[1])])
      .filter(Boolean)
      .map((e) => `${e!.where}: ${e!.expr}`);
    assert.equal(code, 0, `${output}\n${failing.join("\n")}`);
  } finally {
    await Deno.remove(file);
  }
});

// ---------------------------------------------------------------------------------------------
// Names against a real Pharos.

/** `# TYPE name type` lines and the label names of the samples of an exposition. */
function exposition(text: string): { types: Map<string, string>; labels: Set<string> } {
  const types = new Map<string, string>();
  const labels = new Set<string>();
  for (const line of text.split("\n")) {
    const type = line.match(/^# TYPE (\S+) (\S+)$/);
    if (type) types.set(type[1]!, type[2]!);
    const sample = line.match(/^[A-Za-z_:][\w:]*\{(.*)\}\s/);
    if (sample) { for (const m of sample[1]!.matchAll(/([A-Za-z_]\w*)="/g)) labels.add(m[1]!); }
  }
  return { types, labels };
}

/** True when `name` is a series of the exposition (histograms: `_bucket`, `_sum`, `_count`). */
function exposes(types: Map<string, string>, name: string): boolean {
  if (name === "up") return true; // Prometheus' own, per scrape target
  if (types.has(name)) return types.get(name) !== "histogram" && types.get(name) !== "summary";
  const base = name.match(/^(.*)_(bucket|sum|count)$/);
  if (base === null) return false;
  const type = types.get(base[1]!);
  return type === "histogram" || (type === "summary" && base[2] !== "bucket");
}

/** Names that only a cluster-mode server exports (see `_cluster_metrics.ts`). */
const clusterMetrics = new Set<string>(CLUSTER_METRICS);
const isClusterName = (name: string) => name.startsWith("cluster_");

/** Labels Prometheus adds or uses itself. */
const PROMETHEUS_LABELS = [
  "job",
  "instance",
  "exported_job",
  "exported_instance",
  "le",
  "__name__",
];

Deno.test("dashboards and alert rules use only metrics and labels a real Pharos exports", async () => {
  const exprs = await allExprs();
  // cluster_* names are checked against CLUSTER_METRICS: this server is standalone.
  const wanted = new Set(
    exprs.flatMap((e) => metricNames(e.expr)).filter((n) => !isClusterName(n)),
  );
  assert.ok(wanted.size > 20, `only ${wanted.size} metric names found: the extraction is broken`);

  await using receiver = await startOtlpReceiver();
  await using server = spawnServer({
    PORT: "0",
    PHAROS_HOST: "127.0.0.1",
    PHAROS_FUNCTION_CALL_METRICS: "1",
    PHAROS_SOURCES: "demo,ingest",
    PHAROS_INGEST_TOKEN: "t",
    PHAROS_STACK: "tests/fixtures/otel_stack.ts",
    PHAROS_HANDLER_TIMEOUT_MS: "20",
    PHAROS_DEMO_RATE: "50",
    // Small tables and caches so that evictions happen at once.
    PHAROS_STATE_TABLE_SIZE: "5",
    PHAROS_VIEW_CACHE_SIZE: "5",
    // Two clients at most, and two upgrades a minute, so a third is refused
    // (ws_handshake_rejections_total, and ws_limit_exceeded_total for the rate).
    PHAROS_MAX_CLIENTS: "2",
    PHAROS_HANDSHAKES_PER_MINUTE: "2",
    // Exporting registers telemetry_export_failures_total.
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  });
  const port = await server.port;
  const base = `http://127.0.0.1:${port}`;
  let text = "";
  try {
    const url = `ws://127.0.0.1:${port}/`;
    await using subscriber = await TestClient.connect(url);
    subscriber.send({ type: "subscribe", view: "Token/list" });
    {
      await using other = await TestClient.connect(url);
      other.send({ type: "subscribe", view: "Token/list" });
      const refused = new TestClient(url);
      await assert.rejects(refused.opened);
      await refused.closed;
      other.send("not json"); // ws_connection_errors_by_kind_total
      other.send({ type: "unsubscribe", view: "Token/list" }); // subscriptions_removed_total
      await barrier(other);
      other.socket.close(1000);
      await other.closed; // ws_connection_duration_seconds
    }
    const events = [
      { type: "Fail", slot: 1, data: { mint: "m" } }, // handler_errors_total
      { type: "Slow", slot: 2, data: { mint: "m" } }, // handler_cancellations_total
      // Loops: the handler host is killed after ~70 ms (20 + 50) and the spare takes over,
      // which creates handler_host_restarts_total.
      { type: "Spin", slot: 3, data: { mint: "m" } },
    ];
    const response = await fetch(`${base}/ingest`, {
      method: "POST",
      headers: { authorization: "Bearer t" },
      body: events.map((e) => JSON.stringify(e)).join("\n"),
    });
    assert.equal(response.status, 202, await response.text());

    // Until every name is there (the spare host's replacement takes about a second).
    const missing = () => [...wanted].filter((name) => !exposes(exposition(text).types, name));
    await until(
      async () => {
        const metrics = await fetch(`${base}/metrics`);
        assert.equal(metrics.status, 200);
        text = await metrics.text();
        return missing().length === 0;
      },
      "every metric name on /metrics",
      {
        timeoutMs: 10_000,
        everyMs: 200,
        detail: () => `missing: ${missing().join(", ")}`,
      },
    );
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
  }

  const { types, labels } = exposition(text);
  const known = new Set([...labels, ...PROMETHEUS_LABELS]);
  const problems: string[] = [];
  for (const { where, expr } of exprs) {
    for (const name of metricNames(expr)) {
      if (isClusterName(name)) {
        if (!clusterMetrics.has(name)) problems.push(`${where}: ${name} is not in CLUSTER_METRICS`);
      } else if (!exposes(types, name)) {
        problems.push(`${where}: no metric ${name} on /metrics`);
      }
    }
    for (const label of labelNames(expr)) {
      if (!known.has(label)) problems.push(`${where}: no label ${label} on /metrics`);
    }
  }
  assert.deepEqual(problems, [], `exported: ${[...types.keys()].join(", ")}`);
  // Cluster series on a standalone server would make the cluster rules fire there
  // (ClusterLeaseLost on cluster_lease_held 0, ClusterRedisDown on cluster_redis_up 0).
  const standalone = [...types.keys()].filter((name) => isClusterName(name));
  assert.deepEqual(standalone, [], "a standalone server exports cluster metrics");
  const lint = await promtoolCheckMetrics(text);
  assert.ok(lint !== undefined, PROMTOOL_REQUIRED);
  assert.ok(lint.ok, `promtool check metrics on a real Pharos's /metrics:\n${lint.output}`);
});

Deno.test("an exposition with the catalog names passes promtool check metrics", async () => {
  const lines: string[] = [];
  for (const [input, name] of CATALOG) {
    const type = input.type === "histogram"
      ? "histogram"
      : input.type === "sum" && input.monotonic
      ? "counter"
      : "gauge";
    lines.push(`# HELP ${name} ${input.name}`, `# TYPE ${name} ${type}`);
    if (type === "histogram") {
      lines.push(
        `${name}_bucket{le="0.1"} 1`,
        `${name}_bucket{le="+Inf"} 2`,
        `${name}_sum 1.05`,
        `${name}_count 2`,
      );
    } else {
      lines.push(`${name} 1`);
    }
  }
  const result = await promtoolCheckMetrics(lines.join("\n") + "\n");
  assert.ok(result !== undefined, PROMTOOL_REQUIRED);
  assert.equal(result.output, "");
  assert.ok(result.ok);

  // promtool does catch an untranslated counter name (the lint this check relies on).
  const bad = await promtoolCheckMetrics(
    "# HELP ws_connections x\n# TYPE ws_connections counter\nws_connections 1\n",
  );
  assert.equal(bad?.ok, false);
  assert.match(bad?.output ?? "", /should have "_total" suffix/);
});

Deno.test("promtool accepts the exposition of every metric Pharos defines (names, HELP, _total on counters)", async () => {
  const endpoint = createMetricsEndpoint();
  const meterProvider = new MeterProvider({ readers: [endpoint.reader] });
  try {
    recordOneOfEach(
      createOtelTelemetry({
        meterProvider,
        tracerProvider: new ProxyTracerProvider(),
        functionCallMetrics: true,
      }),
    );
    const result = await promtoolCheckMetrics(await endpoint.render());
    assert.ok(result !== undefined, PROMTOOL_REQUIRED);
    assert.ok(result.ok, result.output);
  } finally {
    await meterProvider.shutdown();
  }
});
