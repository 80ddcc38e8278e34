import { importJWK, type JWK } from "jose";
import type { JwsAlgorithm } from "../config/mod.ts";

/** A public verification key of a JWKS, reduced to its public members. */
export interface PublicKeyEntry {
  readonly kid: string | undefined;
  /** The accepted algorithms this key can verify (its pinned `alg` only, when it has one). */
  readonly algorithms: readonly JwsAlgorithm[];
  /** Only `kty`, `crv`, `x`, `y`, `n`, `e`: a private member published by mistake never reaches WebCrypto. */
  readonly jwk: JWK;
}

/** The usable keys of one JWKS, as read at one time. */
export interface KeySet {
  readonly keys: readonly PublicKeyEntry[];
  /** The `kid`s the set holds, to tell an unknown one at once. */
  readonly kids: ReadonlySet<string>;
}

/** The JWK key type and curve each algorithm verifies with. */
const KEY_TYPES: Readonly<Record<JwsAlgorithm, { kty: string; crv?: string }>> = {
  EdDSA: { kty: "OKP", crv: "Ed25519" },
  ES256: { kty: "EC", crv: "P-256" },
  ES384: { kty: "EC", crv: "P-384" },
  ES512: { kty: "EC", crv: "P-521" },
  RS256: { kty: "RSA" },
  RS384: { kty: "RSA" },
  RS512: { kty: "RSA" },
  PS256: { kty: "RSA" },
  PS384: { kty: "RSA" },
  PS512: { kty: "RSA" },
};

/** The public members of each key type. */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  OKP: ["kty", "crv", "x"],
  EC: ["kty", "crv", "x", "y"],
  RSA: ["kty", "n", "e"],
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether `jwk` can verify signatures of `alg`. */
function fits(jwk: Record<string, unknown>, alg: JwsAlgorithm): boolean {
  const type = KEY_TYPES[alg];
  return jwk.kty === type.kty && (type.crv === undefined || jwk.crv === type.crv);
}

/**
 * The keys of a JWKS (`{"keys":[…]}`) that may verify tokens signed with one of
 * `algorithms`. Keys of other types, marked for another `use` than `sig`, whose
 * `key_ops` leave out `verify`, or pinned to an algorithm not accepted are skipped, so a
 * shared JWKS that also lists encryption keys works. Throws a `TypeError` naming the
 * problem when the document is not a JWKS or no usable key remains.
 */
export function toKeySet(json: unknown, algorithms: readonly JwsAlgorithm[]): KeySet {
  if (!isRecord(json) || !Array.isArray(json.keys)) {
    throw new TypeError('expected a JWKS: an object with a "keys" array');
  }
  const keys: PublicKeyEntry[] = [];
  for (const [index, jwk] of json.keys.entries()) {
    if (!isRecord(jwk)) throw new TypeError(`key ${index} is not an object`);
    if (jwk.use !== undefined && jwk.use !== "sig") continue;
    if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes("verify")) continue;
    if (jwk.kid !== undefined && typeof jwk.kid !== "string") {
      throw new TypeError(`key ${index} has a non-string "kid"`);
    }
    if (jwk.alg !== undefined && typeof jwk.alg !== "string") {
      throw new TypeError(`key ${index} has a non-string "alg"`);
    }
    const usable = algorithms.filter((alg) =>
      fits(jwk, alg) && (jwk.alg === undefined || jwk.alg === alg)
    );
    if (usable.length === 0) continue;
    const members = PUBLIC_MEMBERS[jwk.kty as string] ?? [];
    const missing = members.filter((member) => typeof jwk[member] !== "string");
    if (missing.length > 0) throw new TypeError(`key ${index} has no "${missing[0]}"`);
    const publicJwk = Object.fromEntries(members.map((member) => [member, jwk[member]])) as JWK;
    keys.push({ kid: jwk.kid as string | undefined, algorithms: usable, jwk: publicJwk });
  }
  if (keys.length === 0) {
    throw new TypeError(`no key that verifies ${algorithms.join(" or ")} signatures`);
  }
  return { keys, kids: new Set(keys.flatMap((key) => (key.kid === undefined ? [] : [key.kid]))) };
}

/**
 * The keys of `set` that may have signed a token with this `alg` and `kid`: with a `kid`,
 * only the keys named so; without one, every key that fits the algorithm.
 */
export function candidatesFor(
  set: KeySet,
  alg: JwsAlgorithm,
  kid: string | undefined,
): PublicKeyEntry[] {
  return set.keys.filter((key) =>
    (kid === undefined || key.kid === kid) && key.algorithms.includes(alg)
  );
}

/** Imports keys for an algorithm once, and keeps them as long as their set is current. */
export class KeyImports {
  readonly #imported = new WeakMap<PublicKeyEntry, Map<string, Promise<CryptoKey>>>();

  /** The WebCrypto key of `entry` for `alg`; rejects when the JWK is not a valid key. */
  get(entry: PublicKeyEntry, alg: JwsAlgorithm): Promise<CryptoKey> {
    let byAlg = this.#imported.get(entry);
    if (byAlg === undefined) this.#imported.set(entry, byAlg = new Map());
    let key = byAlg.get(alg);
    if (key === undefined) {
      key = importJWK(entry.jwk, alg) as Promise<CryptoKey>;
      byAlg.set(alg, key);
    }
    return key;
  }
}

/**
 * A key lookup over a fixed JWKS, never read again (tests, and hosts embedding Pharos with
 * keys of their own). Throws like {@link toKeySet}.
 */
export function keyLookupOf(
  json: unknown,
  algorithms: readonly JwsAlgorithm[] = ["EdDSA"],
): { candidates(alg: JwsAlgorithm, kid: string | undefined): Promise<CryptoKey[]> } {
  const set = toKeySet(json, algorithms);
  const imports = new KeyImports();
  return {
    candidates: (alg, kid) =>
      Promise.all(candidatesFor(set, alg, kid).map((key) => imports.get(key, alg))),
  };
}
