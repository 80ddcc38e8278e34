/** The `projector` component's tunables, named as `createProjector`'s options. */
export interface ProjectorConfig {
  /**
   * `PHAROS_VIEW_CACHE_SIZE`: entities kept per view for snapshots (LRU).
   * @default {500}
   */
  readonly cacheSize: number;
  /**
   * `PHAROS_BATCH_MAX`: mutations per projector batch.
   * @default {256}
   */
  readonly batchMaxSize: number;
  /**
   * `PHAROS_BATCH_DELAY_MS`: longest a mutation waits for its batch to fill.
   * @default {2}
   */
  readonly batchDelayMs: number;
}

/** Defaults of the `projector` slice. */
export const PROJECTOR_DEFAULTS: ProjectorConfig = Object.freeze({
  cacheSize: 500,
  batchMaxSize: 256,
  batchDelayMs: 2,
});
