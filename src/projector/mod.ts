/**
 * Applies a batch of mutations to the view caches, builds their frames and publishes them to
 * the bus, and answers snapshots from the caches.
 * @module
 */
export { compareSortValues } from "./sort.ts";
export { encodeDeleteFrame, encodePatchFrame, encodeUpsertFrame } from "./frames.ts";
export {
  type ApplyOptions,
  createProjector,
  type Projector,
  type ProjectorOptions,
} from "./projector.ts";
export type { ProjectorState } from "./cache_state.ts";
