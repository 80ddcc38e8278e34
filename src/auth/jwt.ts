import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
} from "jose";
import type { JwsAlgorithm } from "../config/mod.ts";
import type { Clock } from "../util/mod.ts";
import { AuthError } from "./errors.ts";
import { type Identity, parseLimitsClaim, parseViewsClaim } from "./identity.ts";

/** Longest token accepted; real tokens are a few hundred bytes, so more is abuse or a bug. */
export const MAX_TOKEN_BYTES = 8 * 1024;

/** Where the verifier finds the keys a token may have been signed with. */
export interface KeyLookup {
  /** The keys that may have signed a token with this `alg` and `kid` (empty: none). */
  candidates(alg: JwsAlgorithm, kid: string | undefined): Promise<readonly CryptoKey[]>;
}

/** Verifies JWTs into an {@link Identity}. */
export interface JwtVerifier {
  /**
   * Resolves the token's identity or rejects with an {@link AuthError}. `origin` is the
   * request's `Origin` header, or undefined when it has none.
   */
  verify(token: string, origin: string | undefined): Promise<Identity>;
}

/** Options for {@link createJwtVerifier}. */
export interface JwtVerifierOptions {
  readonly keys: KeyLookup;
  /** Algorithms a token may be signed with. Default `["EdDSA"]`. */
  readonly algorithms?: readonly JwsAlgorithm[];
  /** Required `iss`; unchecked when absent. */
  readonly issuer?: string;
  /** Required member of `aud`; unchecked when absent. */
  readonly audience?: string;
  readonly clock: Clock;
  /** Clock skew allowed on `exp` and `nbf`. Default 30 s. */
  readonly leewaySeconds?: number;
}

function invalidFormat(message: string, cause?: unknown): AuthError {
  return new AuthError("token-invalid-format", `Cannot parse token: ${message}`, { cause });
}

function invalidSignature(message: string, cause?: unknown): AuthError {
  return new AuthError("token-invalid-signature", `Token rejected: ${message}`, { cause });
}

/** The Pharos answer for a `jose` failure; anything else is not a token's fault. */
function toAuthError(error: unknown): unknown {
  if (error instanceof errors.JWTExpired) {
    return new AuthError("token-expired", "Token has expired", { cause: error });
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    // docs/protocol.md §8 defines no code for nbf. A token not valid yet is refused as
    // token-expired (401, retryable later) rather than token-invalid-format (400, "fix your
    // client"): it is well formed, only the time is wrong.
    if (error.claim === "nbf" && error.reason === "check_failed") {
      return new AuthError("token-expired", "Token not yet valid", { cause: error });
    }
    return invalidFormat(
      `claim "${error.claim}" ${error.reason === "missing" ? "is missing" : "is not valid"}`,
      error,
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalidSignature("signature does not verify", error);
  }
  // RFC 7515 §4.1.11: a critical header parameter the verifier does not understand.
  if (error instanceof errors.JOSENotSupported) return invalidFormat(error.message, error);
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return invalidFormat(error.message, error);
  }
  if (error instanceof errors.JOSEError) return invalidSignature(error.message, error);
  return error;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Whether `part` is unpadded base64url in its one canonical spelling. `jose` decodes
 * leniently (padding, `+`, `/`, whitespace, and trailing bits that decode to the same
 * bytes), so a token could be respelled without changing what it says; JWS (RFC 7515 §2)
 * forbids all of these, and a respelled token means it was mangled or tampered with.
 */
function isCanonicalBase64url(part: string): boolean {
  if (!BASE64URL.test(part) || part.length % 4 === 1) return false;
  try {
    return base64url.encode(base64url.decode(part)) === part;
  } catch {
    return false;
  }
}

function optionalString(payload: JWTPayload, claim: string): string | undefined {
  const value = payload[claim];
  if (value !== undefined && typeof value !== "string") {
    throw invalidFormat(`claim "${claim}" is not a string`);
  }
  return value;
}

/**
 * Verifies a compact JWS with `jose`: the algorithm against `algorithms`, unknown critical
 * header parameters refused, the signature against each candidate key, then `exp`
 * (required), `nbf` and `iat` with the leeway.
 */
async function verifySigned(
  token: string,
  options: JwtVerifierOptions,
  algorithms: readonly JwsAlgorithm[],
): Promise<JWTPayload> {
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch (error) {
    throw invalidFormat("the header is not base64url JSON", error);
  }
  try {
    decodeJwt(token); // a token whose payload is not a JSON object is malformed, signed or not
  } catch (error) {
    throw invalidFormat("the payload is not a JSON object", error);
  }
  // The algorithm comes from the attacker-controlled header: honouring `none` or `HS256`
  // (with the public key as an HMAC secret) would let anyone mint tokens. Refused before a
  // key is looked up, so such tokens cannot make the key store fetch either.
  const alg = header.alg;
  if (typeof alg !== "string" || !(algorithms as readonly string[]).includes(alg)) {
    throw invalidSignature(`algorithm must be ${algorithms.join(" or ")}`);
  }
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== "string") throw invalidFormat('"kid" is not a string');
  const candidates = await options.keys.candidates(alg as JwsAlgorithm, kid);
  if (candidates.length === 0) throw invalidSignature("unknown key id");
  const verifyOptions = {
    algorithms: [...algorithms],
    currentDate: new Date(options.clock.now()),
    clockTolerance: options.leewaySeconds ?? 30,
    requiredClaims: ["exp"],
  };
  let failure: unknown;
  // A token naming a key is checked against that key only; without a kid, any may match.
  for (const key of candidates) {
    try {
      return (await jwtVerify(token, key, verifyOptions)).payload;
    } catch (error) {
      if (!(error instanceof errors.JWSSignatureVerificationFailed)) throw toAuthError(error);
      failure = error;
    }
  }
  throw toAuthError(failure);
}

/**
 * Creates a verifier of signed JWTs (docs/protocol.md §8) on `jose`, with Pharos's rules
 * on top: at most {@link MAX_TOKEN_BYTES}, an accepted algorithm (`EdDSA` unless
 * configured), the signature checked before any claim, `exp` required (a token that
 * never expires cannot be revoked by rotation), then `iss`, `aud`, the `origin` binding
 * and the `limits` claim, each failure with its docs/protocol.md §6 code.
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const { issuer, audience } = options;
  const algorithms = options.algorithms ?? ["EdDSA"];
  const leewaySeconds = options.leewaySeconds ?? 30;
  if (!Number.isFinite(leewaySeconds) || leewaySeconds < 0) {
    throw new RangeError(`Cannot verify tokens: leewaySeconds must be >= 0, got ${leewaySeconds}`);
  }
  if (algorithms.length === 0) throw new RangeError("Cannot verify tokens: no algorithm accepted");

  return {
    async verify(token, origin) {
      if (token === "") throw new AuthError("token-missing", "No token was provided");
      if (token.length > MAX_TOKEN_BYTES) {
        throw invalidFormat(`longer than ${MAX_TOKEN_BYTES} bytes`);
      }
      const parts = token.split(".");
      if (parts.length !== 3) throw invalidFormat(`expected 3 parts, got ${parts.length}`);
      if (!parts.every(isCanonicalBase64url)) throw invalidFormat("a part is not base64url");
      const payload = await verifySigned(token, options, algorithms);

      const iss = optionalString(payload, "iss");
      if (issuer !== undefined && iss !== issuer) {
        throw new AuthError("token-invalid-issuer", "Token issuer is not accepted");
      }
      const aud = payload.aud;
      const audiences = aud === undefined ? [] : Array.isArray(aud) ? aud : [aud];
      if (!audiences.every((a) => typeof a === "string")) {
        throw invalidFormat('claim "aud" is not a string or an array of strings');
      }
      if (audience !== undefined && !audiences.includes(audience)) {
        throw new AuthError(
          "token-invalid-audience",
          "Token audience does not include this server",
        );
      }
      // Bound tokens are checked only when the client sent an Origin: non-browser clients
      // send none, and the binding exists to stop a token being replayed from another site.
      const originClaim = optionalString(payload, "origin");
      if (originClaim !== undefined && origin !== undefined && originClaim !== origin) {
        throw new AuthError("origin-mismatch", "Token is bound to another origin");
      }
      const subject = optionalString(payload, "sub");
      const tokenId = optionalString(payload, "jti");
      const limits = parseLimitsClaim(payload.limits);
      const views = parseViewsClaim(payload.views);
      const identity: Identity = {
        subject,
        expiresAt: payload.exp!,
        limits,
        ...(tokenId === undefined ? {} : { tokenId }),
        ...(views === undefined ? {} : { views }),
        claims: Object.freeze({ ...payload }),
      };
      return originClaim === undefined ? identity : { ...identity, origin: originClaim };
    },
  };
}
