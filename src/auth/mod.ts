/**
 * @module Authentication: verifies Ed25519 JWTs and static tokens into an `Identity`, loads
 * JWKS key sets, and mints tokens. Failures are `AuthError`s carrying the PROTOCOL §6 code
 * and HTTP status.
 */
export { AUTH_ERROR_CODES, AuthError, type AuthErrorCode, authErrorStatus } from "./errors.ts";
export { type AuthLimits, type Identity, parseLimitsClaim } from "./identity.ts";
export {
  createJwtVerifier,
  type JwtVerifier,
  type JwtVerifierOptions,
  MAX_TOKEN_BYTES,
  type ParsedJws,
  parseJws,
} from "./jwt.ts";
export {
  importJwks,
  type KeySet,
  loadKeySet,
  type LoadKeySetOptions,
  type VerifyKey,
} from "./keys.ts";
export {
  createTokenMinter,
  type MintClaims,
  publicJwkOf,
  type TokenMinter,
  type TokenMinterOptions,
} from "./mint.ts";
export { createStaticVerifier, type StaticVerifier } from "./static_tokens.ts";
