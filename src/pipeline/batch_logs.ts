import type { Logger } from "../log/mod.ts";
import type { PharosEvent } from "../stack/mod.ts";
import type { OpenSpan } from "../telemetry/mod.ts";
import { type BatchFailure, CANCEL_CODES, type VmBatchResult } from "../vm/mod.ts";
import type { IntakeBatch } from "./intake.ts";
import { errorMessage } from "../util/mod.ts";

/**
 * The pipeline's log lines about the batches it runs: failures at warn and error, and, only
 * when asked for, the debug line of a slice and the trace lines of its events, handler
 * runs and mutations. The caller reads the levels once per slice.
 */
export interface BatchLogs {
  /**
   * One line per failed run, inside the event's span when there is one (so it carries the
   * trace id); a cancelled run (over budget, or it took its handler host down) is an error.
   */
  failure(failure: BatchFailure, event: PharosEvent, span: OpenSpan | undefined): void;
  /** The debug line of one slice of a batch: how many events ran, and how long it took. */
  slice(batch: IntakeBatch, from: number, result: VmBatchResult, ranMs: number): void;
  /**
   * One trace line per event of a slice, under its source's target, for the sources with
   * trace on. The levels are read once per slice and source, never per event: this is the
   * event path, and a source's own delivery (`sink`) is called per event.
   */
  sourceEvents(batch: IntakeBatch, from: number, next: number): void;
  /**
   * The trace lines of one slice: every handler run with its duration (the in-process VM
   * times them, a handler host reports them, both only when asked), then every mutation.
   * Each goes inside its event's span when there is one, so it carries the trace id.
   */
  runs(
    batch: IntakeBatch,
    from: number,
    result: VmBatchResult,
    spans: readonly (OpenSpan | undefined)[] | undefined,
  ): void;
}

/** The batch lines, under `pharos.vm` and each source's `pharos.sources.<kind>`. */
export function createBatchLogs(
  vmLog: Logger,
  eventLogs: ReadonlyMap<string, Logger>,
): BatchLogs {
  return {
    failure(failure, event, span) {
      const cancelled = CANCEL_CODES.has(failure.code);
      const properties = {
        entity: failure.entity,
        handler: failure.handler,
        code: failure.code,
        event_type: event.type,
        ...(event.slot === undefined ? {} : { slot: event.slot }),
        error: errorMessage(failure.error),
      };
      const line = cancelled
        ? () => vmLog.error("Handler {entity}.{handler} cancelled ({code}): {error}", properties)
        : () => vmLog.warn("Handler {entity}.{handler} failed ({code}): {error}", properties);
      if (span === undefined) line();
      else span.run(line);
    },
    slice(batch, from, result, ranMs) {
      vmLog.debug("Ran {events} events in {duration_ms} ms", {
        events: result.next - from,
        from,
        batch_size: batch.events.length,
        mutations: result.mutations.length,
        failures: result.failures.length,
        duration_ms: Math.round(ranMs * 1000) / 1000,
      });
    },
    sourceEvents(batch, from, next) {
      let logs: Map<string, Logger> | undefined;
      for (const [name, log] of eventLogs) {
        if (log.isEnabledFor("trace")) (logs ??= new Map()).set(name, log);
      }
      if (logs === undefined) return;
      for (let at = from; at < next; at++) {
        const source = batch.sources[at]!;
        const event = batch.events[at]!;
        logs.get(source)?.trace("Source {source} event {type}", {
          source,
          type: event.type,
          ...(event.slot === undefined ? {} : { slot: event.slot }),
          ...(event.index === undefined ? {} : { index: event.index }),
          ...(event.key === undefined ? {} : { key: event.key }),
        });
      }
    },
    runs(batch, from, result, spans) {
      const inSpan = (at: number, line: () => void) => {
        const span = spans?.[at - from];
        if (span === undefined) line();
        else span.run(line);
      };
      for (const run of result.runs ?? []) {
        const event = batch.events[run.event]!;
        inSpan(run.event, () =>
          vmLog.trace("Handler {entity}.{handler} ran in {duration_ms} ms", {
            entity: run.entity,
            handler: run.handler,
            key: run.key,
            event_type: event.type,
            ...(event.slot === undefined ? {} : { slot: event.slot }),
            source: batch.sources[run.event],
            duration_ms: Math.round(run.durationMs * 1000) / 1000,
          }));
      }
      result.mutations.forEach((mutation, i) => {
        const at = result.mutationEvents[i]!;
        inSpan(at, () =>
          vmLog.trace("Mutation of {entity} {key}", {
            entity: mutation.entity,
            key: mutation.key,
            event_type: batch.events[at]!.type,
            ...(mutation.seq === undefined ? {} : { seq: mutation.seq }),
            fields: Object.keys(mutation.patch).length,
          }));
      });
    },
  };
}
