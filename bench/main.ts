// deno-lint-ignore-file no-console -- the benchmark prints its report
/**
 * `deno task bench`: fan-out against the baseline, telemetry off vs on, health under the
 * flood, idle connections and start-up, all on loopback with the load generated in a
 * separate process. Prints a Markdown table and writes the raw results as JSON.
 *
 * Usage: deno task bench [--smoke] [--out FILE]
 * @module
 */
import { headlineFigures, markdownReport } from "./report.ts";
import {
  BENCH_TOKEN,
  type BenchSettings,
  FULL,
  PHAROS_INGEST_ENV,
  runFanout,
  runIdle,
  runStartup,
  SMOKE,
} from "./scenarios.ts";
import { startOtlpSink } from "./otlp_sink.ts";

function option(name: string): string | undefined {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}

const smoke = Deno.args.includes("--smoke");
const settings: BenchSettings = smoke ? SMOKE : FULL;
const out = option("--out") ?? (smoke ? undefined : "bench/last_run.json");
const started = performance.now();
const progress = (text: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${text}`);

await using sink = startOtlpSink();
const targets = {
  baseline: { kind: "baseline" as const },
  pharos: { kind: "pharos" as const, env: PHAROS_INGEST_ENV },
  "telemetry-off": {
    kind: "pharos" as const,
    env: { ...PHAROS_INGEST_ENV, OTEL_SDK_DISABLED: "true", PHAROS_LOG: "warn" },
  },
  "telemetry-on": {
    kind: "pharos" as const,
    env: {
      ...PHAROS_INGEST_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_METRIC_EXPORT_INTERVAL: "5000",
      PHAROS_LOG_FORMAT: "json",
      PHAROS_LOG: "info",
    },
  },
};

const fanout: Record<string, Awaited<ReturnType<typeof runFanout>>> = {};
for (const [name, spec] of Object.entries(targets)) {
  progress(`fan-out: ${name}`);
  fanout[name] = await runFanout(name, spec, settings);
}
const idle: Record<string, Awaited<ReturnType<typeof runIdle>>> = {};
for (const name of ["baseline", "pharos"] as const) {
  progress(`idle connections: ${name}`);
  idle[name] = await runIdle(name, targets[name], settings);
}
const startup: Record<string, Awaited<ReturnType<typeof runStartup>>> = {};
// Start-up as `deno task start` runs it: the demo source, default telemetry.
for (
  const [name, spec] of [["baseline", targets.baseline], ["pharos", {
    kind: "pharos" as const,
  }]] as const
) {
  progress(`start-up: ${name}`);
  startup[name] = await runStartup(name, spec, settings);
}

const results = { fanout, idle, startup };
const figures = headlineFigures(results);
const report = markdownReport(results, figures);
console.log(report);
progress(`done; OTLP sink received ${JSON.stringify(sink.counts())}`);

if (out !== undefined) {
  const cpuModel = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
    .match(/model name\s*:\s*(.+)/)?.[1];
  await Deno.writeTextFile(
    out,
    JSON.stringify(
      {
        command: `deno task bench${smoke ? " --smoke" : ""}`,
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
