import type { ErrorAnswer } from "../protocol/mod.ts";

/** A `Sec-WebSocket-Key`: base64 of 16 bytes (RFC 6455 §4.1). */
const WEBSOCKET_KEY = /^[A-Za-z0-9+/]{22}==$/;

/**
 * RFC 6455 §4.2.1 checks the runtime does not make: a request without a well-formed key
 * gets 400, one for another protocol version 426 (with the version we speak).
 */
export function checkHandshakeHeaders(request: Request): ErrorAnswer | undefined {
  if (request.headers.get("sec-websocket-version")?.trim() !== "13") {
    return {
      status: 426,
      code: "bad-upgrade",
      message: "Only WebSocket version 13 is supported",
      retryable: false,
    };
  }
  if (!WEBSOCKET_KEY.test(request.headers.get("sec-websocket-key")?.trim() ?? "")) {
    return {
      status: 400,
      code: "bad-upgrade",
      message: "Sec-WebSocket-Key must be 16 bytes in base64",
      retryable: false,
    };
  }
  return undefined;
}

/** The answer to an upgrade once shutdown began. */
export const SHUTTING_DOWN: ErrorAnswer = Object.freeze({
  status: 503,
  code: "server-at-capacity",
  message: "Server is shutting down",
  retryable: true,
  retryAfterSeconds: 5,
});

/** The answer to an upgrade when the server holds `maxClients` clients. */
export function atCapacity(maxClients: number): ErrorAnswer {
  return {
    status: 503,
    code: "server-at-capacity",
    message: `Server is at its limit of ${maxClients} clients`,
    retryable: true,
    retryAfterSeconds: 5,
    suggestedAction: "retry later or connect to another instance",
  };
}

/** The answer to an upgrade whose authorization hook threw. */
export const AUTHORIZATION_FAILED: ErrorAnswer = Object.freeze({
  status: 500,
  code: "internal-error",
  message: "Authorization failed on the server",
  retryable: true,
  retryAfterSeconds: 5,
});
