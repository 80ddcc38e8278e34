const CURSOR_PLACEHOLDER = "{{cursor}}";
const DROP = Symbol("drop");

/**
 * Reads the `subscribe` option: a JSON object text, sent on every (re)connect. Throws a
 * `TypeError` for anything else, at creation rather than at the first connect.
 */
export function parseSubscribe(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new TypeError("Cannot use the upstream subscribe message: expected a JSON object", {
      cause,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new TypeError("Cannot use the upstream subscribe message: expected a JSON object");
  }
  return parsed as Record<string, unknown>;
}

/**
 * The subscribe message for one (re)connect: every string value exactly `"{{cursor}}"`, at
 * any depth, becomes `cursor`; before the first event (no cursor) that field or array
 * element is left out.
 */
export function toSubscribeMessage(
  template: Record<string, unknown>,
  cursor: string | undefined,
): string {
  return JSON.stringify(withCursor(template, cursor));
}

function withCursor(value: unknown, cursor: string | undefined): unknown {
  if (value === CURSOR_PLACEHOLDER) return cursor ?? DROP;
  if (Array.isArray(value)) {
    return value.map((item) => withCursor(item, cursor)).filter((item) => item !== DROP);
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const replaced = withCursor(item, cursor);
      if (replaced !== DROP) out[key] = replaced;
    }
    return out;
  }
  return value;
}
