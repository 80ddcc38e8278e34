import { LEVEL_NAMES, type SpanRecord, toFieldValue } from "./span_record.ts";
import { renderMessage, showsKey } from "./_template.ts";

// Client-supplied strings must not be able to forge a second log line or
// smuggle terminal escape sequences: escape every C0/C1 control character.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Escapes control characters (newlines included) so one record is always one line. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    switch (c) {
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
      default:
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
    }
  });
}

function render(value: unknown): string {
  const field = toFieldValue(value);
  if (typeof field === "string") return field;
  if (field === undefined) return "undefined";
  try {
    return JSON.stringify(field) ?? String(field);
  } catch {
    return String(field);
  }
}

/**
 * Formats a record as `2024-01-15T10:30:45.123Z INFO pharos.ws.server: message key=value`,
 * the layout of the seed. Properties not already shown in the message follow as
 * `key=value`, then `trace_id`/`span_id` when logged inside a span.
 */
export function formatTextRecord(record: SpanRecord): string {
  const message = renderMessage(record, render);
  const properties = record.properties;
  let fields = "";
  for (const key in properties) {
    const value = properties[key];
    if (value === undefined || showsKey(record.rawMessage, key)) continue;
    fields += ` ${key}=${render(value)}`;
  }
  if (record.span !== undefined) {
    fields += ` trace_id=${record.span.traceId} span_id=${record.span.spanId}`;
  }
  const level = LEVEL_NAMES[record.level] ?? record.level.toUpperCase();
  const line = `${new Date(record.timestamp).toISOString()} ${level} ${
    record.category.join(".")
  }: ${message}${fields}`;
  return `${escapeControl(line)}\n`;
}
