/**
 * Logging through LogTape: text and JSON Lines formats, the `RUST_LOG`-style filter, a non-blocking writer.
 * @module
 */
export { getLogger, type Logger, type LogRecord, type Sink } from "@logtape/logtape";
export { formatJsonRecord, renderPlainMessage, safeStringify } from "./json_formatter.ts";
export { configureLogging, type LoggingHandle, type LoggingOptions } from "./setup.ts";
export { createRecentRecords, type RecentRecord, type RecentRecords } from "./recent.ts";
export { type CurrentSpan, type SpanInfo, type SpanRecord } from "./span_record.ts";
export { escapeControl, formatTextRecord } from "./text_formatter.ts";
export {
  FILTER_LEVELS,
  type FilterDirective,
  type FilterLevel,
  type LogFilter,
  parseLogFilter,
} from "./filter.ts";
export { LOG_FORMATS, type LogFormat } from "./format.ts";
