import type { Clock } from "../util/mod.ts";
import { fromBase64Url } from "./_base64url.ts";
import { AuthError } from "./errors.ts";
import { type Identity, parseLimitsClaim } from "./identity.ts";
import type { KeySet, VerifyKey } from "./keys.ts";

/** Longest token accepted; real tokens are a few hundred bytes, so more is abuse or a bug. */
export const MAX_TOKEN_BYTES = 8 * 1024;

/** A compact JWS split and decoded, before its signature has been checked. */
export interface ParsedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The bytes the signature covers: `base64url(header) "." base64url(payload)`. */
  readonly signingInput: Uint8Array<ArrayBuffer>;
  readonly signature: Uint8Array<ArrayBuffer>;
}

/** Verifies Ed25519 JWTs into an {@link Identity}. */
export interface JwtVerifier {
  /**
   * Resolves the token's identity or rejects with an {@link AuthError}. `origin` is the
   * request's `Origin` header, or undefined when it has none.
   */
  verify(token: string, origin: string | undefined): Promise<Identity>;
}

/** Options for {@link createJwtVerifier}. */
export interface JwtVerifierOptions {
  readonly keys: KeySet;
  /** Required `iss`; unchecked when absent. */
  readonly issuer?: string;
  /** Required member of `aud`; unchecked when absent. */
  readonly audience?: string;
  readonly clock: Clock;
  /** Clock skew allowed on `exp` and `nbf`. Default 30 s. */
  readonly leewaySeconds?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function invalidFormat(message: string): AuthError {
  return new AuthError("token-invalid-format", `Cannot parse token: ${message}`);
}

function decodeJsonObject(part: string, name: string): Record<string, unknown> {
  const bytes = fromBase64Url(part);
  if (bytes === undefined) throw invalidFormat(`${name} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw invalidFormat(`${name} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidFormat(`${name} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Splits a compact JWS into header, payload and signature. Throws `token-invalid-format`
 * unless there are exactly three base64url parts whose first two are JSON objects. The
 * signature may be empty here (as in `alg: none`); verification refuses it afterwards.
 */
export function parseJws(token: string): ParsedJws {
  if (token.length > MAX_TOKEN_BYTES) throw invalidFormat(`longer than ${MAX_TOKEN_BYTES} bytes`);
  const parts = token.split(".");
  if (parts.length !== 3) throw invalidFormat(`expected 3 parts, got ${parts.length}`);
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJsonObject(headerPart, "header");
  const payload = decodeJsonObject(payloadPart, "payload");
  const signature = fromBase64Url(signaturePart);
  if (signature === undefined) throw invalidFormat("signature is not base64url");
  return {
    header,
    payload,
    signingInput: encoder.encode(`${headerPart}.${payloadPart}`),
    signature,
  };
}

/** Ed25519 signatures are always 64 bytes; anything else cannot verify. */
const SIGNATURE_BYTES = 64;

async function checkSignature(jws: ParsedJws, keys: KeySet): Promise<void> {
  // Only EdDSA is ever accepted: the algorithm comes from the attacker-controlled header,
  // so honouring `none` or `HS256` (with the public key as an HMAC secret) would let
  // anyone mint tokens.
  if (jws.header.alg !== "EdDSA") {
    throw new AuthError("token-invalid-signature", "Token rejected: algorithm must be EdDSA");
  }
  const kid = jws.header.kid;
  if (kid !== undefined && typeof kid !== "string") throw invalidFormat('"kid" is not a string');
  // A token naming a key is checked against that key only; without a kid, any key may match.
  const candidates: readonly VerifyKey[] = kid === undefined
    ? keys.keys
    : keys.keys.filter((k) => k.kid === kid);
  if (candidates.length === 0) {
    throw new AuthError("token-invalid-signature", "Token rejected: unknown key id");
  }
  if (jws.signature.length === SIGNATURE_BYTES) {
    for (const { key } of candidates) {
      if (await crypto.subtle.verify("Ed25519", key, jws.signature, jws.signingInput)) return;
    }
  }
  throw new AuthError("token-invalid-signature", "Token rejected: signature does not verify");
}

function optionalString(
  payload: Readonly<Record<string, unknown>>,
  claim: string,
): string | undefined {
  const value = payload[claim];
  if (value !== undefined && typeof value !== "string") {
    throw invalidFormat(`claim "${claim}" is not a string`);
  }
  return value;
}

function optionalNumber(
  payload: Readonly<Record<string, unknown>>,
  claim: string,
): number | undefined {
  const value = payload[claim];
  if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value))) {
    throw invalidFormat(`claim "${claim}" is not a number`);
  }
  return value;
}

/**
 * Creates a verifier for Ed25519-signed JWTs (PROTOCOL §6). The signature is checked
 * before any claim, so unsigned input learns nothing about which claims would pass.
 * Claims are then checked in the order exp, nbf, iss, aud, origin; `exp` is required,
 * since a token that never expires cannot be revoked by rotation.
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const { keys, issuer, audience, clock } = options;
  const leewaySeconds = options.leewaySeconds ?? 30;
  if (!Number.isFinite(leewaySeconds) || leewaySeconds < 0) {
    throw new RangeError(`Cannot verify tokens: leewaySeconds must be >= 0, got ${leewaySeconds}`);
  }
  if (keys.keys.length === 0) throw new RangeError("Cannot verify tokens: the key set is empty");

  return {
    async verify(token, origin) {
      if (token === "") throw new AuthError("token-missing", "No token was provided");
      const jws = parseJws(token);
      await checkSignature(jws, keys);
      const { payload } = jws;

      const nowSeconds = clock.now() / 1000;
      const exp = optionalNumber(payload, "exp");
      if (exp === undefined) throw invalidFormat('claim "exp" is missing');
      if (nowSeconds > exp + leewaySeconds) {
        throw new AuthError("token-expired", "Token has expired");
      }
      // PROTOCOL §6 checks nbf but defines no code for it. A not-yet-valid token is
      // refused as token-expired (401, retryable later) rather than token-invalid-format
      // (400, "fix your client"): the token is well formed, only the time is wrong.
      const nbf = optionalNumber(payload, "nbf");
      if (nbf !== undefined && nowSeconds + leewaySeconds < nbf) {
        throw new AuthError("token-expired", "Token not yet valid");
      }

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
      const limits = parseLimitsClaim(payload.limits);
      const identity: Identity = { subject, expiresAt: exp, limits };
      return originClaim === undefined ? identity : { ...identity, origin: originClaim };
    },
  };
}
