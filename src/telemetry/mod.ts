/**
 * Telemetry facades handed to each component, a no-op implementation, and the
 * OpenTelemetry-backed one: `createOtelTelemetry` over a host's providers, `initWithOtel` for
 * the server process, the Prometheus `/metrics` renderer, and the event loop monitor.
 * @module
 */
export {
  type ActiveSpan,
  type AuthTelemetry,
  type ClusterReading,
  type ClusterTelemetry,
  FORWARDED_PROBLEMS,
  HANDLER_CANCEL_REASONS,
  type HandlerCancelReason,
  type HandlerHostReading,
  KEY_REFRESH_OUTCOMES,
  KEY_REFRESH_TRIGGERS,
  type LogTelemetry,
  noopTelemetry,
  noopTracing,
  type Observations,
  type OpenSpan,
  type ProjectorTelemetry,
  REVOCATION_OUTCOMES,
  type RuntimeTelemetry,
  type SourceTelemetry,
  type SpanAttributes,
  type SpanHandle,
  type SpanOptions,
  type Telemetry,
  type TelemetryCatalog,
  type Tracing,
  type VmTelemetry,
  WS_LIMITS,
  type WsLimit,
  type WsTelemetry,
} from "./facade.ts";
export { init, type InitOptions, TelemetryConfig } from "./telemetry_config.ts";
export {
  type Env,
  type OtelSettings,
  type OtlpTarget,
  SAMPLER_NAMES,
  type SamplerName,
} from "./otel_env.ts";
export {
  type InstrumentKind,
  METRIC_DEFINITIONS,
  type MetricDefinition,
} from "./metric_definitions.ts";
export { createOtelTelemetry, METER_NAME, type OtelTelemetryOptions } from "./otel_telemetry.ts";
export { TRACER_NAME } from "./otel_tracing.ts";
export { LOGGER_NAME, TARGET_ATTRIBUTE, toOtelLogRecord } from "./otlp_logs.ts";
export { initWithOtel, type OtelGuard, type OtelInitOptions, type OtelMode } from "./otel_setup.ts";
export {
  createLoopMonitor,
  LOOP_MONITOR_DEFAULTS,
  type LoopMonitor,
  type LoopMonitorOptions,
  mainThreadCpuSeconds,
} from "./loop_monitor.ts";
export { denoProcessReadings, type ProcessReadings } from "./process_metrics.ts";
export {
  createMetricsEndpoint,
  type MetricsEndpoint,
  type MetricsEndpointOptions,
  PROMETHEUS_CONTENT_TYPE,
  PullMetricReader,
} from "./prometheus.ts";
export {
  type MetricsFormat,
  metricsFormatFor,
  OPENMETRICS_CONTENT_TYPE,
  toOpenMetrics,
} from "./openmetrics.ts";
export { ExemplarStore } from "./exemplars.ts";
export { EXPORT_SIGNALS, EXPORT_WARN_INTERVAL_MS, type ExportSignal } from "./resilient_export.ts";
