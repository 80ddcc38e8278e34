import { LEVEL_NAMES, RESERVED_FIELDS, type SpanRecord, toFieldValue } from "./span_record.ts";
import { renderMessage } from "./_template.ts";

function renderValue(part: unknown): string {
  const value = toFieldValue(part);
  return typeof value === "string" ? value : safeStringify(value);
}

/** `value` as JSON text (bigints as decimal text), or `String(value)` where JSON has none. */
export function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v) => typeof v === "bigint" ? v.toString() : v) ??
      String(value);
  } catch {
    return String(value);
  }
}

/**
 * A record's message as JSON lines carry it: errors as `Name: message`, bigints as decimal
 * text, other non-strings as JSON (the OTLP log body is the same text).
 */
export function renderPlainMessage(record: SpanRecord): string {
  return renderMessage(record, renderValue);
}

/**
 * Formats a record as one JSON line: `timestamp`, `level`, `target`, `message`, then
 * `span` (`{"name":…}`) with `trace_id`/`span_id` when logged inside a span, then the
 * record's fields. A field named like one of those gets a `field.` prefix instead of
 * overwriting it. `JSON.stringify` escapes newlines, so a record is always one line.
 */
export function formatJsonRecord(record: SpanRecord): string {
  const line: Record<string, unknown> = {
    timestamp: new Date(record.timestamp).toISOString(),
    level: LEVEL_NAMES[record.level] ?? record.level.toUpperCase(),
    target: record.category.join("."),
    message: renderPlainMessage(record),
  };
  if (record.span !== undefined) {
    line.span = { name: record.span.name };
    line.trace_id = record.span.traceId;
    line.span_id = record.span.spanId;
  }
  const properties = record.properties;
  for (const key in properties) {
    const value = properties[key];
    if (value === undefined) continue;
    line[RESERVED_FIELDS.has(key) ? `field.${key}` : key] = toFieldValue(value);
  }
  return `${safeStringify(line)}\n`;
}
