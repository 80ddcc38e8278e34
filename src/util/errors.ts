/** What `error` says, for a log field or an answer: an Error's message, anything else as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Cuts `text` to at most `max` characters, marking the cut, so bad input is never echoed whole. */
export function truncate(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
