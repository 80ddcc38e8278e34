import {
  BATCH_BOUNDS,
  EVENT_TRACING_DEFAULTS,
  type EventTracingConfig,
  PIPELINE_DEFAULTS,
} from "../config/mod.ts";
import type { HealthBoard } from "../health/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Projector } from "../projector/mod.ts";
import type { Source, SourceContext } from "../sources/mod.ts";
import type { Stack } from "../stack/mod.ts";
import type { Telemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { Vm } from "../vm/mod.ts";
import { createBatchLoop } from "./batch_loop.ts";
import { type Intake, INTAKE_DEFAULTS } from "./intake.ts";
import { createSourceHealth } from "./source_health.ts";
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
   * queues hundreds of thousands of frames at once. Default `BATCH_BOUNDS` (4096, measured with 1000
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
  /** How many spans the event path makes; default {@link EVENT_TRACING_DEFAULTS}. */
  readonly tracing?: EventTracingConfig;
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
  const { clock, vm, stack, sources, cluster } = options;
  const { tracing } = options.telemetry;
  const sourceLog = options.log.getChild("sources");
  const { health, monitors } = createSourceHealth({
    clock,
    log: options.log.getChild("health"),
    sources,
    heartbeatMs: options.heartbeatMs,
    requiredSources: options.requiredSources,
  });

  // The projector is built by the app; the pipeline runs it, so its start-up is logged here.
  tracing.inSpan("projector", { phase: "startup" }, () => {
    options.log.getChild("projector").info("Projector started");
  }, { root: true });

  const intake = createBatchLoop({
    vm,
    projector: options.projector,
    clock,
    tracing,
    log: options.log.getChild("vm"),
    // Each source's own logger (`pharos.sources.<kind>`), for its events' trace lines.
    sourceLogs: new Map(sources.map((source) => [source.name, sourceLog.getChild(source.kind)])),
    entities: Object.keys(stack.entities),
    fanoutIdle: options.fanoutIdle ?? (() => undefined),
    capacity: options.capacity,
    maxBatchEvents: options.maxBatchEvents ?? PIPELINE_DEFAULTS.maxBatchEvents,
    maxBatchFrames: options.maxBatchFrames ?? BATCH_BOUNDS.maxFrames,
    sliceMs: options.sliceMs ?? INTAKE_DEFAULTS.sliceMs,
    tracingConfig: options.tracing ?? EVENT_TRACING_DEFAULTS,
  });

  let started = false;
  let draining = false;
  let healthChecks: Disposable | undefined;
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
