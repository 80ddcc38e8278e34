// deno-lint-ignore-file no-console -- the benchmark prints its report
/**
 * `deno task bench`: fan-out against the baseline, telemetry off vs on, health under the
 * flood, event throughput against a bare-runtime baseline, idle connections and start-up,
 * all on loopback with the load generated in a separate process. Prints a Markdown table
 * and writes the raw results as JSON.
 *
 * Usage: deno task bench [--smoke] [--out FILE] [--set SETTING=VALUE]...
 *        [--only fanout,events,sandbox,idle,startup,cluster,console,rows]
 *        [--targets baseline,runtime,pharos,inline,telemetry-off,telemetry-on,
 *                   rule,no-rule-group,no-rule-keyed,no-rule]
 *        [--server-flags "--cpu-prof --cpu-prof-dir=prof --cpu-prof-md"]
 * (`--set` overrides one of the settings in scenarios.ts, e.g. `--set floodWindow=20`;
 * `--server-flags` adds `deno run` flags to every Pharos server, for profiling;
 * fan-out runs baseline, pharos, telemetry-off and telemetry-on, event throughput runs
 * pharos, telemetry-on, telemetry-off and runtime. A partial run prints its detail tables
 * and only the headline figures of event throughput, when it ran for all its targets, of the
 * sandbox, of the cluster and of row rules; `cluster` runs instances on a real redis-server;
 * `rows` runs the row-rule flood against four servers, see rows_scenario.ts.)
 * @module
 */
import { type EventsResult, runEventThroughput, summarizeEvents } from "./event_scenario.ts";
import { runCluster } from "./cluster_scenario.ts";
import {
  clusterFigures,
  consoleFigures,
  eventFigures,
  headlineFigures,
  markdownReport,
  rowsFigures,
  sandboxFigures,
} from "./report.ts";
import { ROWS_TARGETS, rowsEnv, type RowsResult, runRows, summarizeRows } from "./rows_scenario.ts";
import {
  BENCH_TOKEN,
  type BenchSettings,
  type FanoutResult,
  FULL,
  PHAROS_INGEST_ENV,
  runFanout,
  runIdle,
  runStartup,
  SMOKE,
} from "./scenarios.ts";
import { startOtlpSink } from "./otlp_sink.ts";
import { runSandbox, type SandboxResult } from "./sandbox_scenario.ts";
import { summarize } from "./summary.ts";

function option(name: string): string | undefined {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}

function options(name: string): string[] {
  return Deno.args.flatMap((arg, i) => (arg === name ? [Deno.args[i + 1] ?? ""] : []));
}

const smoke = Deno.args.includes("--smoke");
const settings: BenchSettings = { ...(smoke ? SMOKE : FULL) };
for (const assignment of options("--set")) {
  const [key, value] = assignment.split("=");
  if (key === undefined || !(key in settings) || !Number.isFinite(Number(value))) {
    throw new Error(
      `--set ${assignment}: expected one of ${Object.keys(settings).join(", ")}=NUMBER`,
    );
  }
  (settings as unknown as Record<string, number>)[key] = Number(value);
}
const only = option("--only")?.split(",");
const partial = only !== undefined || option("--targets") !== undefined;
const runs = (part: string) => only === undefined || only.includes(part);
const out = option("--out") ?? (smoke ? undefined : "bench/last_run.json");
const started = performance.now();
const progress = (text: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${text}`);

await using sink = startOtlpSink();
const serverFlags = option("--server-flags")?.split(" ").filter((flag) => flag !== "");
const pharos = (env: Record<string, string>) => ({
  kind: "pharos" as const,
  env,
  ...(serverFlags === undefined ? {} : { denoFlags: serverFlags }),
});
const targets = {
  baseline: { kind: "baseline" as const },
  pharos: pharos(PHAROS_INGEST_ENV),
  "telemetry-off": pharos({ ...PHAROS_INGEST_ENV, OTEL_SDK_DISABLED: "true", PHAROS_LOG: "warn" }),
  "telemetry-on": pharos({
    ...PHAROS_INGEST_ENV,
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_METRIC_EXPORT_INTERVAL: "5000",
    PHAROS_LOG_FORMAT: "json",
    PHAROS_LOG: "info",
  }),
  runtime: { kind: "runtime" as const, env: { PHAROS_INGEST_TOKEN: BENCH_TOKEN } },
  // Handlers in the server process instead of the handler host (the sandbox comparison).
  inline: pharos({ ...PHAROS_INGEST_ENV, PHAROS_HANDLER_ISOLATION: "inline" }),
  // The pharos target with a console open (its feed and entity socket) during the fan-out.
  "pharos-console": pharos(PHAROS_INGEST_ENV),
  // The row-rule flood (rows_scenario.ts): static tokens of owners, the stack with or without
  // its row rule.
  rule: pharos(rowsEnv(settings, "rule")),
  "no-rule-group": pharos(rowsEnv(settings, "no-rule-group")),
  "no-rule-keyed": pharos(rowsEnv(settings, "no-rule-keyed")),
  "no-rule": pharos(rowsEnv(settings, "no-rule")),
};
type TargetName = keyof typeof targets;

const chosen = option("--targets")?.split(",");
/**
 * Runs `part` `settings.repeats` times per target, interleaved (every target once, then
 * again), so a slow spell of the machine hits all.
 */
async function interleaved<N extends TargetName, R>(
  { part, label, names }: { part: string; label: string; names: readonly N[] },
  run: (name: N) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let round = 1; round <= (runs(part) ? settings.repeats : 0); round++) {
    for (const name of names) {
      if (chosen !== undefined && !chosen.includes(name)) continue;
      progress(`${label}: ${name} (${round} of ${settings.repeats})`);
      results.push(await run(name));
    }
  }
  return results;
}
/** Medians per target over `results`, in `names` order. */
function perTarget<R extends { target: string }, S>(
  names: readonly TargetName[],
  results: readonly R[],
  summary: (name: string, runs: R[]) => S,
): Record<string, S> {
  return Object.fromEntries(names.flatMap((name) => {
    const mine = results.filter((run) => run.target === name);
    return mine.length === 0 ? [] : [[name, summary(name, mine)]];
  }));
}

const fanoutTargets = ["baseline", "pharos", "telemetry-off", "telemetry-on"] as const;
const fanoutRuns: FanoutResult[] = await interleaved(
  { part: "fanout", label: "fan-out", names: fanoutTargets },
  (name) => runFanout(name, targets[name], settings),
);
const fanout = perTarget(fanoutTargets, fanoutRuns, summarize);
// The console's cost (issue 17): fan-out with a console open against the same without.
const consoleTargets = ["pharos", "pharos-console"] as const;
const consoleRuns: FanoutResult[] = await interleaved(
  { part: "console", label: "console", names: consoleTargets },
  (name) => runFanout(name, targets[name], settings, name === "pharos-console"),
);
const consoleFanout = perTarget(consoleTargets, consoleRuns, summarize);
const eventTargets = ["pharos", "telemetry-on", "telemetry-off", "runtime"] as const;
const eventRuns: EventsResult[] = await interleaved(
  { part: "events", label: "event throughput", names: eventTargets },
  (name) =>
    runEventThroughput(
      name,
      targets[name],
      settings,
      name === "telemetry-on" ? sink.spansStarted : undefined,
    ),
);
const events = perTarget(eventTargets, eventRuns, summarizeEvents);
// The sandbox: the event scenario at the sandbox's fixed rate, process vs inline handlers,
// then runaway handlers and killed hosts on a server of their own.
const sandboxTargets = ["pharos", "inline"] as const;
const sandboxSettings = { ...settings, eventFixedRate: settings.sandboxFixedRate };
const sandboxRuns: EventsResult[] = await interleaved(
  { part: "sandbox", label: "isolation", names: sandboxTargets },
  (name) => runEventThroughput(name, targets[name], sandboxSettings),
);
const isolation = perTarget(sandboxTargets, sandboxRuns, summarizeEvents);
let sandbox: SandboxResult | undefined;
if (runs("sandbox")) {
  progress("sandbox: runaway handlers and killed hosts");
  sandbox = await runSandbox(targets.pharos, settings);
}
const idle: Record<string, Awaited<ReturnType<typeof runIdle>>> = {};
for (const name of runs("idle") ? ["baseline", "pharos"] as const : []) {
  progress(`idle connections: ${name}`);
  idle[name] = await runIdle(name, targets[name], settings);
}
const startup: Record<string, Awaited<ReturnType<typeof runStartup>>> = {};
// Start-up as `deno task start` runs it: the demo source, default telemetry.
for (
  const [name, spec] of runs("startup")
    ? [["baseline", targets.baseline], ["pharos", { kind: "pharos" as const }]] as const
    : []
) {
  progress(`start-up: ${name}`);
  startup[name] = await runStartup(name, spec, settings);
}

// Row rules (issue 25): the flood with a rule against the same without, see rows_scenario.ts.
const rowsRuns: RowsResult[] = await interleaved(
  { part: "rows", label: "row rules", names: ROWS_TARGETS },
  (name) => runRows(name, targets[name], settings),
);
const rows = perTarget(ROWS_TARGETS, rowsRuns, summarizeRows);

// Cluster mode (issue 15): instances on a real redis-server, against a standalone server.
const cluster = runs("cluster") ? await runCluster(targets.pharos, settings, progress) : undefined;

const results = {
  fanout,
  fanout_runs: fanoutRuns,
  events,
  event_runs: eventRuns,
  isolation,
  isolation_runs: sandboxRuns,
  sandbox,
  idle,
  startup,
  cluster,
  console_fanout: consoleFanout,
  console_runs: consoleRuns,
  rows,
  rows_runs: rowsRuns,
};
const figures = partial
  ? [
    ...eventFigures(results),
    ...sandboxFigures(results),
    ...clusterFigures(results),
    ...consoleFigures(results),
    ...rowsFigures(results),
  ]
  : [...headlineFigures(results), ...consoleFigures(results), ...rowsFigures(results)];
const report = markdownReport(results, figures);
console.log(report);
progress(`done; OTLP sink received ${JSON.stringify(sink.counts())}`);

if (out !== undefined) {
  // /proc needs --allow-all in Deno; `cat` is covered by --allow-run.
  const cpuinfo = await new Deno.Command("cat", { args: ["/proc/cpuinfo"], stdout: "piped" })
    .output().then((o) => new TextDecoder().decode(o.stdout), () => "");
  const cpuModel = cpuinfo.match(/model name\s*:\s*(.+)/)?.[1];
  await Deno.writeTextFile(
    out,
    JSON.stringify(
      {
        command: [
          "deno task bench",
          ...Deno.args.filter((_, i, all) => all[i] !== "--out" && all[i - 1] !== "--out"),
        ].join(" "),
        finished_at: new Date().toISOString(),
        duration_s: Math.round((performance.now() - started) / 100) / 10,
        machine: {
          cpus: navigator.hardwareConcurrency,
          cpu_model: cpuModel,
          memory_bytes: Deno.systemMemoryInfo().total,
          os: `${Deno.build.os} ${Deno.osRelease()}`,
          deno: Deno.version.deno,
        },
        settings,
        ingest_token: BENCH_TOKEN,
        otlp_sink: sink.counts(),
        figures,
        results,
      },
      null,
      2,
    ) + "\n",
  );
  progress(`wrote ${out}`);
}
