/**
 * Helpers for the authentication integration tests: Ed25519 keys made with WebCrypto, a
 * JWKS file under /tmp, hand-built (also hostile) JWTs, upgrade attempts with chosen
 * headers, a WebSocket client that can send headers, and Prometheus sample lookups.
 */
import { TestClient } from "./ws_client.ts";

const encoder = new TextEncoder();

/** An Ed25519 key pair as JWKs plus the private CryptoKey, for signing test tokens. */
export interface TestKeyPair {
  readonly privateJwk: JsonWebKey;
  readonly publicJwk: JsonWebKey;
  readonly privateKey: CryptoKey;
}

/** Generates an Ed25519 key pair; `kid`, when given, is set on both JWKs. */
export async function generateKeyPair(kid?: string): Promise<TestKeyPair> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const publicJwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const withKid = (jwk: JsonWebKey) => kid === undefined ? jwk : { ...jwk, kid };
  return {
    privateJwk: withKid(privateJwk),
    publicJwk: withKid(publicJwk),
    privateKey: pair.privateKey,
  };
}

/** A JWKS file under /tmp, removed on dispose. */
export interface JwksFile extends AsyncDisposable {
  readonly path: string;
}

/** Writes `{"keys": publicJwks}` to a fresh file under /tmp. */
export async function writeJwks(...publicJwks: JsonWebKey[]): Promise<JwksFile> {
  const path = await Deno.makeTempFile({ dir: "/tmp", prefix: "pharos-jwks-", suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify({ keys: publicJwks }));
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path).catch(() => {});
    },
  };
}

/** base64url without padding. */
export function base64Url(bytes: Uint8Array | string): string {
  const raw = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
  let binary = "";
  for (const byte of raw) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes a base64url string (as used in JWK `x`) to bytes. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Unix seconds now. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Standard claims (`iss`, `aud`, `sub`, `iat`, `nbf`, `exp` in 5 min) with `overrides`. */
export function claims(
  issuer: string,
  audience: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = nowSeconds();
  return {
    iss: issuer,
    aud: audience,
    sub: "alice",
    iat: now,
    nbf: now,
    exp: now + 300,
    ...overrides,
  };
}

function signingInput(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${base64Url(JSON.stringify(header))}.${base64Url(JSON.stringify(payload))}`;
}

/** A compact EdDSA JWT signed with `privateKey`; `header` overrides the default header. */
export async function signJwt(
  privateKey: CryptoKey,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = { alg: "EdDSA", typ: "JWT" },
): Promise<string> {
  const input = signingInput(header, payload);
  const signature = await crypto.subtle.sign("Ed25519", privateKey, encoder.encode(input));
  return `${input}.${base64Url(new Uint8Array(signature))}`;
}

/** An `alg: none` JWT with an empty signature. */
export function unsignedJwt(payload: Record<string, unknown>): string {
  return `${signingInput({ alg: "none", typ: "JWT" }, payload)}.`;
}

/** An HS256 JWT whose HMAC secret is `secret` (the algorithm-confusion attack). */
export async function hs256Jwt(
  payload: Record<string, unknown>,
  secret: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    secret,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const input = signingInput({ alg: "HS256", typ: "JWT" }, payload);
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(input));
  return `${input}.${base64Url(new Uint8Array(signature))}`;
}

const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/**
 * A WebSocket upgrade request sent with `fetch`, for reading a refusal (status, headers,
 * body). Use only where a refusal is expected: a 101 here leaves an unusable socket open
 * on the server, so a 101 answer is cancelled and reported as is.
 */
export async function upgradeAttempt(
  httpUrl: string,
  options: { path?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const response = await fetch(`${httpUrl}${options.path ?? "/"}`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": WS_KEY,
      "sec-websocket-version": "13",
      ...options.headers,
    },
  });
  if (response.status === 101) await response.body?.cancel();
  return response;
}

/** Whether a WebSocket to `url` with `headers` opens (true) or is refused (false). */
export async function opens(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  const client = new TestClient(url, headers);
  try {
    await client.opened;
    return true;
  } catch {
    return false;
  } finally {
    await client[Symbol.asyncDispose]();
  }
}

/**
 * Sum of the samples of `name` whose labels include every `label="value"` pair given, in
 * Prometheus text (other labels, such as scope labels, are ignored).
 */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== "{" && rest[0] !== " ") continue;
    const space = line.lastIndexOf(" ");
    const series = line.slice(0, space);
    if (!Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) continue;
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
