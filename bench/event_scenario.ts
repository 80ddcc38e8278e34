/**
 * The event-throughput scenario: how many ingested `Transfer` events a server applies and
 * delivers per second, with one subscriber and with many, and the event→frame latency at
 * a fixed rate. The targets are Pharos (three telemetry settings) and the bare-runtime
 * baseline (`event_baseline_server.ts`), each a fresh server per run.
 * @module
 */
import type { EventPhaseResult } from "./event_load.ts";
import type { EventPhase, EventsPlan } from "./plan.ts";
import { createPhaseCpu, type ServerSpec, startLoad, startServer } from "./processes.ts";
import { type BenchSettings, endpointsOf } from "./scenarios.ts";
import { median } from "./summary.ts";

/**
 * The phases in the order they run: saturation with one subscriber first (it also warms
 * the server up), the latency phase on the same subscriber, then saturation with many.
 */
export const EVENT_PHASES = ["saturate_1", "fixed", "saturate_many"] as const;
/** One of {@link EVENT_PHASES}. */
export type EventPhaseName = typeof EVENT_PHASES[number];

/** What one event-throughput run measured. */
export interface EventsResult {
  readonly target: string;
  /** Events per second of the `fixed` phase. */
  readonly fixed_rate: number;
  readonly phases: Readonly<Record<EventPhaseName, EventPhaseResult>>;
  /** Server CPU use during each phase, % of one core. */
  readonly server_cpu_pct: Readonly<Record<EventPhaseName, number>>;
  /**
   * CPU the rest of the machine used during each phase (every process but the server and
   * the load generator, steal time included), % of one core: what else competed for the
   * cores. Far above 0, the figures of that phase are not the server's alone.
   */
  readonly others_cpu_pct: Readonly<Record<EventPhaseName, number>>;
  readonly server_output_lines: number;
  /**
   * Spans per second that reached the OTLP sink, by when they started, per phase; only
   * for a target that exports traces to the sink.
   */
  readonly spans_per_s?: Readonly<Record<EventPhaseName, number>>;
}

/** Counts the spans a target exported that started in a window (the OTLP sink's). */
export type SpanCounter = (fromMs: number, toMs: number) => number;

/** The phases `settings` asks for. */
export function eventPhases(settings: BenchSettings): EventPhase[] {
  const saturate = {
    kind: "saturate" as const,
    seconds: settings.eventSeconds,
    batch: settings.eventBatch,
    maxPosts: settings.eventMaxPosts,
    prebuiltEvents: settings.eventPrebuiltEvents,
  };
  return [
    // One subscriber reads as data comes: its reads are large whenever the server is busy.
    { name: "saturate_1", subscribers: 1, ...saturate, readPauseMs: 0 },
    {
      name: "fixed",
      kind: "fixed",
      subscribers: 1,
      seconds: settings.eventSeconds,
      rate: settings.eventFixedRate,
      postIntervalMs: settings.eventPostIntervalMs,
    },
    // Many subscribers each get a trickle; reading it as it comes costs a read per frame or two.
    {
      name: "saturate_many",
      subscribers: settings.eventSubscribers,
      ...saturate,
      // Every event costs a frame per subscriber: far fewer events fit in the phase.
      maxPosts: settings.eventManyMaxPosts,
      prebuiltEvents: Math.ceil(settings.eventPrebuiltEvents * 10 / settings.eventSubscribers),
      readPauseMs: settings.eventReadPauseMs,
    },
  ];
}

/** Runs every event-throughput phase against a fresh `spec` server. */
export async function runEventThroughput(
  target: string,
  spec: ServerSpec,
  settings: BenchSettings,
  spans?: SpanCounter,
): Promise<EventsResult> {
  const windows: Partial<Record<EventPhaseName, [number, number]>> = {};
  const result = await runOnServer(target, spec, settings, (line) => {
    const phase = (line.phase ?? (line.result as { phase?: string } | undefined)?.phase) as
      | EventPhaseName
      | undefined;
    if (phase === undefined) return;
    if (line.event === "phase-start") windows[phase] = [Date.now(), NaN];
    if (line.event === "phase-end" && windows[phase] !== undefined) windows[phase]![1] = Date.now();
  });
  // The server has exited, so every span it exported is at the sink.
  if (spans === undefined) return result;
  return {
    ...result,
    spans_per_s: perEventPhase((phase) => {
      const [from, to] = windows[phase] ?? [NaN, NaN];
      return Math.round(spans(from, to) / ((to - from) / 1000));
    }),
  };
}

async function runOnServer(
  target: string,
  spec: ServerSpec,
  settings: BenchSettings,
  onLine: (line: Record<string, unknown>) => void,
): Promise<EventsResult> {
  await using server = await startServer(spec);
  const plan: EventsPlan = {
    mode: "events",
    ...endpointsOf(server.port),
    connectConcurrency: 50,
    keys: settings.eventKeys,
    retryAfterCapMs: 50,
    drainIdleMs: 2000,
    phases: eventPhases(settings),
  };
  const phases: Partial<Record<EventPhaseName, EventPhaseResult>> = {};
  const phaseCpu = createPhaseCpu(server.pid);
  await using load = startLoad(plan, (line) => {
    onLine(line);
    phaseCpu.onLine(line);
    if (line.event === "phase-end") {
      const result = line.result as EventPhaseResult;
      phases[result.phase as EventPhaseName] = result;
    }
  });
  await load.done;
  const cpu = await phaseCpu.result();
  const machine = await phaseCpu.machine();
  const missing = EVENT_PHASES.filter((phase) => phases[phase] === undefined);
  if (missing.length > 0) {
    throw new Error(`${target}: the load generator did not finish ${missing.join(", ")}`);
  }
  return {
    target,
    fixed_rate: settings.eventFixedRate,
    phases: phases as Record<EventPhaseName, EventPhaseResult>,
    server_cpu_pct: perEventPhase((phase) => cpu[phase] ?? NaN),
    others_cpu_pct: perEventPhase((phase) =>
      Math.max(0, (machine[phase] ?? NaN) - (cpu[phase] ?? NaN) - phases[phase]!.loadgen_cpu_pct)
    ),
    server_output_lines: server.linesWritten(),
  };
}

function perEventPhase(pick: (phase: EventPhaseName) => number): Record<EventPhaseName, number> {
  return Object.fromEntries(EVENT_PHASES.map((phase) => [phase, pick(phase)])) as Record<
    EventPhaseName,
    number
  >;
}

/** One target's event-throughput figures, each the median over its runs (counts: sums). */
export interface EventsSummary {
  readonly target: string;
  readonly runs: number;
  readonly subscribers_many: number;
  readonly fixed_rate: number;
  readonly events_per_s_1: number;
  readonly events_per_s_many: number;
  readonly fixed_events_per_s: number;
  readonly fixed_p50_ms: number;
  readonly fixed_p99_ms: number;
  /** Spans per second exported during the 1-subscriber saturation, for a target with traces. */
  readonly spans_per_s_1?: number;
  /** Frames expected and lost over every phase of every run. */
  readonly expected_frames: number;
  readonly lost: number;
  /** Extra frames and invalid subscribers over every phase of every run (0 when all is well). */
  readonly anomalies: number;
  /** Frames of the timed phases that came in another order than posted (a diagnostic). */
  readonly reordered: number;
  readonly ingest_rejected: number;
  readonly server_cpu_pct: Readonly<Record<EventPhaseName, number>>;
  readonly others_cpu_pct: Readonly<Record<EventPhaseName, number>>;
  /** 100 − server CPU % during saturation: far from 0, the server waited on something. */
  readonly idle_pct: { readonly saturate_1: number; readonly saturate_many: number };
  readonly loadgen_cpu_pct: Readonly<Record<EventPhaseName, number>>;
}

/** Summarises the runs of one target. */
export function summarizeEvents(target: string, runs: readonly EventsResult[]): EventsSummary {
  const of = (pick: (run: EventsResult) => number) => median(runs.map(pick));
  const all = runs.flatMap((run) => EVENT_PHASES.map((phase) => run.phases[phase]));
  const sum = (pick: (phase: EventPhaseResult) => number) =>
    all.reduce((total, phase) => total + pick(phase), 0);
  const perPhase = (pick: (run: EventsResult, phase: EventPhaseName) => number) =>
    perEventPhase((phase) => of((run) => pick(run, phase)));
  const idle = (run: EventsResult, phase: EventPhaseName) =>
    Math.max(0, 100 - run.server_cpu_pct[phase]);
  return {
    target,
    runs: runs.length,
    subscribers_many: of((r) => r.phases.saturate_many.subscribers),
    fixed_rate: of((r) => r.fixed_rate),
    events_per_s_1: of((r) => r.phases.saturate_1.events_per_s),
    events_per_s_many: of((r) => r.phases.saturate_many.events_per_s),
    fixed_events_per_s: of((r) => r.phases.fixed.events_per_s),
    fixed_p50_ms: of((r) => r.phases.fixed.latency_ms.p50),
    fixed_p99_ms: of((r) => r.phases.fixed.latency_ms.p99),
    ...(runs.every((r) => r.spans_per_s !== undefined)
      ? { spans_per_s_1: of((r) => r.spans_per_s!.saturate_1) }
      : {}),
    expected_frames: sum((p) => p.expected_frames),
    lost: sum((p) => p.lost),
    anomalies: sum((p) => p.extra + p.invalid),
    reordered: sum((p) => p.reordered),
    ingest_rejected: sum((p) => p.ingest_rejected),
    server_cpu_pct: perPhase((run, phase) => run.server_cpu_pct[phase]),
    others_cpu_pct: perPhase((run, phase) => run.others_cpu_pct[phase]),
    idle_pct: {
      saturate_1: of((r) => idle(r, "saturate_1")),
      saturate_many: of((r) => idle(r, "saturate_many")),
    },
    loadgen_cpu_pct: perPhase((run, phase) => run.phases[phase].loadgen_cpu_pct),
  };
}
