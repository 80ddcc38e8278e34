import type { EventTreeChooser } from "./event_trees.ts";
import type { IntakeBatch } from "./intake.ts";
import type { OpenSpan, SpanAttributes, Tracing } from "../telemetry/mod.ts";
import type { VmBatchResult } from "../vm/mod.ts";

/**
 * Records a `vm.process_event` span for each event of a slice that ran whom `chooser`
 * picks (only when spans are exported): each continues its producer's trace when the
 * event carries a `traceparent`, spans the time its handlers took (from the VM's timings),
 * and is marked ERROR with each failed run's exception. The VM ran events `from` to
 * `result.next` of the batch; `spans[i - from]` is event `i`'s span, ended, to parent the
 * event's `projector.mutation` spans, or undefined when the event was not picked or the
 * sampler dropped it (its children would be dropped too, so none are made: with 1 %
 * sampling, making them anyway cost a third of the event path).
 */
export function recordEventSpans(
  tracing: Tracing,
  chooser: EventTreeChooser,
  batch: IntakeBatch,
  result: VmBatchResult,
  range: { readonly from: number; readonly startedAt: number },
): (OpenSpan | undefined)[] {
  const { events, sources } = batch;
  const { from, startedAt } = range;
  const spans: (OpenSpan | undefined)[] = new Array(result.next - from);
  const endedAt = result.endedAt;
  let failure = 0;
  for (let i = from; i < result.next; i++) {
    const event = events[i]!;
    if (!chooser.choose(event)) {
      while (failure < result.failures.length && result.failures[failure]!.event === i) failure++;
      continue;
    }
    const attributes: SpanAttributes = event.slot === undefined
      ? { "event.type": event.type, "event.source": sources[i]! }
      : { "event.type": event.type, "event.source": sources[i]!, slot: event.slot };
    const span = tracing.startSpan("vm.process_event", attributes, {
      root: true,
      kind: "consumer",
      startTime: i === from ? startedAt : endedAt?.[i - from - 1] ?? startedAt,
      ...(event.traceparent === undefined ? {} : { parent: event.traceparent }),
    });
    let failed = 0;
    // A failed handler run fails this event's processing: mark it, with the exception.
    for (; failure < result.failures.length && result.failures[failure]!.event === i; failure++) {
      span.recordError(result.failures[failure]!.error);
      failed++;
    }
    if (failed > 0) span.setAttribute("handler.failures", failed);
    const recording = span.recording; // read before end(): an ended span records no more
    span.end(endedAt?.[i - from]);
    spans[i - from] = recording ? span : undefined;
  }
  return spans;
}

/**
 * One `vm.handler_host` span per round trip of the slice to the handler host (more than
 * one when a host died mid-batch), under the slice's first recorded event span: the batch
 * ran for all its events at once, so it shows once, in the trace of the event it began
 * with, with the number of events it carried.
 */
export function recordHostSpans(
  tracing: Tracing,
  result: VmBatchResult,
  spans: readonly (OpenSpan | undefined)[],
): void {
  const parent = spans.find((span) => span !== undefined);
  if (parent === undefined || result.hostRuns === undefined) return;
  for (const run of result.hostRuns) {
    const span = tracing.startSpan("vm.handler_host", {
      "process.pid": run.pid,
      "batch.events": run.events,
      outcome: run.outcome,
    }, { parentSpan: parent, startTime: run.startedAt });
    if (run.outcome !== "ok") {
      span.recordError(new Error(`The handler host ended (${run.outcome}) before answering`));
    }
    span.end(run.endedAt);
  }
}
