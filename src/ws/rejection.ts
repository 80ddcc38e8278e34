/** A refused handshake, docs/protocol.md §6. */
export interface HandshakeRejection {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  /** Seconds; sets `Retry-After` and `retry_after`. */
  readonly retryAfterSeconds?: number;
  readonly suggestedAction?: string;
}

/** The HTTP response for a refused handshake: JSON body and the headers of docs/protocol.md §6. */
export function toRejectionResponse(rejection: HandshakeRejection): Response {
  const headers = new Headers({
    "content-type": "application/json; charset=utf-8",
    "x-error-code": rejection.code,
    "cache-control": "no-store",
  });
  if (rejection.retryAfterSeconds !== undefined) {
    headers.set("retry-after", String(rejection.retryAfterSeconds));
  }
  const body: Record<string, unknown> = {
    error: rejection.code,
    message: rejection.message,
    code: rejection.code,
    retryable: rejection.retryable,
  };
  if (rejection.retryAfterSeconds !== undefined) body.retry_after = rejection.retryAfterSeconds;
  if (rejection.suggestedAction !== undefined) body.suggested_action = rejection.suggestedAction;
  return new Response(JSON.stringify(body), { status: rejection.status, headers });
}
