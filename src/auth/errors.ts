/** Why a token was refused; the handshake sends it as `X-Error-Code` and `code` (docs/protocol.md §6). */
export type AuthErrorCode =
  | "token-missing"
  | "token-expired"
  | "token-invalid-signature"
  | "token-invalid-issuer"
  | "token-invalid-audience"
  | "invalid-static-token"
  | "token-invalid-format"
  | "token-revoked"
  | "origin-mismatch";

/** Every {@link AuthErrorCode}, for callers that validate or enumerate codes. */
export const AUTH_ERROR_CODES: readonly AuthErrorCode[] = [
  "token-missing",
  "token-expired",
  "token-invalid-signature",
  "token-invalid-issuer",
  "token-invalid-audience",
  "invalid-static-token",
  "token-invalid-format",
  "token-revoked",
  "origin-mismatch",
] as const;

/** The HTTP status docs/protocol.md §6 gives each code: a malformed token is the client's bug (400), a foreign origin is forbidden (403), anything else is unauthenticated (401). */
export function authErrorStatus(code: AuthErrorCode): 400 | 401 | 403 {
  if (code === "token-invalid-format") return 400;
  if (code === "origin-mismatch") return 403;
  return 401;
}

/**
 * A refused credential. Callers branch on `code` and answer with `status`. Messages
 * describe the failure only: they never echo the token, which is a bearer secret.
 */
export class AuthError extends Error {
  override readonly name = "AuthError";
  readonly code: AuthErrorCode;
  readonly status: 400 | 401 | 403;

  constructor(code: AuthErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.status = authErrorStatus(code);
  }
}
