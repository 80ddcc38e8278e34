/**
 * Stream health: the `HealthMonitor` per source, and readiness over the required sources.
 * @module
 */
export {
  createHealthBoard,
  type HealthBoard,
  type HealthBoardOptions,
  type SourceReport,
} from "./board.ts";
export {
  createHealthMonitor,
  type HealthMonitor,
  type HealthMonitorOptions,
  type HealthTransition,
  type StreamStatus,
} from "./readiness.ts";
