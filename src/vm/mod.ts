/**
 * @module Runs stack handlers over events within a time budget, keeps per-entity state tables (LRU), emits mutations.
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
  type BatchFailure,
  type BatchOptions,
  createVm,
  type HandlerFailure,
  type Mutation,
  type Vm,
  type VmBatchResult,
  type VmOptions,
  type VmResult,
} from "./vm.ts";
export { toWireValue } from "./wire_value.ts";
