/**
 * @module Logging through LogTape: the server's text format and set-up, and the logger type components receive.
 */
export { getLogger, type Logger, type LogRecord, type Sink } from "@logtape/logtape";
export { configureLogging, type LoggingOptions } from "./setup.ts";
export { escapeControl, formatTextRecord } from "./text_formatter.ts";
