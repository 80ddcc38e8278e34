/**
 * @module Telemetry facades handed to each component, and a no-op implementation.
 */
export {
  type ActiveSpan,
  type LogTelemetry,
  noopTelemetry,
  noopTracing,
  type Observations,
  type OpenSpan,
  type ProjectorTelemetry,
  type SourceTelemetry,
  type SpanAttributes,
  type SpanHandle,
  type SpanOptions,
  type Telemetry,
  type Tracing,
  type VmTelemetry,
  type WsTelemetry,
} from "./facade.ts";
export { init, type InitOptions, TelemetryConfig } from "./telemetry_config.ts";
