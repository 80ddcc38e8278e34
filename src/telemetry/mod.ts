/**
 * @module Telemetry facades handed to each component, and a no-op implementation.
 */
export {
  noopTelemetry,
  type ProjectorTelemetry,
  type SourceTelemetry,
  type Telemetry,
  type VmTelemetry,
  type WsTelemetry,
} from "./facade.ts";
export { init, type InitOptions, TelemetryConfig } from "./telemetry_config.ts";
