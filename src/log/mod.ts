/**
 * Logging through LogTape: text and JSON Lines formats, the `RUST_LOG`-style filter (changed
 * while running through `/debug/log`), a non-blocking writer.
 * @module
 */
export { getLogger, type Logger, type LogRecord, type Sink } from "@logtape/logtape";
export { formatJsonRecord, renderPlainMessage, safeStringify } from "./json_formatter.ts";
export { configureLogging, type LoggingHandle, type LoggingOptions } from "./setup.ts";
export { createRecentRecords, type RecentRecord, type RecentRecords } from "./recent.ts";
export { type CurrentSpan, type SpanInfo, type SpanRecord } from "./span_record.ts";
export { escapeControl, formatTextRecord } from "./text_formatter.ts";
export {
  describeIgnored,
  FILTER_LEVELS,
  type FilterDirective,
  type FilterLevel,
  type IgnoredTarget,
  type LogFilter,
  parseLogFilter,
} from "./filter.ts";
export { closestLogTarget, isLogTarget, LOG_TARGETS, type LogTarget } from "./targets.ts";
export {
  createLogFilterControl,
  LOG_FILTER_TTL_S,
  type LogFilterControl,
  type LogFilterControlOptions,
  type LogFilterStatus,
} from "./filter_control.ts";
export { createLogFilterEndpoint, LOG_FILTER_PATH } from "./log_endpoint.ts";
export { LOG_FORMATS, type LogFormat } from "./format.ts";
