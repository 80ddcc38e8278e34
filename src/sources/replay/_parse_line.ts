import { parseEvent, type PharosEvent } from "../../stack/mod.ts";

/** The event of one line, and its pacing timestamp. */
export interface ParsedLine {
  readonly event: PharosEvent;
  /** Milliseconds since the epoch; undefined when the line has none. */
  readonly timestamp: number | undefined;
}

/** The event and its pacing timestamp (ms since the epoch) of one line; throws when bad. */
export function parseLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Cannot parse JSON: ${(error as Error).message}`, { cause: error });
  }
  const event = parseEvent(value);
  const raw = (value as Record<string, unknown>).timestamp;
  if (raw === undefined || raw === null) return { event, timestamp: undefined };
  const timestamp = typeof raw === "number" ? raw : typeof raw === "string" ? Date.parse(raw) : NaN;
  if (!Number.isFinite(timestamp)) {
    throw new TypeError(
      'Cannot decode event: field "timestamp" must be milliseconds since the epoch or an ISO 8601 string',
    );
  }
  return { event, timestamp };
}
