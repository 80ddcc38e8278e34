/**
 * Parses environment and flags into one frozen, typed config, or fails with every
 * problem listed. The config has one slice per component (`server`, `log`, `sources`,
 * `pipeline`, `vm`, `projector`, `ws`, `auth`, `cluster`); each slice's type and defaults live here
 * once, and the components fall back to those defaults.
 * @module
 */
export {
  type Config,
  type ConfigPath,
  DEFAULT_CONFIG,
  describeDefault,
  type OptionKind,
  OPTIONS,
  type OptionSpec,
  valueAt,
} from "./options.ts";
export { CLUSTER_DEFAULTS, type ClusterConfig } from "./cluster_config.ts";
export {
  AUTH_DEFAULTS,
  AUTH_MODES,
  type AuthConfig,
  type AuthMode,
  JWS_ALGORITHMS,
  type JwsAlgorithm,
} from "./auth_config.ts";
export { LOG_DEFAULTS, type LogConfig } from "./log_config.ts";
export {
  BATCH_BOUNDS,
  EVENT_TRACING_DEFAULTS,
  type EventTracingConfig,
  PIPELINE_DEFAULTS,
  type PipelineConfig,
} from "./pipeline_config.ts";
export { PROJECTOR_DEFAULTS, type ProjectorConfig } from "./projector_config.ts";
export { SERVER_DEFAULTS, type ServerConfig } from "./server_config.ts";
export { ISOLATION_MODES, type IsolationMode, VM_DEFAULTS, type VmConfig } from "./vm_config.ts";
export {
  WS_DEFAULTS,
  type WsAdmissionConfig,
  type WsConfig,
  type WsLimitsConfig,
} from "./ws_config.ts";
export { ConfigError, type ConfigSources, parseConfig, parsePublishableKeys } from "./parse.ts";
export { closestFlag, type CommandLine, helpText, parseCommandLine, versionText } from "./cli.ts";
