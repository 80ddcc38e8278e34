/**
 * What the server does with a handler host's answer, or with its death: the answer's
 * patches and failures merged into the authoritative tables exactly as the in-process VM
 * merges its own, and the run that took a host down found from its progress marks.
 */
import type { Patch, PharosEvent } from "../stack/mod.ts";
import type { HandlerCancelReason } from "../telemetry/mod.ts";
import { BatchOutput, type EntityRuntime, type StateTables } from "../vm/mod.ts";
import { describeExit, type HostDiedError } from "./host_process.ts";
import type { DoneMessage } from "./protocol.ts";

/** A handler run that took its host down: counted and skipped, never run again. */
export interface Culprit {
  readonly event: number;
  readonly runtime: EntityRuntime;
  readonly reason: HandlerCancelReason;
  readonly error: Error;
}

/**
 * The run the host had started last, the `runsStarted`-th of the batch from `from` (each
 * event runs one handler per entity that has one for its type, skipped events none).
 */
export function locateRun(
  tables: StateTables,
  events: readonly PharosEvent[],
  from: number,
  skip: ReadonlySet<number>,
  runsStarted: number,
): { event: number; runtime: EntityRuntime } | undefined {
  let left = runsStarted;
  if (left <= 0) return undefined;
  for (let at = from; at < events.length; at++) {
    if (skip.has(at)) continue;
    for (const runtime of tables.entities) {
      if (runtime.definition.handlers[events[at]!.type] === undefined) continue;
      if (--left === 0) return { event: at, runtime };
    }
  }
  return undefined;
}

/** The error a cancelled run is logged and recorded on its span with. */
export function cancellationError(
  reason: HandlerCancelReason,
  died: HostDiedError,
  budgetMs: number,
): Error {
  const what = reason === "timeout"
    ? `ran past its ${budgetMs} ms budget; the handler host was killed`
    : reason === "memory"
    ? `took its handler host over its memory limit`
    : `made its handler host exit (${describeExit(died.exit)})`;
  return Object.assign(new Error(`Handler run ${what}; the event is skipped`), {
    name: "HandlerCancelledError",
  });
}

/**
 * Applies a host's answer for events `from`… of `events`: mutations committed with their
 * `_seq` (numbered here, in event order), failures recorded with the server's own bounded
 * codes, culprits of earlier deaths of this batch recorded as cancellations. `startedAt`
 * (when timings were asked for) places the host's per-event end offsets on this clock.
 */
export function applyAnswer(
  tables: StateTables,
  events: readonly PharosEvent[],
  from: number,
  done: DoneMessage,
  culprits: readonly Culprit[],
  startedAt: number | undefined,
): BatchOutput {
  const runs = Array.isArray(done.r) ? done.r : undefined;
  const out = new BatchOutput(startedAt !== undefined, runs !== undefined);
  const next = Math.min(Math.max(done.next, from + 1), events.length);
  const seqs: (string | undefined)[] = [];
  for (let at = from; at < next; at++) seqs.push(tables.seqFor(events[at]!));
  for (const [entity, key, patch, at] of done.m) {
    const runtime = tables.runtime(entity);
    if (runtime === undefined || at < from || at >= next) continue; // not from this batch
    tables.commit(out, at, runtime, key, patch as Patch, seqs[at - from], events[at]!.type);
  }
  for (const [entity, handler, code, name, message, at] of done.f) {
    const runtime = tables.runtime(entity);
    if (runtime === undefined || at < from || at >= next) continue;
    tables.failWith(out, at, runtime, handler, Object.assign(new Error(message), { name, code }));
  }
  for (const culprit of culprits) {
    if (culprit.event < from || culprit.event >= next) continue;
    const type = events[culprit.event]!.type;
    tables.fail(out, culprit.event, culprit.runtime, type, culprit.reason, culprit.error);
  }
  out.failures.sort((a, b) => a.event - b.event);
  for (const [entity, handler, at, key, durationMs] of runs ?? []) {
    if (typeof at !== "number" || at < from || at >= next) continue;
    out.runs!.push({ entity, handler, event: at, key, durationMs });
  }
  if (startedAt !== undefined) {
    for (let i = 0; i < next - from; i++) out.endedAt!.push(startedAt + (done.e?.[i] ?? 0));
  }
  out.next = next;
  return out;
}
