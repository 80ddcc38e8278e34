/** Where handlers run: a sandboxed child process, or the server process itself. */
export const ISOLATION_MODES = ["process", "inline"] as const;
/** One of {@link ISOLATION_MODES}. */
export type IsolationMode = (typeof ISOLATION_MODES)[number];

/** The `vm` component's tunables, named as `createVm`'s options. */
export interface VmConfig {
  /**
   * `PHAROS_HANDLER_ISOLATION`: `process` runs handlers in a handler host process with only
   * the stack's permissions, killed and replaced when a run overruns; `inline` runs them
   * in the server (hosts that cannot start processes).
   * @default {"process"}
   */
  readonly isolation: IsolationMode;
  /**
   * `PHAROS_HANDLER_MEMORY_MB`: V8 heap limit of the handler host, MiB.
   * @default {256}
   */
  readonly memoryMb: number;
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
  isolation: "process",
  memoryMb: 256,
  stateTableSize: 2_500,
  handlerTimeoutMs: 250,
  functionCallMetrics: false,
});
