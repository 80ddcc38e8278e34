import type { Logger } from "../log/mod.ts";
import type { Projector } from "../projector/mod.ts";
import type { Tracing } from "../telemetry/mod.ts";
import { type Clock, yieldToIo } from "../util/mod.ts";
import type { Vm } from "../vm/mod.ts";
import { createBatchLogs } from "./batch_logs.ts";
import { recordEventSpans, recordHostSpans } from "./event_spans.ts";
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
  }

  async function processSlice(batch: IntakeBatch, from: number): Promise<number> {
    // Spans per event only when someone can look them up: otherwise none are made. The
    // log levels are read once per slice: with debug and trace off, nothing more is done.
    const exporting = tracing.exporting;
    const debug = vmLog.isEnabledFor("debug");
    const trace = debug && vmLog.isEnabledFor("trace");
    const startedAt = clock.monotonic();
    const result = await vm.processBatch(batch.events, {
      from,
      budgetMs: sliceMs,
      timings: exporting,
      runs: trace,
    });
    const ranMs = debug ? clock.monotonic() - startedAt : 0;
    // The handler host runs the next batch while this one is published (two cores at work).
    if (vm.prefetch !== undefined && result.next === batch.events.length) {
      const ahead = intake.takeAhead();
      if (ahead !== undefined) vm.prefetch(ahead.events, { timings: exporting, runs: trace });
    }
    const spans = exporting
      ? recordEventSpans(tracing, batch, result, { from, startedAt })
      : undefined;
    if (spans !== undefined) recordHostSpans(tracing, result, spans);
    batchLogs.sourceEvents(batch, from, result.next);
    if (debug) batchLogs.slice(batch, from, result, ranMs);
    if (trace) batchLogs.runs(batch, from, result, spans);
    for (const failure of result.failures) {
      batchLogs.failure(failure, batch.events[failure.event]!, spans?.[failure.event - from]);
    }
    // The slice is the projector's batch: applied and published now, as one.
    const parents = spans && result.mutationEvents.map((at) => spans[at - from]);
    projector.apply(result.mutations, parents, { arrivedAt: batch.arrivedAt });
    return result.next;
  }

  const intake = createIntake({
    clock,
    ...(options.capacity === undefined ? {} : { capacity: options.capacity }),
    maxBatch: batchLimit,
    sliceMs,
    yieldToEventLoop: yieldToIo,
    detach: (fn) => tracing.detached(fn),
    process: processBatch,
    onError: (batch, error) =>
      vmLog.error("Failed to process {count} events: {error}", {
        count: batch.events.length,
        error,
      }),
  });
  return intake;
}
