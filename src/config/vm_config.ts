/** The `vm` component's tunables, named as `createVm`'s options. */
export interface VmConfig {
  /**
   * `PHAROS_STATE_TABLE_SIZE`: entities kept per entity type in the state table (LRU).
   * @default {2500}
   */
  readonly stateTableSize: number;
  /**
   * `PHAROS_HANDLER_TIMEOUT_MS`: time budget of one handler run; over it the run is cancelled.
   * @default {250}
   */
  readonly handlerTimeoutMs: number;
  /**
   * `PHAROS_FUNCTION_CALL_METRICS`: record per-handler call durations.
   * @default {false}
   */
  readonly functionCallMetrics: boolean;
}

/** Defaults of the `vm` slice. */
export const VM_DEFAULTS: VmConfig = Object.freeze({
  stateTableSize: 2_500,
  handlerTimeoutMs: 250,
  functionCallMetrics: false,
});
