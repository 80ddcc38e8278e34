/**
 * Per-view fan-out from projector to sessions, and the view-directory contract for snapshots.
 * @module
 */
export { createMemoryBus, type MemoryBusOptions } from "./memory_bus.ts";
export type {
  Bus,
  BusListener,
  BusLog,
  BusMessage,
  FrameOp,
  SnapshotEntity,
  SnapshotQuery,
  ViewDirectory,
  ViewInfo,
  ViewKind,
  ViewMode,
  ViewSort,
  WindowHandle,
} from "./types.ts";
