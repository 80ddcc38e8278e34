/** The `projector` component's tunables, named as `createProjector`'s options. */
export interface ProjectorConfig {
  /**
   * `PHAROS_VIEW_CACHE_SIZE`: entities kept per view for snapshots (LRU).
   * @default {500}
   */
  readonly cacheSize: number;
}

/** Defaults of the `projector` slice. */
export const PROJECTOR_DEFAULTS: ProjectorConfig = Object.freeze({
  cacheSize: 500,
});
