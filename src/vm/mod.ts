/**
 * Runs stack handlers over events within a time budget, keeps per-entity state tables (LRU), emits mutations.
 * @module
 */
export {
  adoptPatch,
  appendPathsIn,
  clonePatchValue,
  MAX_ARRAY_ELEMENTS,
  mergeOwnedPatch,
  mergePatch,
} from "./merge.ts";
export { createPathCache, type PathCache, type PathCacheOptions } from "./path_cache.ts";
export { HandlerTimeoutError } from "./handler_run.ts";
export {
  type BatchOptions,
  createVm,
  type HandlersStatus,
  type PrefetchOptions,
  type Vm,
  type VmOptions,
  type VmResult,
} from "./vm.ts";
export {
  type BatchFailure,
  BatchOutput,
  CANCEL_CODES,
  createStateTables,
  type EntityRuntime,
  type HandlerFailure,
  type HandlerRunRecord,
  type HostRun,
  type Mutation,
  type StateTables,
  type StateTablesOptions,
  type VmBatchResult,
  type VmState,
} from "./state_tables.ts";
export { toWireValue } from "./wire_value.ts";
export { decodeRaw, encodeRaw, wireOfEncoded } from "./raw_value.ts";
