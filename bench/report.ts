/**
 * Turns the scenario results into the headline figures (with their targets) and a
 * Markdown report.
 * @module
 */
import type { FaultRun } from "./cluster_faults.ts";
import type { ClusterEventsRun, ClusterResult } from "./cluster_scenario.ts";
import { EVENT_PHASES, type EventsResult, type EventsSummary } from "./event_scenario.ts";
import type { RowsResult, RowsSummary } from "./rows_scenario.ts";
import type { FanoutResult, IdleResult, StartupResult } from "./scenarios.ts";
import { medianAndMax, type SandboxResult } from "./sandbox_scenario.ts";
import type { FanoutSummary } from "./summary.ts";

/** Everything one run measured. */
export interface BenchResults {
  /** Medians per target. */
  readonly fanout: Record<string, FanoutSummary>;
  /** Every fan-out run, in the order they ran. */
  readonly fanout_runs: readonly FanoutResult[];
  /** Event-throughput medians per target. */
  readonly events: Record<string, EventsSummary>;
  /** Every event-throughput run, in the order they ran. */
  readonly event_runs: readonly EventsResult[];
  /** The event scenario at the sandbox's fixed rate: `pharos` (process) and `inline`. */
  readonly isolation: Record<string, EventsSummary>;
  readonly isolation_runs: readonly EventsResult[];
  readonly sandbox: SandboxResult | undefined;
  readonly idle: Record<string, IdleResult>;
  readonly startup: Record<string, StartupResult>;
  /** The cluster scenario (instances on Redis), when it ran. */
  readonly cluster: ClusterResult | undefined;
  /** Fan-out medians with a console open (`pharos-console`) and without (`pharos`). */
  readonly console_fanout: Record<string, FanoutSummary>;
  readonly console_runs: readonly FanoutResult[];
  /** Row-rule flood medians per target (`rule`, `no-rule-group`, `no-rule`). */
  readonly rows: Record<string, RowsSummary>;
  readonly rows_runs: readonly RowsResult[];
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
const withCommas = (rate: number) => rate.toLocaleString("en");
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
/**
 * The spans per second the event scenario may export with the default settings
 * (README, "Events are traced by batch"): 10 batch spans, 20 per-event trees of at most 6
 * spans with the demo stack, and at most 50 HTTP request spans (`PHAROS_TRACE_REQUESTS_PER_SECOND`),
 * 180 in all; the rest of the margin is the connection and subscribe spans.
 */
const SPAN_BOUND_PER_S = 400;

/** The issue's targets, evaluated on `r`. */
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
      figure: "memory per idle connection ÷ baseline",
      value: `${fixed2(ratio(perConnection, r.idle.baseline!.bytes_per_connection))} (${
        kb(perConnection)
      } / ${kb(r.idle.baseline!.bytes_per_connection)})`,
      target: "≤ 1.25",
      met: perConnection <= 1.25 * r.idle.baseline!.bytes_per_connection,
    },
    {
      figure: "start-up to ready (median)",
      value: `${startup} ms (baseline ${r.startup.baseline!.median_ms} ms)`,
      target: "≤ 300 ms",
      met: startup <= 300,
    },
    ...eventFigures(r),
    ...sandboxFigures(r),
    ...clusterFigures(r),
  ];
}

/** The cluster targets (issue 15); none unless the cluster scenario ran. */
export function clusterFigures(r: BenchResults): Figure[] {
  const c = r.cluster;
  if (c === undefined) return [];
  const single = c.standalone.phases.fixed!;
  const ab = c.cluster_ab.phases.fixed!;
  const p99 = ratio(ab.latency_ms.p99, single.latency_ms.p99);
  const one = c.cluster_one.phases.saturate_1!;
  const alone = c.standalone.phases.saturate_1!;
  const throughput = ratio(one.events_per_s, alone.events_per_s);
  const worst = (pick: (check: FaultRun["ingest"][number]) => number) =>
    c.faults.reduce((sum, fault) => {
      const checks = [...fault.ingest, ...(fault.replay?.checks ?? [])];
      return sum + checks.reduce((most, check) => Math.max(most, pick(check)), 0);
    }, 0);
  const lost = worst((check) => check.lost);
  const twice = worst((check) => check.applied_twice);
  const acknowledged = c.faults.reduce(
    (sum, fault) => sum + fault.acknowledged + (fault.replay?.events ?? 0),
    0,
  );
  const frameLoss = ab.lost + single.lost;
  const b = c.bootstrap;
  return [
    {
      figure: `cluster: event at A → frame at B, p99 at ${
        withCommas(c.fixed_rate)
      } events/s ÷ single instance`,
      value: `${fixed2(p99)} (${ab.latency_ms.p99} / ${single.latency_ms.p99} ms)${
        frameLoss > 0 ? `, ${frameLoss} frames lost` : ""
      }`,
      target: "≤ 2",
      met: p99 <= 2 && frameLoss === 0,
    },
    {
      figure: "cluster: event throughput, one instance in cluster mode ÷ standalone",
      value: `${
        fixed2(throughput)
      } (${one.events_per_s} / ${alone.events_per_s} events/s, 1 subscriber)`,
      target: "≥ 0.7",
      met: throughput >= 0.7 && one.lost === 0,
    },
    {
      figure:
        "cluster: events lost or applied twice (instance killed, Redis restarted, lease handover)",
      value: `${lost} lost, ${twice} applied twice, of ${acknowledged} acknowledged or replayed`,
      target: "0",
      met: lost === 0 && twice === 0 && c.faults.every((fault) => fault.acknowledged > 0),
    },
    {
      figure: `cluster: fresh instance ready (checkpoint + tail of ${
        withCommas(b.tail_events)
      } events)`,
      value: `${b.ready_ms} ms (checkpoint at offset ${b.checkpoint_n}; state ${
        b.state_matches ? "complete" : "**incomplete**"
      })`,
      target: "≤ 5 s",
      met: b.ready_ms <= 5000 && b.state_matches,
    },
  ];
}

/** The console's target (issue 17); none unless both console targets ran. */
export function consoleFigures(r: BenchResults): Figure[] {
  const open = r.console_fanout["pharos-console"];
  const closed = r.console_fanout.pharos;
  if (open === undefined || closed === undefined) return [];
  const flood = ratio(open.flood_delivered_per_s, closed.flood_delivered_per_s);
  const lost = open.fixed_lost + open.flood_lost + closed.fixed_lost + closed.flood_lost;
  return [{
    figure: "console: fan-out flood with one console open ÷ without",
    value: `${
      fixed2(flood)
    } (${open.flood_delivered_per_s} / ${closed.flood_delivered_per_s} per s)${
      lost > 0 ? `, ${lost} lost` : ""
    }`,
    target: "≥ 0.97",
    met: flood >= 0.97 && lost === 0,
  }];
}

/**
 * The row rule's cost (issue 25); none unless `rule`, `no-rule-group` and `no-rule-keyed`
 * ran. Each of the two references delivers every event to as many clients as the rule does
 * (one owner's): `no-rule-group` to the same few connections every time, `no-rule-keyed` to
 * the same connections as the rule (per-key subscriptions instead of a rule). `no-rule`
 * (every event to every client) is in the table only: it sends a hundred times the frames
 * per event (BENCHMARKS.md, "Row rules").
 */
export function rowsFigures(r: BenchResults): Figure[] {
  const { rule, "no-rule-group": group, "no-rule-keyed": keyed } = r.rows;
  if (rule === undefined || group === undefined || keyed === undefined) return [];
  const cpu = ratio(rule.cpu_us_per_event, group.cpu_us_per_event);
  const throughput = ratio(rule.events_per_s, group.events_per_s);
  const cpuKeyed = ratio(rule.cpu_us_per_event, keyed.cpu_us_per_event);
  const all = Object.values(r.rows);
  const lost = all.reduce((total, s) => total + s.lost, 0);
  const expected = all.reduce((total, s) => total + s.expected_frames, 0);
  const anomalies = all.reduce((total, s) => total + s.anomalies, 0);
  return [
    {
      figure: `row rule: server CPU per event, rule ÷ no rule (each event to ${
        withCommas(rule.receivers_per_event)
      } clients, the same ones every time)`,
      value: `${fixed2(cpu)} (${rule.cpu_us_per_event} / ${group.cpu_us_per_event} µs)`,
      target: "≤ 1.20",
      met: cpu <= 1.2,
    },
    {
      figure: "row rule: events/s at saturation, rule ÷ no rule (the same)",
      value: `${fixed2(throughput)} (${rule.events_per_s} / ${group.events_per_s} events/s)`,
      target: "≥ 0.80",
      met: throughput >= 0.8,
    },
    {
      figure:
        "row rule: server CPU per event, rule ÷ per-key subscriptions (the same frames to the same clients)",
      value: `${fixed2(cpuKeyed)} (${rule.cpu_us_per_event} / ${keyed.cpu_us_per_event} µs)`,
      target: "≤ 1.20",
      met: cpuKeyed <= 1.2,
    },
    {
      figure: "row rule: frames lost",
      value: `${lost} of ${expected}${anomalies > 0 ? ` (and ${anomalies} extra or invalid)` : ""}`,
      target: "0",
      met: lost === 0 && anomalies === 0 && expected > 0,
    },
  ];
}

/** The sandbox targets; none unless both isolation modes and the runaway runs ran. */
export function sandboxFigures(r: BenchResults): Figure[] {
  const { pharos: process, inline } = r.isolation;
  const sandbox = r.sandbox;
  if (process === undefined || inline === undefined || sandbox === undefined) return [];
  const throughput = ratio(process.events_per_s_1, inline.events_per_s_1);
  const addedP50 = process.fixed_p50_ms - inline.fixed_p50_ms;
  const worstRunaway = Math.max(...sandbox.runaway_next_frame_ms);
  const worstKill = Math.max(...sandbox.kill_next_frame_ms);
  return [
    {
      figure: "event throughput, process ÷ inline isolation",
      value: `${
        fixed2(throughput)
      } (${process.events_per_s_1} / ${inline.events_per_s_1} events/s)`,
      target: "≥ 0.8",
      met: throughput >= 0.8,
    },
    {
      figure: `added event→frame p50 at ${process.fixed_rate} events/s`,
      value: `${fixed2(addedP50)} ms (${process.fixed_p50_ms} − ${inline.fixed_p50_ms} ms)`,
      target: "≤ 1 ms",
      met: addedP50 <= 1,
    },
    {
      figure: "runaway handler: its event → the next event's frame",
      value: `${medianAndMax(sandbox.runaway_next_frame_ms)} (budget ${sandbox.budget_ms} ms)`,
      target: `≤ budget + 100 ms`,
      met: worstRunaway <= sandbox.budget_ms + 100,
    },
    {
      figure: "/health p99 while a handler runs away",
      value:
        `${sandbox.health_ms.p99} ms (max ${sandbox.health_ms.max} ms, ${sandbox.health_probes} probes, ${sandbox.health_failures} failed)`,
      target: "≤ 10 ms",
      met: sandbox.health_ms.p99 <= 10 && sandbox.health_failures === 0,
    },
    {
      figure: "host killed → the next batch's frame (warm spare)",
      value: `${medianAndMax(sandbox.kill_next_frame_ms)} (healthy ${
        medianAndMax(sandbox.healthy_frame_ms)
      })`,
      target: "≤ 50 ms",
      met: worstKill <= 50,
    },
  ];
}

/** The event-throughput targets; none unless every event target ran. */
export function eventFigures(r: BenchResults): Figure[] {
  const { pharos, runtime, "telemetry-on": on, "telemetry-off": off } = r.events;
  if (pharos === undefined || runtime === undefined || on === undefined || off === undefined) {
    return [];
  }
  const perSecond = (a: EventsSummary, b: EventsSummary) =>
    `${a.events_per_s_1} / ${b.events_per_s_1} events/s, 1 subscriber`;
  const vsRuntime = ratio(pharos.events_per_s_1, runtime.events_per_s_1);
  const onOff = ratio(on.events_per_s_1, off.events_per_s_1);
  const pharosOff = ratio(pharos.events_per_s_1, off.events_per_s_1);
  const onOffP99 = ratio(on.fixed_p99_ms, off.fixed_p99_ms);
  const p99 = ratio(pharos.fixed_p99_ms, runtime.fixed_p99_ms);
  const all = [pharos, on, off, runtime];
  const lost = all.reduce((total, s) => total + s.lost, 0);
  const expected = all.reduce((total, s) => total + s.expected_frames, 0);
  const anomalies = all.reduce((total, s) => total + s.anomalies, 0);
  return [
    {
      figure: "event throughput, 1 subscriber, pharos ÷ runtime",
      value: `${fixed2(vsRuntime)} (${perSecond(pharos, runtime)})`,
      target: "≥ 0.6",
      met: vsRuntime >= 0.6,
    },
    {
      figure: "event throughput, telemetry-on ÷ telemetry-off",
      value: `${fixed2(onOff)} (${perSecond(on, off)})`,
      target: "≥ 0.8",
      met: onOff >= 0.8,
    },
    {
      figure: `event→frame p99 at ${withCommas(on.fixed_rate)} events/s, telemetry-on ÷ off`,
      value: `${fixed2(onOffP99)} (${on.fixed_p99_ms} / ${off.fixed_p99_ms} ms)`,
      target: "≤ 1.2",
      met: onOffP99 <= 1.2,
    },
    {
      figure: "spans exported per second at full rate (telemetry-on, 1 subscriber)",
      value: `${on.spans_per_s_1 === undefined ? "?" : withCommas(on.spans_per_s_1)} spans/s`,
      target: `≤ ${SPAN_BOUND_PER_S} (README: the bound)`,
      met: on.spans_per_s_1 !== undefined && on.spans_per_s_1 <= SPAN_BOUND_PER_S,
    },
    {
      figure: "event throughput, pharos ÷ telemetry-off",
      value: `${fixed2(pharosOff)} (${perSecond(pharos, off)})`,
      target: "≥ 0.95",
      met: pharosOff >= 0.95,
    },
    {
      figure: `event→frame p99 at ${withCommas(pharos.fixed_rate)} events/s, pharos ÷ runtime`,
      value: `${fixed2(p99)} (${pharos.fixed_p99_ms} / ${runtime.fixed_p99_ms} ms)`,
      target: "≤ 1.5",
      met: p99 <= 1.5,
    },
    {
      figure: "frames lost (event throughput)",
      value: `${lost} of ${expected}${anomalies > 0 ? ` (and ${anomalies} extra or invalid)` : ""}`,
      target: "0",
      met: lost === 0 && anomalies === 0 && expected > 0,
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
  if (r.fanout_runs.length > 0) lines.push(...fanoutTables(r.fanout, r.fanout_runs));
  if (r.console_runs.length > 0) {
    lines.push("", "Console (fan-out with a console open, `pharos-console`, and without):", "");
    lines.push(...fanoutTables(r.console_fanout, r.console_runs));
  }
  lines.push(...eventTables(Object.values(r.events), r.event_runs, "Event throughput"));
  lines.push(
    ...eventTables(
      Object.values(r.isolation),
      r.isolation_runs,
      "Isolation (the event scenario with handlers in the handler host process, `pharos`, and in the server, `inline`; the host's CPU counts as others')",
    ),
  );
  if (r.sandbox !== undefined) lines.push(...sandboxLines(r.sandbox));
  if (r.cluster !== undefined) lines.push(...clusterLines(r.cluster));
  if (r.rows_runs.length > 0) lines.push(...rowsTables(r.rows, r.rows_runs));
  const idleOrStartup = [...new Set([...Object.keys(r.idle), ...Object.keys(r.startup)])];
  if (idleOrStartup.length === 0) return lines.join("\n");
  lines.push(
    "",
    "| run | idle connections | RSS before | RSS held | per connection | start-up runs (ms) | median |",
    "|---|---|---|---|---|---|---|",
  );
  for (const target of idleOrStartup) {
    const idle = r.idle[target];
    const startup = r.startup[target];
    lines.push(
      `| ${target} | ${
        idle === undefined ? "-" : `${idle.connections} (${idle.failed} failed)`
      } | ${idle === undefined ? "-" : mb(idle.rss_before_bytes)} | ${
        idle === undefined ? "-" : mb(idle.rss_held_bytes)
      } | ${idle === undefined ? "-" : kb(idle.bytes_per_connection)} | ${
        startup?.runs_ms.join(", ") ?? "-"
      } | ${startup?.median_ms ?? "-"} ms |`,
    );
  }
  return lines.join("\n");
}

/** The fan-out tables: medians per target, then every run's phases. */
function fanoutTables(
  summaries: Record<string, FanoutSummary>,
  runs: readonly FanoutResult[],
): string[] {
  const lines = [
    "Medians over each target's runs:",
    "",
    "| target | runs | fixed delivered/s | fixed p50 ms | fixed p99 ms | flood delivered/s | lost | /ready p50 | /ready p99 | /health p99 |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...Object.values(summaries).map((s) =>
      `| ${s.target} | ${s.runs} | ${s.fixed_delivered_per_s} | ${s.fixed_p50_ms} | ${s.fixed_p99_ms} | ${s.flood_delivered_per_s} | ${
        s.fixed_lost + s.flood_lost
      } | ${s.ready_p50_ms} ms | ${s.ready_p99_ms} ms | ${s.health_p99_ms} ms |`
    ),
    "",
    "Every run:",
    "",
    "| run | phase | events | delivered/s | lost | p50 ms | p99 ms | max ms | server CPU | load-gen CPU | clients closed | /ready p99 |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  runs.forEach((run, i) => {
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
  return lines;
}

/** The row-rule tables: medians per target, then every run. */
function rowsTables(summaries: Record<string, RowsSummary>, runs: readonly RowsResult[]): string[] {
  const lines = [
    "",
    "Row rules (medians over each target's runs; CPU in % of one core; others': every other process, the handler host included):",
    "",
    "| target | runs | clients an event reaches | events/s | frames/s | server CPU µs per event | µs per frame | server CPU | load-gen CPU | others' CPU | lost | 503s |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...Object.values(summaries).map((s) =>
      `| ${s.target} | ${s.runs} | ${s.receivers_per_event} | ${s.events_per_s} | ${s.frames_per_s} | ${s.cpu_us_per_event} | ${s.cpu_us_per_frame} | ${s.server_cpu_pct}% | ${s.loadgen_cpu_pct}% | ${s.others_cpu_pct}% | ${s.lost} of ${s.expected_frames} | ${s.ingest_rejected} |`
    ),
    "",
    "| run | connections | subscribed | events | seconds | events/s | frames/s | lost | server CPU | CPU s | µs per event | µs per frame | load-gen CPU | others' CPU | 503s | closed |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  runs.forEach((run, i) => {
    const p = run.phase;
    lines.push(
      `| ${
        i + 1
      }. ${run.target} | ${run.connections} | ${run.subscribers} | ${p.events_accepted} | ${p.seconds} | ${p.events_per_s} | ${p.frames_per_s} | ${p.lost} | ${run.server_cpu_pct}% | ${run.server_cpu_s} | ${run.cpu_us_per_event} | ${run.cpu_us_per_frame} | ${p.loadgen_cpu_pct}% | ${run.others_cpu_pct}% | ${p.ingest_rejected} | ${p.clients_closed} |`,
    );
  });
  return lines;
}

/** The runaway and kill runs, every measurement. */
function sandboxLines(s: SandboxResult): string[] {
  return [
    "",
    `Sandbox (budget ${s.budget_ms} ms; every figure in ms):`,
    "",
    `- runaway handler → the next event's frame: ${s.runaway_next_frame_ms.join(", ")}`,
    `- the same path on a healthy host: ${s.healthy_frame_ms.join(", ")}`,
    `- host killed → the next event's frame: ${s.kill_next_frame_ms.join(", ")}`,
    `- /health while handlers ran away: p50 ${s.health_ms.p50}, p99 ${s.health_ms.p99}, max ${s.health_ms.max} (${s.health_probes} probes, ${s.health_failures} failed)`,
  ];
}

/** The cluster runs: the event phases per setup, every fault run, the bootstrap. */
function clusterLines(c: ClusterResult): string[] {
  const runs: ClusterEventsRun[] = [c.standalone, c.cluster_one, c.cluster_ab];
  const lines = [
    "",
    "Cluster (one run each; CPU in % of one core per server; others': every other process, Redis included):",
    "",
    "| run | ingest → subscriber | phase | events | events/s | lost | p50 ms | p99 ms | max ms | server CPU | load-gen CPU | others' CPU | 503s |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const run of runs) {
    for (const [name, p] of Object.entries(run.phases)) {
      const timed = p.kind === "fixed";
      const cpu = Object.entries(run.server_cpu_pct)
        .map(([server, phases]) => `${server} ${phases[name]}%`).join(", ");
      lines.push(
        `| ${run.target} | ${run.ingest_at} → ${run.subscriber_at} | ${name} | ${p.events_accepted} | ${p.events_per_s} | ${p.lost} | ${
          timed ? p.latency_ms.p50 : "-"
        } | ${timed ? p.latency_ms.p99 : "-"} | ${
          timed ? p.latency_ms.max : "-"
        } | ${cpu} | ${p.loadgen_cpu_pct}% | ${run.others_cpu_pct[name]}% | ${p.ingest_rejected} |`,
      );
    }
  }
  lines.push(
    "",
    "| fault | sent | acknowledged | given up | POSTs | 503s | failed POSTs | lost | applied twice | applied, not acknowledged | POSTs in flight at the fault | recovery |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const f of c.faults) {
    const checks = [...f.ingest.map((check) => ({ ...check, what: "ingest" }))];
    for (const check of f.replay?.checks ?? []) checks.push({ ...check, what: "replay" });
    const per = (pick: (check: typeof checks[number]) => number) =>
      checks.map((check) => `${pick(check)} (${check.what} @${check.instance})`).join(", ");
    lines.push(
      `| ${f.fault} | ${f.sent}${
        f.replay === undefined
          ? ""
          : ` + ${f.replay.events} replayed (${f.replay.replayed_before_kill} before the kill)`
      } | ${f.acknowledged} | ${f.given_up} | ${f.posts} | ${f.rejected_503} | ${f.failed_posts} | ${
        per((check) => check.lost)
      } | ${per((check) => check.applied_twice)} | ${
        per((check) => check.applied_unacknowledged)
      } | ${f.in_flight_at_fault} | ${
        f.recovery_ms === undefined ? "" : `${f.recovery_ms} ms: `
      }${f.recovery} |`,
    );
  }
  const b = c.bootstrap;
  lines.push(
    "",
    `Bootstrap: checkpoint at offset ${b.checkpoint_n}, ${b.tail_events} events after it; spawn → /ready 200 in ${b.ready_ms} ms, applied ${b.applied}, state ${
      b.state_matches ? "counts every event" : "**does not count every event**"
    }.`,
  );
  return lines;
}

/** The event-throughput tables: medians per target, then every run's phases. */
function eventTables(
  summaries: readonly EventsSummary[],
  runs: readonly EventsResult[],
  title: string,
): string[] {
  if (summaries.length === 0) return [];
  const many = summaries[0]!.subscribers_many;
  const rate = `${withCommas(summaries[0]!.fixed_rate)}/s`;
  const perPhase = (values: Readonly<Record<string, number>>) =>
    EVENT_PHASES.map((phase) => `${values[phase]}%`).join(" / ");
  const phases = `1 sub / ${rate} / ${many} subs`;
  const lines = [
    "",
    `${title} (medians over each target's runs; CPU in % of one core; others': every other process on the machine):`,
    "",
    `| target | runs | events/s 1 sub | events/s ${many} subs | ${rate} p50 ms | ${rate} p99 ms | lost | server CPU (${phases}) | idle share at saturation (1 / ${many} subs) | others' CPU (${phases}) | 503s |`,
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...summaries.map((s) =>
      `| ${s.target} | ${s.runs} | ${s.events_per_s_1} | ${s.events_per_s_many} | ${s.fixed_p50_ms} | ${s.fixed_p99_ms} | ${s.lost} of ${s.expected_frames} | ${
        perPhase(s.server_cpu_pct)
      } | ${s.idle_pct.saturate_1}% / ${s.idle_pct.saturate_many}% | ${
        perPhase(s.others_cpu_pct)
      } | ${s.ingest_rejected} |`
    ),
    "",
    "| run | phase | subs | events | seconds | events/s | frames/s | lost | p50 ms | p99 ms | server CPU | load-gen CPU | others' CPU | 503s | closed |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  runs.forEach((run, i) => {
    for (const name of EVENT_PHASES) {
      const p = run.phases[name];
      const timed = p.kind === "fixed";
      const closed = Object.entries(p.close_codes).map(([code, n]) => `${n}× ${code}`).join(", ");
      const cells = [
        `${i + 1}. ${run.target}`,
        name,
        p.subscribers,
        p.events_accepted,
        p.seconds,
        p.events_per_s,
        p.frames_per_s,
        p.lost,
        timed ? p.latency_ms.p50 : "-",
        timed ? p.latency_ms.p99 : "-",
        `${run.server_cpu_pct[name]}%`,
        `${p.loadgen_cpu_pct}%`,
        `${run.others_cpu_pct[name]}%`,
        p.ingest_rejected,
        closed === "" ? "0" : closed,
      ];
      lines.push(`| ${cells.join(" | ")} |`);
    }
  });
  return lines;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
