/**
 * Stream health: the `HealthMonitor` per source, readiness over the required sources, and
 * the `/status` report composed from the parts each component owns.
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
export { composeStatus, type StatusPart } from "./status.ts";
