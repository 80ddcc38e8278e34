/**
 * Pharos as a library: define stacks, wire the server into your own `Deno.serve`.
 *
 * Importing this module configures nothing: logging stays with the host's LogTape
 * configuration (records arrive under the `pharos` category).
 * @module
 */
export { type App, type AppOptions, createApp } from "./app.ts";
export {
  type AuthSetup,
  createAuthorize,
  createTokenEndpoint,
  prepareAuth,
  presentedToken,
  TOKEN_ENDPOINT_PATH,
} from "./auth/mod.ts";
export {
  type AuthConfig,
  type Config,
  ConfigError,
  DEFAULT_CONFIG,
  type LogConfig,
  parseConfig,
  type PipelineConfig,
  type ProjectorConfig,
  type ServerConfig,
  type VmConfig,
  type WsConfig,
} from "./config/mod.ts";
export {
  defineStack,
  type DerivedViewDefinition,
  type EntityDefinition,
  type Handler,
  type HandlerContext,
  type Patch,
  type PharosEvent,
  type Stack,
  type StackDefinition,
} from "./stack/mod.ts";
export type { Source, SourceContext, SourcesConfig, SourceStatus } from "./sources/mod.ts";
export {
  createMetricsEndpoint,
  createOtelTelemetry,
  init,
  type InitOptions,
  initWithOtel,
  noopTelemetry,
  type OtelGuard,
  type OtelInitOptions,
  type OtelTelemetryOptions,
  PROMETHEUS_CONTENT_TYPE,
  type Telemetry,
  TelemetryConfig,
} from "./telemetry/mod.ts";
export { type Clock, type Ids, randomIds, systemClock } from "./util/mod.ts";
export { getLogger, type Logger } from "./log/mod.ts";
