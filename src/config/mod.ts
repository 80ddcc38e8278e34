/**
 * @module Parses environment and flags into one frozen, typed config, or fails with every problem listed.
 */
export {
  AUTH_MODES,
  type AuthMode,
  type Config,
  DEFAULT_CONFIG,
  describeDefault,
  LOG_FORMATS,
  type LogFormat,
  type OptionKind,
  OPTIONS,
  type OptionSpec,
  type ReplayPace,
  SOURCE_KINDS,
  type SourceKind,
} from "./options.ts";
export { type AuthConfig, toAuthConfig } from "./auth_config.ts";
export { ConfigError, type ConfigSources, parseConfig, parsePublishableKeys } from "./parse.ts";
export {
  FILTER_LEVELS,
  type FilterDirective,
  type FilterLevel,
  type LogFilter,
  parseLogFilter,
} from "./log_filter.ts";
