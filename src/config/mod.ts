/**
 * @module Parses environment and flags into one frozen, typed config, or fails with every problem listed.
 */
export {
  type Config,
  DEFAULT_CONFIG,
  describeDefault,
  LOG_LEVELS,
  type LogLevelName,
  type OptionKind,
  OPTIONS,
  type OptionSpec,
  type ReplayPace,
  SOURCE_KINDS,
  type SourceKind,
} from "./options.ts";
export { ConfigError, type ConfigSources, parseConfig } from "./parse.ts";
