import { PIPELINE_DEFAULTS } from "../config/mod.ts";
import { createHealthBoard, type HealthBoard } from "../health/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Projector } from "../projector/mod.ts";
import type { Source, SourceContext } from "../sources/mod.ts";
import type { Stack } from "../stack/mod.ts";
import type { Telemetry } from "../telemetry/mod.ts";
import { type Clock, yieldToIo } from "../util/mod.ts";
import type { Vm } from "../vm/mod.ts";
import { createBatchLogs } from "./batch_logs.ts";
import { recordEventSpans, recordHostSpans } from "./event_spans.ts";
import { createIntake, type Intake, INTAKE_DEFAULTS, type IntakeBatch } from "./intake.ts";
import { startSource } from "./source_runner.ts";
import { type PipelineStatus, toPipelineStatus } from "./status.ts";

/**
 * Cluster mode's hold on the pipeline: sources' events go to the shared log (and come back
 * through it to the intake), singleton sources run only on the lease holder, and readiness
 * waits for the log.
 */
export interface PipelineCluster {
  /** The context `source` runs with, given the one it would have running alone. */
  contextFor(source: Source, local: SourceContext): SourceContext;
  /** Whether `start` starts `source`; the cluster starts the others ({@link Pipeline.startSource}). */
  startsHere(source: Source): boolean;
  /** False while the cluster keeps this instance from serving (Redis down, catching up). */
  isReady(): boolean;
}

/** Options for {@link createPipeline}. */
export interface PipelineOptions {
  readonly stack: Stack;
  readonly sources: readonly Source[];
  readonly vm: Vm;
  readonly projector: Projector;
  readonly clock: Clock;
  /** Root logger (`pharos`): lines go to `pharos.sources`, `pharos.health`, `pharos.vm`. */
  readonly log: Logger;
  readonly telemetry: Telemetry;
  /**
   * Resolves once the frames of the previous batch have been handed to the runtime (the
   * ws send scheduler's `idle`), or returns undefined when nothing is waiting. The next
   * batch waits for it, so a flood is held back at the intake (ingest answers 503 when it
   * is full) instead of piling frames up in memory. Default: never waits.
   */
  readonly fanoutIdle?: () => Promise<void> | undefined;
  /** Each source is stale after 2 × this, ms; default {@link PIPELINE_DEFAULTS}. */
  readonly heartbeatMs?: number;
  /** Sources that must be healthy for readiness; default all. */
  readonly requiredSources?: readonly string[];
  /** Events the intake holds at most; default {@link PIPELINE_DEFAULTS}. */
  readonly capacity?: number;
  /**
   * Most events per batch (`PHAROS_BATCH_MAX`); default {@link PIPELINE_DEFAULTS}. A batch
   * runs in slices of handler time; each slice's changes are applied and published together.
   */
  readonly maxBatchEvents?: number;
  /**
   * Most frames one batch may fan out to (events × listeners of their entity's views):
   * with thousands of subscribers a batch shrinks to a few events, so one batch never
   * queues hundreds of thousands of frames at once. Default 4096 (measured with 1000
   * clients: 1024, one event a batch, took the fan-out flood from 1.03 to 0.56 × the
   * baseline, each batch paying for a wait on the sockets).
   */
  readonly maxBatchFrames?: number;
  /**
   * Most handler time (ms) before a batch yields to I/O and goes on, and the intake's slice
   * between batches; default {@link INTAKE_DEFAULTS}. Each yield
   * costs an I/O turn (about 0.05 ms here, more under load), so slices much shorter than
   * this spend their time yielding.
   */
  readonly sliceMs?: number;
  /** Cluster mode (`PHAROS_REDIS_URL`); default none: the server runs alone. */
  readonly cluster?: PipelineCluster;
}

/** The event path: sources → intake → VM → projector, with their health and telemetry. */
export interface Pipeline {
  readonly sources: readonly Source[];
  readonly intake: Intake;
  readonly health: HealthBoard;
  /** Started, not draining, every required source healthy, and handlers able to run. */
  isReady(): boolean;
  /** The pipeline's part of `/status`. */
  status(): PipelineStatus;
  /** Starts the health checks and the sources; resolves once every source runs. */
  start(): Promise<void>;
  /**
   * Starts one source now, told to resume after `resumeFrom` (cluster mode: a singleton
   * source on the instance that took the lease). Stop it with its own `stop`.
   */
  startSource(source: Source, resumeFrom?: string): Promise<void>;
  /** Drains: `isReady` turns false, sources stop, queued events finish, the projector flushes. */
  stop(): Promise<void>;
}

/** Builds the pipeline over already built components; nothing runs until `start`. */
export function createPipeline(options: PipelineOptions): Pipeline {
  const { clock, vm, projector, stack, sources } = options;
  const { tracing } = options.telemetry;
  const vmLog = options.log.getChild("vm");
  const sourceLog = options.log.getChild("sources");
  const healthLog = options.log.getChild("health");
  /** Each source's own logger (`pharos.sources.<kind>`), for its events' trace lines. */
  const batchLogs = createBatchLogs(
    vmLog,
    new Map(sources.map((source) => [source.name, sourceLog.getChild(source.kind)])),
  );
  const maxBatchEvents = options.maxBatchEvents ?? PIPELINE_DEFAULTS.maxBatchEvents;
  const maxBatchFrames = options.maxBatchFrames ?? 4096;
  const sliceMs = options.sliceMs ?? INTAKE_DEFAULTS.sliceMs;
  const entities = Object.keys(stack.entities);
  const fanoutIdle = options.fanoutIdle ?? (() => undefined);

  const health = createHealthBoard({
    clock,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    ...(options.requiredSources === undefined ? {} : { required: options.requiredSources }),
    onStale: (source, silentMs) =>
      healthLog.warn("Stream appears to be stale - no recent events", {
        source,
        silent_ms: Math.round(silentMs),
      }),
    onTransition: (source, { from, to, healthy }) =>
      healthLog.debug("Source {source} health: {from} to {to} (healthy: {healthy})", {
        source,
        from,
        to,
        healthy,
      }),
  });
  const monitors = new Map(sources.map((source) => [source, health.add(source.name, source.kind)]));
  healthLog.info("Health monitoring enabled", {
    heartbeat_ms: options.heartbeatMs ?? PIPELINE_DEFAULTS.heartbeatMs,
    sources: sources.map((source) => source.name).join(","),
  });

  // The projector is built by the app; the pipeline runs it, so its start-up is logged here.
  tracing.inSpan("projector", { phase: "startup" }, () => {
    options.log.getChild("projector").info("Projector started");
  }, { root: true });

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
    projector.apply(result.mutations, parents);
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

  let started = false;
  let draining = false;
  let healthChecks: Disposable | undefined;
  const cluster = options.cluster;
  const isReady = () =>
    started && !draining && health.isHealthy() && (vm.available?.() ?? true) &&
    (cluster?.isReady() ?? true);

  function runSource(source: Source, resumeFrom?: string): Promise<void> {
    return startSource(source, {
      intake,
      monitor: monitors.get(source)!,
      log: sourceLog,
      telemetry: options.telemetry.sources,
      tracing,
      stack: stack.name,
      ...(cluster === undefined ? {} : {
        wrap: (local: SourceContext) => {
          const context = cluster.contextFor(source, local);
          return resumeFrom === undefined ? context : { ...context, resumeFrom };
        },
      }),
    });
  }

  options.telemetry.observe.health(() => ({
    ready: isReady(),
    sources: health.sources().map(({ name, healthy }) => ({ name, healthy })),
  }));
  options.telemetry.observe.pipeline(() => ({
    pending: intake.pending,
    capacity: intake.capacity,
  }));

  return {
    sources,
    intake,
    health,
    isReady,
    status: () =>
      toPipelineStatus({ health, intake, stack: stack.name, ready: isReady(), draining }),
    async start() {
      healthChecks = health.start();
      for (const source of sources) {
        if (cluster === undefined || cluster.startsHere(source)) await runSource(source);
      }
      started = true;
    },
    startSource: runSource,
    async stop() {
      if (draining) return;
      draining = true;
      await Promise.all(sources.map((source) => source.stop()));
      await intake.close();
      // Every batch was applied as it ran: the projector's shutdown marks the drained intake.
      tracing.inSpan("projector", { phase: "shutdown" }, () => {}, { root: true });
      healthChecks?.[Symbol.dispose]();
    },
  };
}
