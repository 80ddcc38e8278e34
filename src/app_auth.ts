/**
 * Wires authentication (PROTOCOL.md §6) into the server: the credentials at the WebSocket
 * upgrade, the browser Origin allow-list, in-band refresh, and the token endpoint that
 * mints short-lived JWTs for publishable keys.
 * @module
 */
import {
  AuthError,
  type AuthErrorCode,
  createJwtVerifier,
  createStaticVerifier,
  createTokenMinter,
  type Identity,
  importJwks,
  type JwtVerifier,
  type KeySet,
  loadKeySet,
  publicJwkOf,
  type StaticVerifier,
  type TokenMinter,
} from "./auth/mod.ts";
import { type Config, ConfigError, parsePublishableKeys } from "./config/mod.ts";
import type { Endpoint } from "./http/mod.ts";
import type { Logger } from "./log/mod.ts";
import { bearerToken, type Clock } from "./util/mod.ts";
import {
  type Admitted,
  type Authorize,
  type HandshakeRejection,
  toRejectionResponse,
} from "./ws/mod.ts";

/** Everything authentication needs that takes I/O to build (keys from a file or URL). */
export interface AuthSetup {
  readonly verifier: StaticVerifier | JwtVerifier | undefined;
  readonly minter: TokenMinter | undefined;
}

/** The token endpoint's path (what HyperStack's `auth.tokenEndpoint` points at). */
export const TOKEN_ENDPOINT_PATH = "/ws/sessions";

/**
 * Loads keys and builds verifiers and the minter from the configuration. Throws a
 * {@link ConfigError} naming what is wrong; never includes a secret.
 */
export async function prepareAuth(config: Config, clock: Clock): Promise<AuthSetup> {
  let privateJwk: JsonWebKey | undefined;
  if (config.authPrivateKey !== "") privateJwk = JSON.parse(config.authPrivateKey) as JsonWebKey;
  let minter: TokenMinter | undefined;
  if (privateJwk !== undefined) {
    try {
      minter = createTokenMinter({
        privateKey: privateJwk,
        issuer: config.authIssuer,
        ...(config.authAudience === "" ? {} : { audience: config.authAudience }),
        ttlSeconds: config.authTokenTtlSeconds,
        clock,
      });
    } catch {
      throw new ConfigError(["PHAROS_AUTH_PRIVATE_KEY: not a usable Ed25519 private JWK"]);
    }
  }
  switch (config.authMode) {
    case "none":
      return { verifier: undefined, minter };
    case "static":
      return { verifier: createStaticVerifier(config.authTokens), minter };
    case "jwt": {
      let keys: KeySet;
      try {
        keys = await loadKeySet(config.authPublicKeys);
      } catch (error) {
        throw new ConfigError([`PHAROS_AUTH_PUBLIC_KEYS: ${(error as Error).message}`]);
      }
      // Tokens this server mints verify without listing its key twice.
      if (privateJwk !== undefined) {
        const own = await importJwks({ keys: [publicJwkOf(privateJwk)] });
        keys = { keys: [...keys.keys, ...own.keys] };
      }
      return {
        verifier: createJwtVerifier({
          keys,
          clock,
          ...(config.authIssuer === "" ? {} : { issuer: config.authIssuer }),
          ...(config.authAudience === "" ? {} : { audience: config.authAudience }),
        }),
        minter,
      };
    }
  }
}

/** The token a client presented: `Authorization: Bearer` first, else `hs_token`. */
export function presentedToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  if (header !== null) return bearerToken(header) ?? "";
  return new URL(request.url).searchParams.get("hs_token") ?? undefined;
}

function rejectionOf(error: AuthError): HandshakeRejection {
  return {
    status: error.status,
    code: error.code,
    message: error.message,
    // Only an expired token is worth retrying (with a fresh one).
    retryable: error.code === "token-expired",
    ...(error.code === "token-missing"
      ? { suggestedAction: "send a token as Authorization: Bearer or the hs_token parameter" }
      : {}),
  };
}

/** The upgrade check: Origin allow-list, then the credentials of `config.authMode`. */
export function createAuthorize(config: Config, setup: AuthSetup, log: Logger): Authorize {
  const allowed = new Set(config.allowedOrigins);
  const verifier = setup.verifier;
  // Fail closed: an auth mode without its verifier must not quietly let everyone in.
  if (config.authMode !== "none" && verifier === undefined) {
    throw new ConfigError([
      `PHAROS_AUTH=${config.authMode}: no verifier (build it with prepareAuth)`,
    ]);
  }
  return async (request, peer) => {
    const origin = request.headers.get("origin") ?? undefined;
    if (origin !== undefined && allowed.size > 0 && !allowed.has(origin)) {
      log.warn("Refused upgrade from {peer}: origin {origin} is not allowed", { peer, origin });
      return rejectionOf(new AuthError("origin-mismatch", "This origin may not connect"));
    }
    if (verifier === undefined) return undefined; // PHAROS_AUTH=none
    const token = presentedToken(request);
    if (token === undefined || token === "") {
      return rejectionOf(
        new AuthError(
          token === "" ? "token-invalid-format" : "token-missing",
          token === "" ? "The Authorization header is not a Bearer token" : "A token is required",
        ),
      );
    }
    let identity: Identity;
    try {
      identity = config.authMode === "jwt"
        ? await verifier.verify(token, origin)
        : await (verifier as StaticVerifier).verify(token);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      log.info("Refused upgrade from {peer}: {code}", { peer, code: error.code });
      return rejectionOf(error);
    }
    const admitted: Admitted = {
      kind: "admitted",
      ...(identity.subject === undefined ? {} : { subject: identity.subject }),
      ...(identity.expiresAt === undefined ? {} : { expiresAt: identity.expiresAt }),
      limits: identity.limits,
      ...(config.authMode === "jwt"
        ? {
          refresh: async (fresh: string) => {
            const renewed = await (verifier as JwtVerifier).verify(fresh, origin);
            if (renewed.subject !== identity.subject) {
              throw Object.assign(new Error("The new token is for another subject"), {
                code: "token-invalid",
              });
            }
            return { expiresAt: renewed.expiresAt };
          },
        }
        : {}),
    };
    return admitted;
  };
}

/** Largest token request body read; HyperStack's client sends `{"websocket_url": …}`. */
const MAX_TOKEN_REQUEST_BYTES = 4096;

function endpointError(
  status: number,
  code: AuthErrorCode | "method-not-allowed" | "invalid-request",
  message: string,
  headers: Record<string, string>,
): Response {
  const response = toRejectionResponse({ status, code, message, retryable: false });
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

/**
 * `POST /ws/sessions`: a browser holding a publishable key gets a short-lived JWT bound to
 * its Origin, in the shape HyperStack's client expects (`{"token","expires_at"}`). The key
 * comes as `Authorization: Bearer`; each key is tied to one origin (or `*`). Answers CORS
 * preflights for the origins allowed.
 */
export function createTokenEndpoint(
  config: Config,
  minter: TokenMinter,
  log: Logger,
): Endpoint {
  const keys = parsePublishableKeys(config.authPublishableKeys);
  const allowedOrigins = new Set(config.allowedOrigins);
  const originAllowed = (origin: string) =>
    allowedOrigins.size === 0 || allowedOrigins.has(origin) ||
    [...keys.values()].some((bound) => bound === origin);
  return async (request, peer) => {
    const origin = request.headers.get("origin") ?? undefined;
    const cors: Record<string, string> = origin !== undefined && originAllowed(origin)
      ? { "access-control-allow-origin": origin, vary: "Origin" }
      : {};
    if (request.method === "OPTIONS") {
      await request.body?.cancel();
      return new Response(null, {
        status: 204,
        headers: {
          ...cors,
          "access-control-allow-methods": "POST",
          "access-control-allow-headers": "authorization, content-type",
          "access-control-max-age": "600",
        },
      });
    }
    if (request.method !== "POST") {
      await request.body?.cancel();
      return endpointError(405, "method-not-allowed", "Use POST", { ...cors, allow: "POST" });
    }
    const declared = Number(request.headers.get("content-length") ?? "0");
    if (declared > MAX_TOKEN_REQUEST_BYTES) {
      await request.body?.cancel();
      return endpointError(413, "invalid-request", "The request body is too large", cors);
    }
    const key = presentedToken(request);
    await request.body?.cancel(); // the body carries nothing the token depends on
    if (key === undefined || key === "") {
      return endpointError(401, "token-missing", "A publishable key is required", cors);
    }
    const boundOrigin = keys.get(key);
    if (boundOrigin === undefined) {
      log.info("Token request from {peer} with an unknown publishable key", { peer });
      return endpointError(401, "invalid-static-token", "Unknown publishable key", cors);
    }
    if (boundOrigin !== "*" && origin !== boundOrigin) {
      log.info("Token request from {peer}: origin {origin} does not match its key", {
        peer,
        origin: origin ?? "(none)",
      });
      return endpointError(403, "origin-mismatch", "This key is for another origin", cors);
    }
    const { token, expiresAt } = await minter.mint({
      subject: `session:${crypto.randomUUID()}`,
      ...(origin === undefined ? {} : { origin }),
    });
    return new Response(JSON.stringify({ token, expires_at: expiresAt }), {
      headers: {
        ...cors,
        "content-type": "application/json; charset=utf-8",
        "cache-control": "no-store",
      },
    });
  };
}
