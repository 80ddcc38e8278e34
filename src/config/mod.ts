/**
 * @module Parses environment and flags into one frozen, typed config, or fails with every problem listed.
 */
export {
  type Config,
  DEFAULT_CONFIG,
  LOG_LEVELS,
  type LogLevelName,
  type OptionKind,
  OPTIONS,
  type OptionSpec,
} from "./options.ts";
export { ConfigError, type ConfigSources, parseConfig } from "./parse.ts";
