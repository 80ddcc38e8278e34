/**
 * Per-view fan-out from projector to sessions, the view-directory contract for snapshots, and
 * the arrival stamp frames carry for the delivery lag.
 * @module
 */
export { DeliveryStamp, LAG_SAMPLES_PER_STAMP } from "./delivery_stamp.ts";
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
  WindowQuery,
} from "./types.ts";
