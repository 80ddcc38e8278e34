/** The `pipeline` component's tunables, named as `createPipeline`'s options. */
export interface PipelineConfig {
  /**
   * `PHAROS_PIPELINE_CAPACITY`: events the intake holds for the handlers at most.
   * @default {10000}
   */
  readonly capacity: number;
  /**
   * `PHAROS_BATCH_MAX`: most events per pipeline batch, whose handlers run and whose changes
   * are applied and published together.
   * @default {256}
   */
  readonly maxBatchEvents: number;
  /**
   * `PHAROS_HEARTBEAT_MS`: expected event interval; a source is stale after 2 × this.
   * @default {30000}
   */
  readonly heartbeatMs: number;
  /**
   * `PHAROS_REQUIRED_SOURCES`: sources that must be healthy for readiness; empty means all.
   * @default {[]}
   */
  readonly requiredSources: readonly string[];
  /** How many of the event path's spans are made: bounded at any event rate. */
  readonly tracing: EventTracingConfig;
}

/**
 * The event path's span budget. Every batch the pipeline runs is in a batch span (at most
 * `batchesPerSecond` of them: faster batches share one); the per-event tree is kept for the
 * events whose producer sent trace context and for `eventRatio` of the others, at most
 * `eventsPerSecond` trees in all.
 */
export interface EventTracingConfig {
  /**
   * `PHAROS_TRACE_EVENT_RATIO`: share of the events without a producer's trace context that
   * get the per-event span tree (one in every `1 / ratio`); 0 for none.
   * @default {0.01}
   */
  readonly eventRatio: number;
  /**
   * `PHAROS_TRACE_EVENTS_PER_SECOND`: most per-event span trees started per second, traced
   * and sampled events together; events over it are found through their batch span.
   * @default {20}
   */
  readonly eventsPerSecond: number;
  /**
   * `PHAROS_TRACE_BATCHES_PER_SECOND`: most batch spans per second; batches that run faster
   * share one span, which counts them.
   * @default {10}
   */
  readonly batchesPerSecond: number;
}

/** Defaults of {@link EventTracingConfig}. */
export const EVENT_TRACING_DEFAULTS: EventTracingConfig = Object.freeze({
  eventRatio: 0.01,
  eventsPerSecond: 20,
  batchesPerSecond: 10,
});

/**
 * What bounds a batch besides `PHAROS_BATCH_MAX`, fixed rather than options: the frames one
 * batch may fan out to (see `PipelineOptions.maxBatchFrames`) and the handler time before it
 * yields to I/O (see `PipelineOptions.sliceMs`). Here so the option table states them.
 */
export const BATCH_BOUNDS = Object.freeze({ maxFrames: 4096, sliceMs: 2 });

/** Defaults of the `pipeline` slice. */
export const PIPELINE_DEFAULTS: PipelineConfig = Object.freeze({
  capacity: 10_000,
  maxBatchEvents: 256,
  heartbeatMs: 30_000,
  requiredSources: Object.freeze([] as string[]),
  tracing: EVENT_TRACING_DEFAULTS,
});
