/** An error answer in the shape of docs/protocol.md §6: a refused handshake, ingest request or token request. */
export interface ErrorAnswer {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  /** Seconds; sets `Retry-After` and `retry_after`. */
  readonly retryAfterSeconds?: number;
  /** What the client should do about it (`suggested_action`). */
  readonly suggestedAction?: string;
  /** Extra headers, e.g. `Allow`. */
  readonly headers?: Readonly<Record<string, string>>;
}

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
} as const;

/** A JSON response that is never cached. */
export function toJsonResponse(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/**
 * The error response of docs/protocol.md §6: JSON body `{error, message, code, retryable,
 * retry_after?, suggested_action?}` with `X-Error-Code`, `Cache-Control: no-store` and
 * `Retry-After` when set.
 */
export function toErrorResponse(answer: ErrorAnswer): Response {
  const headers: Record<string, string> = { ...answer.headers, "x-error-code": answer.code };
  const body: Record<string, unknown> = {
    error: answer.code,
    message: answer.message,
    code: answer.code,
    retryable: answer.retryable,
  };
  if (answer.retryAfterSeconds !== undefined) {
    headers["retry-after"] = String(answer.retryAfterSeconds);
    body.retry_after = answer.retryAfterSeconds;
  }
  if (answer.suggestedAction !== undefined) body.suggested_action = answer.suggestedAction;
  return toJsonResponse(answer.status, body, headers);
}
