import type { Logger } from "../log/mod.ts";
import type { PharosEvent } from "../stack/mod.ts";
import type { VmTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { HostRun, StateTables, VmBatchResult } from "../vm/mod.ts";
import { applyAnswer, type Culprit } from "./answers.ts";
import { logConsole } from "./host_pool.ts";
import type { HostProcess, RunAnswer } from "./host_process.ts";
import type { RunMessage } from "./protocol.ts";

/** What a batch asks a host to run. */
export interface RunRequest {
  readonly events: readonly PharosEvent[];
  /** Index of the first event to run. */
  readonly from: number;
  /** Record when each event finished (for per-event spans). */
  readonly timings: boolean;
  /** Record every handler run. */
  readonly runs: boolean;
  /** Events not to run (they took a host down before). */
  readonly skip: ReadonlySet<number>;
}

/** The events of a batch that must not run again, remembered across its slices. */
export interface BatchSkips {
  readonly events: readonly PharosEvent[];
  readonly skip: Set<number>;
  readonly culprits: Culprit[];
}

/** Remembers the skips of the latest batch: a batch comes back slice by slice (`from`). */
export function createSkipMemory(): (events: readonly PharosEvent[]) => BatchSkips {
  let skips: BatchSkips | undefined;
  return (events) => {
    if (skips?.events !== events) skips = { events, skip: new Set(), culprits: [] };
    return skips;
  };
}

/** One `processBatch` call: its request, its skips, and each host's part in it. */
export interface BatchRun extends RunRequest {
  readonly skips: BatchSkips;
  /** With `timings`: each attempt's host, time and outcome. */
  readonly hostRuns: HostRun[] | undefined;
}

/** One batch sent to one host. */
export interface Attempt {
  readonly host: HostProcess;
  readonly events: readonly PharosEvent[];
  readonly from: number;
  readonly sentAt: number;
  readonly done: Promise<RunAnswer>;
  /** This host's part in the batch (for the batch's trace lines), ending now. */
  ended(outcome: HostRun["outcome"], startedAt?: number): HostRun;
}

/** Sends a request to a host as a run message, numbering the runs of one VM. */
export function createRunSender(clock: Clock): (host: HostProcess, request: RunRequest) => Attempt {
  let runIds = 0;
  /** Sends events `from`… to `host`; the batch runs whole (no slices: the host is apart). */
  return (host, { events, from, timings, runs, skip }) => {
    const sentAt = clock.monotonic();
    const message: RunMessage = {
      t: "run",
      id: ++runIds,
      from,
      budgetMs: null,
      timings,
      ...(runs ? { runs } : {}),
      skip: [...skip],
      events,
    };
    const done = host.run(message);
    done.catch(() => {}); // awaited by processBatch; never an unhandled rejection
    const ended = (outcome: HostRun["outcome"], startedAt = sentAt): HostRun => ({
      startedAt,
      endedAt: clock.monotonic(),
      pid: host.pid,
      events: events.length - from,
      outcome,
    });
    return { host, events, from, sentAt, done, ended };
  };
}

/** What taking an answer in needs. */
export interface AnswerContext {
  readonly tables: StateTables;
  readonly clock: Clock;
  readonly telemetry: VmTelemetry;
  /** `pharos.vm`: guest console lines go to its `handler` child. */
  readonly log: Logger;
}

/**
 * Waits for the host's answer to `attempt` and merges it into the tables, recording the
 * culprits of earlier deaths of this batch; rejects with a `HostDiedError` when the host
 * dies first.
 */
export async function takeAnswer(
  attempt: Attempt,
  batch: BatchRun,
  context: AnswerContext,
): Promise<VmBatchResult> {
  const { tables, clock, telemetry } = context;
  const { events, from } = attempt;
  // A batch sent ahead began when the host finished the one before it.
  const { done, startedAt: began } = await attempt.done;
  telemetry.hostBatchDone((clock.monotonic() - began) / 1000);
  batch.hostRuns?.push(attempt.ended("ok", began));
  const startedAt = batch.timings ? began : undefined;
  const out = applyAnswer(tables, events, from, done, batch.skips.culprits, startedAt);
  for (const [entity, handler, seconds] of done.d ?? []) {
    telemetry.handlerDuration(entity, handler, seconds);
  }
  logConsole(context.log, done.log);
  out.hostRuns = batch.hostRuns;
  return out;
}
