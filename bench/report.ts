/**
 * Turns the scenario results into the headline figures (with their targets) and a
 * Markdown report.
 * @module
 */
import type { FanoutResult, IdleResult, StartupResult } from "./scenarios.ts";
import type { FanoutSummary } from "./summary.ts";

/** Everything one run measured. */
export interface BenchResults {
  /** Medians per target. */
  readonly fanout: Record<string, FanoutSummary>;
  /** Every fan-out run, in the order they ran. */
  readonly fanout_runs: readonly FanoutResult[];
  readonly idle: Record<string, IdleResult>;
  readonly startup: Record<string, StartupResult>;
}

/** One headline figure compared with its target. */
export interface Figure {
  readonly figure: string;
  readonly value: string;
  readonly target: string;
  readonly met: boolean;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);
const fixed2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : String(n));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** The targets, evaluated on `r`. */
export function headlineFigures(r: BenchResults): Figure[] {
  const pharos = r.fanout.pharos!;
  const baseline = r.fanout.baseline!;
  const off = r.fanout["telemetry-off"]!;
  const on = r.fanout["telemetry-on"]!;
  const fixedThroughput = ratio(pharos.fixed_delivered_per_s, baseline.fixed_delivered_per_s);
  const fixedP99 = ratio(pharos.fixed_p99_ms, baseline.fixed_p99_ms);
  const flood = ratio(pharos.flood_delivered_per_s, baseline.flood_delivered_per_s);
  const overhead = ratio(on.flood_delivered_per_s, off.flood_delivered_per_s);
  const perConnection = r.idle.pharos!.bytes_per_connection;
  const startup = r.startup.pharos!.median_ms;
  return [
    {
      figure: "fan-out at the fixed rate: loss",
      value: `${pharos.fixed_lost} of ${pharos.fixed_expected}`,
      target: "0",
      met: pharos.fixed_lost === 0 && pharos.fixed_expected > 0,
    },
    {
      figure: "fan-out at the fixed rate: throughput ÷ baseline",
      value: `${
        fixed2(fixedThroughput)
      } (${pharos.fixed_delivered_per_s} / ${baseline.fixed_delivered_per_s} per s)`,
      target: "≥ 0.90",
      met: fixedThroughput >= 0.9,
    },
    {
      figure: "fan-out at the fixed rate: p99 ÷ baseline p99",
      value: `${fixed2(fixedP99)} (${pharos.fixed_p99_ms} / ${baseline.fixed_p99_ms} ms)`,
      target: "≤ 1.25",
      met: fixedP99 <= 1.25,
    },
    {
      figure: "flood throughput ÷ baseline",
      value: `${
        fixed2(flood)
      } (${pharos.flood_delivered_per_s} / ${baseline.flood_delivered_per_s} per s)`,
      target: "≥ 0.80",
      met: flood >= 0.8,
    },
    {
      figure: "telemetry on ÷ off (flood throughput)",
      value: `${
        fixed2(overhead)
      } (${on.flood_delivered_per_s} / ${off.flood_delivered_per_s} per s)`,
      target: "≥ 0.95",
      met: overhead >= 0.95,
    },
    {
      figure: "/ready p99 during the flood",
      value: `${pharos.ready_p99_ms} ms (/health ${pharos.health_p99_ms} ms)`,
      target: "≤ 10 ms",
      met: pharos.ready_p99_ms <= 10 && pharos.probe_failures === 0,
    },
    {
      figure: "memory per idle connection",
      value: `${kb(perConnection)} (baseline ${kb(r.idle.baseline!.bytes_per_connection)})`,
      target: "≤ 12 KB",
      met: perConnection <= 12 * 1024,
    },
    {
      figure: "start-up to ready (median)",
      value: `${startup} ms (baseline ${r.startup.baseline!.median_ms} ms)`,
      target: "≤ 300 ms",
      met: startup <= 300,
    },
  ];
}

/** The Markdown report: headline figures, then every run's detail. */
export function markdownReport(r: BenchResults, figures: readonly Figure[]): string {
  const lines = figures.length === 0 ? [] : [
    "| figure | measured | target | met |",
    "|---|---|---|---|",
    ...figures.map((f) =>
      `| ${f.figure} | ${f.value} | ${f.target} | ${f.met ? "yes" : "**no**"} |`
    ),
    "",
  ];
  lines.push(
    "Medians over each target's runs:",
    "",
    "| target | runs | fixed delivered/s | fixed p50 ms | fixed p99 ms | flood delivered/s | lost | /ready p50 | /ready p99 | /health p99 |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...Object.values(r.fanout).map((s) =>
      `| ${s.target} | ${s.runs} | ${s.fixed_delivered_per_s} | ${s.fixed_p50_ms} | ${s.fixed_p99_ms} | ${s.flood_delivered_per_s} | ${
        s.fixed_lost + s.flood_lost
      } | ${s.ready_p50_ms} ms | ${s.ready_p99_ms} ms | ${s.health_p99_ms} ms |`
    ),
    "",
    "Every run:",
    "",
    "| run | phase | events | delivered/s | lost | p50 ms | p99 ms | max ms | server CPU | load-gen CPU | clients closed | /ready p99 |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  r.fanout_runs.forEach((run, i) => {
    for (const phase of [run.fixed, run.flood]) {
      const cpu = run.server_cpu_pct[phase.phase as "fixed" | "flood"];
      const ready = phase.phase === "flood" ? `${run.probe.ready_ms.p99} ms` : "";
      lines.push(
        `| ${
          i + 1
        }. ${run.target} | ${phase.phase} | ${phase.events_sent} | ${phase.delivered_per_s} | ${phase.lost} | ${phase.latency_ms.p50} | ${phase.latency_ms.p99} | ${phase.latency_ms.max} | ${cpu}% | ${phase.loadgen_cpu_pct}% | ${phase.clients_closed} | ${ready} |`,
      );
    }
  });
  lines.push(
    "",
    "| run | idle connections | RSS before | RSS held | per connection | start-up runs (ms) | median |",
    "|---|---|---|---|---|---|---|",
  );
  for (const target of Object.keys(r.idle)) {
    const idle = r.idle[target]!;
    const startup = r.startup[target];
    lines.push(
      `| ${target} | ${idle.connections} (${idle.failed} failed) | ${mb(idle.rss_before_bytes)} | ${
        mb(idle.rss_held_bytes)
      } | ${kb(idle.bytes_per_connection)} | ${startup?.runs_ms.join(", ") ?? "-"} | ${
        startup?.median_ms ?? "-"
      } ms |`,
    );
  }
  return lines.join("\n");
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
