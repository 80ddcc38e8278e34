/**
 * Batches mutations, merges them into the view caches, builds frames and publishes them to the bus.
 * @module
 */
export { compareSortValues } from "./sort.ts";
export { encodeDeleteFrame, encodePatchFrame, encodeUpsertFrame } from "./frames.ts";
export { createProjector, type Projector, type ProjectorOptions } from "./projector.ts";
export type { ProjectorState } from "./cache_state.ts";
