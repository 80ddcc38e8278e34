import type { LogRecord } from "@logtape/logtape";

/** The span a record was made in, captured when it was logged. */
export interface SpanInfo {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
}

/** Tells which span is current; wired to OpenTelemetry's context by the telemetry set-up. */
export type CurrentSpan = () => SpanInfo | undefined;

/** A record with the span it was made in (formatting may happen later, off the hot path). */
export interface SpanRecord extends LogRecord {
  readonly span?: SpanInfo;
}

/** Names of the JSON fields Pharos itself writes; record properties may not take them. */
export const RESERVED_FIELDS: ReadonlySet<string> = new Set([
  "timestamp",
  "level",
  "target",
  "message",
  "span",
  "trace_id",
  "span_id",
]);

/** Level names as the seed writes them. */
export const LEVEL_NAMES: Readonly<Record<string, string>> = Object.freeze({
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO",
  warning: "WARN",
  error: "ERROR",
  fatal: "FATAL",
});

/** A value as one log field: errors by name and message, bigints as decimal strings. */
export function toFieldValue(value: unknown): unknown {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "bigint") return value.toString();
  return value;
}
