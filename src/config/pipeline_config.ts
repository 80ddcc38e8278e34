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
}

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
});
