import type { Clock } from "../util/mod.ts";
import { base64url, importJWK, SignJWT } from "jose";
import { type TokenLimits, toLimitsClaim } from "../protocol/mod.ts";

/** Issues signed JWTs for clients of this server. */
export interface TokenMinter {
  /** Signs a token for `subject`; `expiresAt` is unix seconds, as the token's `exp`. */
  mint(claims: MintClaims): Promise<{ token: string; expiresAt: number }>;
}

/** What a minted token says about its holder. */
export interface MintClaims {
  readonly subject: string;
  /** Binds the token to this `Origin` header value. */
  readonly origin?: string;
  readonly limits?: TokenLimits;
}

/** Options for {@link createTokenMinter}. */
export interface TokenMinterOptions {
  /** An Ed25519 private JWK (`kty` OKP, `crv` Ed25519, `d`, `x`). */
  readonly privateKey: JsonWebKey;
  /** Written to the header so verifiers pick the right key. Default: the JWK's own `kid`, if any. */
  readonly kid?: string;
  readonly issuer: string;
  /** Written as `aud` when set. */
  readonly audience?: string;
  /** Lifetime of each token, a positive whole number of seconds. */
  readonly ttlSeconds: number;
  readonly clock: Clock;
}

function checkPrivateJwk(jwk: JsonWebKey): { d: string; x: string } {
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") {
    throw new TypeError("Cannot mint tokens: the private key must be an Ed25519 JWK (kty OKP)");
  }
  if (typeof jwk.d !== "string" || typeof jwk.x !== "string") {
    throw new TypeError('Cannot mint tokens: the private key JWK needs both "d" and "x"');
  }
  return { d: jwk.d, x: jwk.x };
}

/**
 * Creates a minter of EdDSA JWTs (signed with `jose`) carrying `iat`, `nbf`, `exp`, `iss`,
 * `aud` (when set), `sub`, `origin` (when set), `limits` (snake_case, when set) and a
 * random `jti`. The JWK is checked now and imported on first use.
 */
export function createTokenMinter(options: TokenMinterOptions): TokenMinter {
  const { privateKey, issuer, audience, ttlSeconds, clock } = options;
  const { d, x } = checkPrivateJwk(privateKey);
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(
      `Cannot mint tokens: ttlSeconds must be a positive integer, got ${ttlSeconds}`,
    );
  }
  const kid = options.kid ?? (privateKey as { kid?: unknown }).kid;
  const header = typeof kid === "string"
    ? { alg: "EdDSA", typ: "JWT", kid }
    : { alg: "EdDSA", typ: "JWT" };
  let key: Promise<CryptoKey> | undefined;

  return {
    async mint(claims) {
      const limits = claims.limits === undefined ? undefined : toLimitsClaim(claims.limits);
      for (const [name, value] of Object.entries(limits ?? {})) {
        if (!Number.isSafeInteger(value) || value < 0) {
          throw new RangeError(`Cannot mint token: limit "${name}" must be a non-negative integer`);
        }
      }
      key ??= importJWK({ kty: "OKP", crv: "Ed25519", d, x }, "EdDSA") as Promise<CryptoKey>;
      const iat = Math.floor(clock.now() / 1000);
      const exp = iat + ttlSeconds;
      const payload: Record<string, unknown> = {
        iss: issuer,
        sub: claims.subject,
        iat,
        nbf: iat,
        exp,
      };
      if (audience !== undefined) payload.aud = audience;
      if (claims.origin !== undefined) payload.origin = claims.origin;
      if (limits !== undefined) payload.limits = limits;
      payload.jti = base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
      const token = await new SignJWT(payload).setProtectedHeader(header).sign(await key);
      return { token, expiresAt: exp };
    },
  };
}

/**
 * The public half of an Ed25519 private JWK, marked for EdDSA signatures, ready to
 * publish in a JWKS. Only `kty`, `crv` and `x` are copied, so `d` can never leak.
 */
export function publicJwkOf(privateJwk: JsonWebKey, kid?: string): JsonWebKey & { kid?: string } {
  if (
    privateJwk.kty !== "OKP" || privateJwk.crv !== "Ed25519" || typeof privateJwk.x !== "string"
  ) {
    throw new TypeError('Cannot derive public key: expected an Ed25519 JWK with "x"');
  }
  const ownKid = (privateJwk as { kid?: unknown }).kid;
  const resolvedKid = kid ?? (typeof ownKid === "string" ? ownKid : undefined);
  const jwk = { kty: "OKP", crv: "Ed25519", x: privateJwk.x, use: "sig", alg: "EdDSA" };
  return resolvedKid === undefined ? jwk : { ...jwk, kid: resolvedKid };
}
