/**
 * Authentication: verifies JWTs (on `jose`) and static tokens into an `Identity`, keeps
 * JWKS key sets current (a URL fetched again for an unknown `kid` or when old, a file read
 * again when it changes), keeps a token revocation list current (refused at the upgrade
 * and at `refresh_auth`, live sessions closed, shared in cluster mode), mints tokens,
 * authorises WebSocket upgrades (Origin allow-list, then credentials), serves the token
 * endpoint, and finds each request's client address behind trusted proxies. Failures are
 * `AuthError`s carrying the docs/protocol.md §6 code and HTTP status. Set-up, the upgrade
 * check and the token endpoint read config's `auth` slice (`AuthConfig`); `openAuth` loads
 * the keys and the revocation list and builds what an app mounts.
 * @module
 */
export { createAuthorize } from "./authorize.ts";
export { AUTH_ERROR_CODES, AuthError, type AuthErrorCode, authErrorStatus } from "./errors.ts";
export { type Identity, parseLimitsClaim } from "./identity.ts";
export {
  createJwtVerifier,
  type JwtVerifier,
  type JwtVerifierOptions,
  type KeyLookup,
  MAX_TOKEN_BYTES,
} from "./jwt.ts";
export { candidatesFor, keyLookupOf, type KeySet, type PublicKeyEntry, toKeySet } from "./jwks.ts";
export {
  type KeyRefresh,
  type KeyRefreshOutcome,
  type KeyRefreshTrigger,
  type KeyStore,
  type KeyStoreOptions,
  openKeyStore,
} from "./key_store.ts";
export {
  createTokenMinter,
  type MintClaims,
  publicJwkOf,
  type TokenMinter,
  type TokenMinterOptions,
} from "./mint.ts";
export { presentedToken } from "./presented_token.ts";
export {
  MAX_REVOCATION_ENTRIES,
  MAX_REVOCATION_ENTRY_CHARS,
  MAX_REVOCATION_LIST_BYTES,
  parseRevocationList,
  REVOCATION_KINDS,
  type RevocationKind,
  RevocationList,
} from "./revocation_list.ts";
export {
  openRevocations,
  type RevocationOutcome,
  type RevocationRefresh,
  type Revocations,
  type RevocationShare,
  type RevocationsOptions,
  type RevocationStatus,
  SHARED_REVOCATION_LIST,
} from "./revocations.ts";
export {
  enforceRevocations,
  refusingRevoked,
  type RevocationEnforcementOptions,
} from "./revocation_enforcement.ts";
export { type AuthSetup, prepareAuth, type PrepareAuthOptions } from "./setup.ts";
export { createStaticVerifier, type StaticVerifier } from "./static_tokens.ts";
export { createTokenEndpoint, TOKEN_ENDPOINT_PATH } from "./token_endpoint.ts";
export {
  type AuthRoutes,
  type AuthRoutesOptions,
  type AuthStatus,
  createAuthRoutes,
  openAuth,
  type RevocationWatch,
} from "./wiring.ts";
export {
  type ClientAddress,
  type ClientAddressOptions,
  createClientAddress,
  type ForwardedProblem,
  type RemoteAddress,
} from "./trusted_proxies.ts";
