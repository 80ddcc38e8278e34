/**
 * @module Stream health: the `HealthMonitor` and readiness.
 */
export {
  createHealthMonitor,
  type HealthMonitor,
  type HealthMonitorOptions,
  type StreamStatus,
} from "./readiness.ts";
