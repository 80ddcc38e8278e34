/**
 * @module Authentication: verifies Ed25519 JWTs and static tokens into an `Identity`, loads
 * JWKS key sets, mints tokens, authorises WebSocket upgrades (Origin allow-list, then
 * credentials) and serves the token endpoint. Failures are `AuthError`s carrying the
 * PROTOCOL §6 code and HTTP status. Set-up, the upgrade check and the token endpoint read
 * config's `auth` slice (`AuthConfig`); `createAuthRoutes` builds what an app mounts.
 */
export { createAuthorize } from "./authorize.ts";
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
export { presentedToken } from "./presented_token.ts";
export { type AuthSetup, prepareAuth } from "./setup.ts";
export { createStaticVerifier, type StaticVerifier } from "./static_tokens.ts";
export { createTokenEndpoint, TOKEN_ENDPOINT_PATH } from "./token_endpoint.ts";
export { type AuthRoutes, type AuthRoutesOptions, createAuthRoutes } from "./wiring.ts";
