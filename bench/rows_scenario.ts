/**
 * The row-rule scenario (issue 25): an event flood (a closed loop, as in event throughput)
 * to `settings.clients` WebSocket connections whose static tokens name `settings.rowsOwners`
 * owners (`sub=owner<i>`, the same number of connections each), against three servers
 * that differ only where said:
 *
 * - `rule`: `bench/rows_stack_ruled.ts`, whose `Token` rows are shown only to the tokens
 *   whose `sub` is their `owner`; every connection subscribes to `Token/list`, and each
 *   event reaches the connections of its owner (one frame encoded per event, a group's
 *   worth sent);
 * - `no-rule`: `bench/rows_stack.ts`, the same stack without the rule, every connection
 *   subscribed: each event reaches every connection (the "same load without
 *   rules");
 * - `no-rule-group`: the stack without the rule, one group's worth of connections
 *   subscribed and the rest connected but idle: each event reaches as many connections as
 *   under the rule, and the same few connections get every frame;
 * - `no-rule-keyed`: the stack without the rule, every connection subscribed to
 *   `Token/state` with its owner's mint as the key (one mint per owner): each event reaches
 *   the same connections as under the rule, with no rule (the server matches keys per
 *   subscription instead).
 *
 * `rule` against `no-rule-group` is the rule's cost at the same fan-out per event; against
 * `no-rule-keyed`, at the same frames to the same connections (BENCHMARKS.md, "Row rules").
 *
 * The events are the same everywhere: `Transfer`s over one mint per owner, `mint<k>` owned
 * by `owner<k>`. Each run is a fresh server.
 * @module
 */
import type { EventPhaseResult } from "./event_load.ts";
import type { EventsPlan } from "./plan.ts";
import { createPhaseCpu, type ServerSpec, startLoad, startServer } from "./processes.ts";
import { type BenchSettings, endpointsOf, PHAROS_INGEST_ENV } from "./scenarios.ts";
import { median } from "./summary.ts";

/** The three runs, in the order they interleave. */
export const ROWS_TARGETS = ["rule", "no-rule-group", "no-rule-keyed", "no-rule"] as const;
/** One of {@link ROWS_TARGETS}. */
export type RowsTarget = typeof ROWS_TARGETS[number];

const PHASE = "flood";

/** The static token of owner `i` (its entry in `PHAROS_AUTH_TOKENS` adds `;sub=owner<i>`). */
function ownerToken(i: number): string {
  return `bench-owner-${i}`;
}

/** The server environment of a row-rule run: ingest, static tokens of every owner, the stack. */
export function rowsEnv(settings: BenchSettings, target: RowsTarget): Record<string, string> {
  const tokens = Array.from(
    { length: settings.rowsOwners },
    (_, i) => `${ownerToken(i)};sub=owner${i}`,
  );
  return {
    ...PHAROS_INGEST_ENV,
    PHAROS_STACK: target === "rule" ? "bench/rows_stack_ruled.ts" : "bench/rows_stack.ts",
    PHAROS_AUTH: "static",
    PHAROS_AUTH_TOKENS: tokens.join(","),
  };
}

/** What one row-rule run measured. */
export interface RowsResult {
  readonly target: RowsTarget;
  readonly ruled: boolean;
  /** Connections held (subscribed and idle). */
  readonly connections: number;
  readonly subscribers: number;
  /** Connections each event reaches. */
  readonly receivers_per_event: number;
  readonly phase: EventPhaseResult;
  /** Server CPU during the flood, % of one core. */
  readonly server_cpu_pct: number;
  /** Server CPU seconds during the flood. */
  readonly server_cpu_s: number;
  /** Server CPU per accepted event, µs. */
  readonly cpu_us_per_event: number;
  /** Server CPU per delivered frame, µs. */
  readonly cpu_us_per_frame: number;
  /** Every other process on the machine (the handler host included), % of one core. */
  readonly others_cpu_pct: number;
}

/** Runs the flood once against `spec`, shaped for `target`. */
export async function runRows(
  target: RowsTarget,
  spec: ServerSpec,
  settings: BenchSettings,
): Promise<RowsResult> {
  const { clients, rowsOwners: owners } = settings;
  if (clients % owners !== 0) throw new RangeError("clients must be a multiple of rowsOwners");
  const group = clients / owners;
  const ruled = target === "rule";
  const keyed = target === "no-rule-keyed";
  const subscribers = target === "no-rule-group" ? group : clients;
  const everyone = target === "no-rule";
  const receivers = everyone ? clients : group;
  // Events that reach every connection come as the fan-out flood sends them (`floodBatch`
  // events a POST, `floodWindow` in flight): each is a thousand frames.
  const batch = everyone ? settings.floodBatch : settings.rowsBatch;
  const maxPosts = everyone
    ? Math.max(1, Math.floor(settings.floodWindow / settings.floodBatch))
    : settings.rowsMaxPosts;
  await using server = await startServer(spec);
  const plan: EventsPlan = {
    mode: "events",
    ...endpointsOf(server.port),
    ...(keyed ? { view: "Token/state" } : {}),
    connectConcurrency: 50,
    keys: owners, // one mint per owner
    retryAfterCapMs: 50,
    drainIdleMs: 2000,
    owned: {
      owners,
      tokens: Array.from({ length: owners }, (_, i) => ownerToken(i)),
      ownEventsOnly: ruled || keyed,
      keyed,
      idle: clients - subscribers,
    },
    phases: [{
      name: PHASE,
      kind: "saturate",
      subscribers,
      seconds: settings.rowsSeconds,
      batch,
      maxPosts,
      prebuiltEvents: Math.ceil(settings.rowsPrebuiltEvents * group / receivers),
      // Read as data comes: a pause after small reads (as the event scenario's many
      // subscribers take) held the every-client run below saturation.
      readPauseMs: 0,
    }],
  };
  let phase: EventPhaseResult | undefined;
  const phaseCpu = createPhaseCpu(server.pid);
  await using load = startLoad(plan, (line) => {
    phaseCpu.onLine(line);
    if (line.event === "phase-end") phase = line.result as EventPhaseResult;
  });
  await load.done;
  if (phase === undefined) throw new Error(`${target}: the load generator did not finish`);
  const cpu = (await phaseCpu.result())[PHASE] ?? NaN;
  const machine = (await phaseCpu.machine())[PHASE] ?? NaN;
  const cpuSeconds = (await phaseCpu.serverSeconds())[PHASE] ?? NaN;
  const perMicro = (count: number) =>
    count > 0 ? Math.round((cpuSeconds / count) * 1e6 * 100) / 100 : NaN;
  return {
    target,
    ruled,
    connections: clients,
    subscribers: phase.subscribers,
    receivers_per_event: receivers,
    phase,
    server_cpu_pct: cpu,
    server_cpu_s: cpuSeconds,
    cpu_us_per_event: perMicro(phase.events_accepted),
    cpu_us_per_frame: perMicro(phase.received_frames),
    others_cpu_pct: Math.max(0, machine - cpu - phase.loadgen_cpu_pct),
  };
}

/** One row-rule target's figures, each the median over its runs (counts: sums). */
export interface RowsSummary {
  readonly target: string;
  readonly runs: number;
  readonly receivers_per_event: number;
  readonly events_per_s: number;
  readonly frames_per_s: number;
  readonly cpu_us_per_event: number;
  readonly cpu_us_per_frame: number;
  readonly server_cpu_pct: number;
  readonly loadgen_cpu_pct: number;
  readonly others_cpu_pct: number;
  readonly expected_frames: number;
  readonly lost: number;
  /** Extra frames and invalid subscribers (0 when all is well). */
  readonly anomalies: number;
  readonly clients_closed: number;
  readonly ingest_rejected: number;
}

/** Summarises the runs of one target. */
export function summarizeRows(target: string, runs: readonly RowsResult[]): RowsSummary {
  const of = (pick: (run: RowsResult) => number) => median(runs.map(pick));
  const sum = (pick: (run: RowsResult) => number) =>
    runs.reduce((total, run) => total + pick(run), 0);
  return {
    target,
    runs: runs.length,
    receivers_per_event: of((r) => r.receivers_per_event),
    events_per_s: of((r) => r.phase.events_per_s),
    frames_per_s: of((r) => r.phase.frames_per_s),
    cpu_us_per_event: of((r) => r.cpu_us_per_event),
    cpu_us_per_frame: of((r) => r.cpu_us_per_frame),
    server_cpu_pct: of((r) => r.server_cpu_pct),
    loadgen_cpu_pct: of((r) => r.phase.loadgen_cpu_pct),
    others_cpu_pct: of((r) => r.others_cpu_pct),
    expected_frames: sum((r) => r.phase.expected_frames),
    lost: sum((r) => r.phase.lost),
    anomalies: sum((r) => r.phase.extra + r.phase.invalid),
    clients_closed: sum((r) => r.phase.clients_closed),
    ingest_rejected: sum((r) => r.phase.ingest_rejected),
  };
}
