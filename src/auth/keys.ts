/** One Ed25519 public key that may sign tokens, with the `kid` tokens name it by. */
export interface VerifyKey {
  readonly kid?: string;
  readonly key: CryptoKey;
}

/** The public keys JWTs are verified against; never empty when built by {@link importJwks}. */
export interface KeySet {
  readonly keys: readonly VerifyKey[];
}

/** Options for {@link loadKeySet}. */
export interface LoadKeySetOptions {
  /** Used for http(s) sources. Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Used for file sources. Default: `Deno.readTextFile`. */
  readonly readTextFile?: (path: string) => Promise<string>;
  /** How long an http(s) source may take, body included. Default 10 000 ms. */
  readonly timeoutMs?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Imports the Ed25519 signing keys of a JWKS (`{"keys":[…]}`). Keys of other types,
 * keys marked for another `use` than `sig` and keys pinned to another `alg` than
 * `EdDSA` are skipped, so a shared JWKS that also lists RSA or encryption keys works.
 * Only `kty`, `crv` and `x` reach WebCrypto: a private `d` that was published by
 * mistake is never imported. Throws when no usable key remains.
 */
export async function importJwks(json: unknown): Promise<KeySet> {
  if (!isRecord(json) || !Array.isArray(json.keys)) {
    throw new TypeError('Cannot import JWKS: expected an object with a "keys" array');
  }
  const keys: VerifyKey[] = [];
  for (const [index, jwk] of json.keys.entries()) {
    if (!isRecord(jwk)) throw new TypeError(`Cannot import JWKS: key ${index} is not an object`);
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") continue;
    if (jwk.use !== undefined && jwk.use !== "sig") continue;
    if (jwk.alg !== undefined && jwk.alg !== "EdDSA") continue;
    if (jwk.kid !== undefined && typeof jwk.kid !== "string") {
      throw new TypeError(`Cannot import JWKS: key ${index} has a non-string "kid"`);
    }
    if (typeof jwk.x !== "string") {
      throw new TypeError(`Cannot import JWKS: key ${index} has no "x"`);
    }
    let key: CryptoKey;
    try {
      key = await crypto.subtle.importKey(
        "jwk",
        { kty: "OKP", crv: "Ed25519", x: jwk.x },
        { name: "Ed25519" },
        true,
        ["verify"],
      );
    } catch (cause) {
      throw new TypeError(`Cannot import JWKS: key ${index} is not a valid Ed25519 public key`, {
        cause,
      });
    }
    keys.push(jwk.kid === undefined ? { key } : { kid: jwk.kid, key });
  }
  if (keys.length === 0) {
    throw new TypeError("Cannot import JWKS: no Ed25519 signing key (kty OKP, crv Ed25519)");
  }
  return { keys };
}

/**
 * Loads a JWKS from an http(s) URL or a file path. Every failure (unreachable, HTTP
 * error, timeout, missing file, bad JSON, no usable key) throws an `Error` naming the
 * source, with the underlying error as `cause`, so start-up can report it as is.
 */
export async function loadKeySet(source: string, options: LoadKeySetOptions = {}): Promise<KeySet> {
  const isUrl = /^https?:\/\//i.test(source);
  let text: string;
  try {
    text = isUrl ? await fetchText(source, options) : await readFile(source, options);
  } catch (cause) {
    throw new Error(`Cannot load auth keys from ${source}: ${describe(cause)}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new Error(`Cannot load auth keys from ${source}: not valid JSON`, { cause });
  }
  try {
    return await importJwks(json);
  } catch (cause) {
    throw new Error(`Cannot load auth keys from ${source}: ${describe(cause)}`, { cause });
  }
}

async function fetchText(url: string, options: LoadKeySetOptions): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  // The signal covers the body too: a server that stalls mid-body still times out.
  const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const response = await doFetch(url, { signal, headers: { accept: "application/json" } });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status}`);
  }
  return await response.text();
}

async function readFile(path: string, options: LoadKeySetOptions): Promise<string> {
  const read = options.readTextFile ?? ((p: string) => Deno.readTextFile(p));
  try {
    return await read(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Error("file not found", { cause: error });
    throw error;
  }
}

function describe(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return "timed out";
  if (error instanceof Error) return error.message.replace(/^Cannot import JWKS: /, "");
  return String(error);
}
