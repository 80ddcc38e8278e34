import type { Logger } from "../log/mod.ts";
import type { Projector } from "../projector/mod.ts";
import type { OpenSpan, Tracing } from "../telemetry/mod.ts";
import { type Clock, yieldToIo } from "../util/mod.ts";
import type { Vm } from "../vm/mod.ts";
import type { EventTracingConfig } from "../config/mod.ts";
import { createBatchLogs } from "./batch_logs.ts";
import { BatchSpans } from "./batch_spans.ts";
import { recordEventSpans, recordHostSpans } from "./event_spans.ts";
import { EventTreeChooser } from "./event_trees.ts";
import { createIntake, type Intake, type IntakeBatch } from "./intake.ts";

/** What the batch loop runs over; the limits are `PipelineOptions`', defaults applied. */
export interface BatchLoopOptions {
  readonly vm: Vm;
  readonly projector: Projector;
  readonly clock: Clock;
  readonly tracing: Tracing;
  /** `pharos.vm`: the slice, run and failure lines. */
  readonly log: Logger;
  /** Each source's own logger by source name, for its events' trace lines. */
  readonly sourceLogs: ReadonlyMap<string, Logger>;
  /** The stack's entity types, whose fan-out sets the batch size. */
  readonly entities: readonly string[];
  readonly fanoutIdle: () => Promise<void> | undefined;
  /** Events the intake holds at most; default the intake's. */
  readonly capacity?: number | undefined;
  readonly maxBatchEvents: number;
  readonly maxBatchFrames: number;
  readonly sliceMs: number;
  /** How many spans the event path makes (`PipelineConfig.tracing`). */
  readonly tracingConfig: EventTracingConfig;
}

/**
 * The event path's loop: the intake hands out batches, the VM runs them slice by slice, and
 * each slice's mutations go to the projector, with the events' spans and log lines.
 * Returns the intake the sources submit to; it runs until closed.
 */
export function createBatchLoop(options: BatchLoopOptions): Intake {
  const { clock, vm, projector, tracing, entities, fanoutIdle, sliceMs } = options;
  const { maxBatchEvents, maxBatchFrames } = options;
  const vmLog = options.log;
  const batchLogs = createBatchLogs(vmLog, options.sourceLogs);
  const chooser = new EventTreeChooser(clock, options.tracingConfig);
  const batchSpans = new BatchSpans({
    tracing,
    clock,
    perSecond: options.tracingConfig.batchesPerSecond,
  });
  /** The batch sent ahead to the handler host, and whether it was asked for timings. */
  let sentAhead: { events: readonly unknown[]; timings: boolean } | undefined;

  /** Events per batch now: fewer when each one fans out to many clients. */
  function batchLimit(): number {
    let fanout = 1;
    for (const entity of entities) fanout = Math.max(fanout, projector.fanoutOf(entity));
    return Math.max(1, Math.min(maxBatchEvents, Math.floor(maxBatchFrames / fanout)));
  }

  /**
   * Runs a batch in pieces of at most `sliceMs` of handler time, each merged and published
   * before the next, yielding to I/O between pieces: a batch of slow handlers must not
   * hold `/ready` for the whole batch.
   */
  async function processBatch(batch: IntakeBatch): Promise<void> {
    let from = 0;
    while (from < batch.events.length) {
      // Before each slice, the sockets take the previous slice's frames: the pipeline's
      // back-pressure. (Waiting only every thousand frames let a single fast subscriber's
      // socket fall behind the pipeline's own output until it counted as a slow consumer:
      // measured, the client was dropped within a second.) That wait yields to I/O; when
      // there was nothing to wait for, a slice after the first yields itself.
      const waiting = fanoutIdle();
      if (waiting !== undefined) await waiting;
      else if (from > 0) await yieldToIo();
      from = await processSlice(batch, from);
    }
    if (tracing.exporting) batchSpans.batchDone();
  }

  /**
   * Whether the slice from `from` asks the VM for per-event timings: only when one of its
   * events may get a span tree. A batch sent ahead was asked when it was sent.
   */
  function wantsTimings(batch: IntakeBatch, from: number): boolean {
    if (from === 0 && sentAhead?.events === batch.events) return sentAhead.timings;
    return tracing.exporting && chooser.mayChoose(batch.events, from);
  }

  async function processSlice(batch: IntakeBatch, from: number): Promise<number> {
    // Spans only when someone can look them up, and per event only for the events the
    // chooser picks. The log levels are read once per slice: with debug and trace off,
    // nothing more is done.
    const exporting = tracing.exporting;
    const timings = wantsTimings(batch, from);
    sentAhead = undefined;
    const debug = vmLog.isEnabledFor("debug");
    const trace = debug && vmLog.isEnabledFor("trace");
    const startedAt = clock.monotonic();
    // Handlers and publication run inside the batch span, the latency metrics' exemplar.
    const inBatchSpan = <T>(fn: () => T): T => exporting ? batchSpans.run(startedAt, fn) : fn();
    const result = await inBatchSpan(() =>
      vm.processBatch(batch.events, { from, budgetMs: sliceMs, timings, runs: trace })
    );
    // One clock read serves the batch span's end and the debug line's duration.
    const endedAt = exporting || debug ? clock.monotonic() : 0;
    const ranMs = debug ? endedAt - startedAt : 0;
    // The handler host runs the next batch while this one is published (two cores at work).
    if (vm.prefetch !== undefined && result.next === batch.events.length) {
      const ahead = intake.takeAhead();
      if (ahead !== undefined) {
        const aheadTimings = exporting && chooser.mayChoose(ahead.events, 0);
        sentAhead = { events: ahead.events, timings: aheadTimings };
        vm.prefetch(ahead.events, { timings: aheadTimings, runs: trace });
      }
    }
    let spans: (OpenSpan | undefined)[] | undefined;
    if (timings) {
      spans = recordEventSpans(tracing, chooser, batch, result, { from, startedAt });
      recordHostSpans(tracing, result, spans);
    } else if (exporting) chooser.skipped(result.next - from);
    if (exporting) {
      batchSpans.add({ batch, from, result, startedAt, endedAt, eventSpans: spans });
    }
    batchLogs.sourceEvents(batch, from, result.next);
    if (debug) batchLogs.slice(batch, from, result, ranMs);
    if (trace) batchLogs.runs(batch, from, result, spans);
    for (const failure of result.failures) {
      batchLogs.failure(failure, batch.events[failure.event]!, spans?.[failure.event - from]);
    }
    // The slice is the projector's batch: applied and published now, as one.
    const parents = spans && result.mutationEvents.map((at) => spans[at - from]);
    inBatchSpan(() => projector.apply(result.mutations, parents, { arrivedAt: batch.arrivedAt }));
    return result.next;
  }

  const intake = createIntake({
    clock,
    ...(options.capacity === undefined ? {} : { capacity: options.capacity }),
    maxBatch: batchLimit,
    sliceMs,
    yieldToEventLoop: yieldToIo,
    detach: (fn) => tracing.detached(fn),
    ...(tracing.exporting ? { arrivalContext: () => tracing.activeTraceparent() } : {}),
    process: processBatch,
    onError: (batch, error) =>
      vmLog.error("Failed to process {count} events: {error}", {
        count: batch.events.length,
        error,
      }),
  });
  // The last batch span is recorded once the intake has drained, not left to its timer.
  const closeIntake = intake.close;
  return Object.assign(intake, {
    async close(): Promise<void> {
      await closeIntake();
      batchSpans.flush();
    },
  });
}
