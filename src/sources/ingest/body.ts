import { parseEvent, type PharosEvent } from "../../stack/mod.ts";
import { errorMessage, truncate } from "../../util/mod.ts";

/** Why one event of a batch was refused: `line` (1-based) for NDJSON, `index` for arrays. */
export type EventError =
  | { readonly line: number; readonly error: string }
  | { readonly index: number; readonly error: string };

/** A parsed batch: the good events, and the refusals (the list capped, the count not). */
export interface Batch {
  readonly events: PharosEvent[];
  readonly errors: EventError[];
  readonly rejected: number;
}

/** Most per-event errors a reply lists; `rejected` still counts them all. */
export const MAX_LISTED_ERRORS = 100;

function messageOf(error: unknown): string {
  return truncate(errorMessage(error));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Cannot parse JSON: ${messageOf(error)}`, { cause: error });
  }
}

function collector(): Batch & { refuse(error: EventError): void } {
  const batch = {
    events: [] as PharosEvent[],
    errors: [] as EventError[],
    rejected: 0,
    refuse(error: EventError) {
      batch.rejected++;
      if (batch.errors.length < MAX_LISTED_ERRORS) batch.errors.push(error);
    },
  };
  return batch;
}

function parseArray(items: readonly unknown[]): Batch {
  const batch = collector();
  items.forEach((item, index) => {
    try {
      batch.events.push(parseEvent(item));
    } catch (error) {
      batch.refuse({ index, error: messageOf(error) });
    }
  });
  return batch;
}

/**
 * Parses an HTTP ingest body: a JSON array of events (first non-whitespace character
 * `[`), a single JSON object (even spread over several lines), or NDJSON with one event
 * per non-empty line. Bad events are refused one by one; the others are kept. Throws a
 * `SyntaxError` only when an array body is not valid JSON (no event can be told apart).
 */
export function parseBody(text: string): Batch {
  const first = text.search(/\S/);
  if (first < 0) return collector();
  if (text[first] === "[") {
    const value = parseJson(text);
    if (!Array.isArray(value)) throw new SyntaxError("Cannot parse the body: expected an array");
    return parseArray(value);
  }
  if (text[first] === "{") {
    // One object over several lines would fail as NDJSON; an NDJSON body fails here
    // cheaply, right after its first line.
    let whole: unknown;
    try {
      whole = JSON.parse(text);
    } catch {
      whole = undefined;
    }
    if (whole !== undefined) {
      const batch = collector();
      try {
        batch.events.push(parseEvent(whole));
      } catch (error) {
        batch.refuse({ line: 1, error: messageOf(error) });
      }
      return batch;
    }
  }
  const batch = collector();
  let line = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    line++;
    const content = text.slice(start, end).trim();
    start = end + 1;
    if (content === "") continue;
    try {
      batch.events.push(parseEvent(parseJson(content)));
    } catch (error) {
      batch.refuse({ line, error: messageOf(error) });
    }
  }
  return batch;
}

/**
 * Parses one WebSocket ingest message: one event object or an array of them. Errors
 * carry the `index` within the message (0 for a single object or unparseable text).
 */
export function parseMessage(text: string): Batch {
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (error) {
    const batch = collector();
    batch.refuse({ index: 0, error: messageOf(error) });
    return batch;
  }
  return parseArray(Array.isArray(value) ? value : [value]);
}
