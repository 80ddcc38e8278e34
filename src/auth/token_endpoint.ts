import { type AuthConfig, parsePublishableKeys } from "../config/mod.ts";
import type { Endpoint } from "../http/mod.ts";
import type { Logger } from "../log/mod.ts";
import { toErrorResponse } from "../protocol/mod.ts";
import type { AuthErrorCode } from "./errors.ts";
import type { TokenMinter } from "./mint.ts";
import { presentedToken } from "./presented_token.ts";

/** The token endpoint's path (what HyperStack's `auth.tokenEndpoint` points at). */
export const TOKEN_ENDPOINT_PATH = "/ws/sessions";

/** Largest token request body read; HyperStack's client sends `{"websocket_url": …}`. */
const MAX_TOKEN_REQUEST_BYTES = 4096;

function endpointError(
  status: number,
  code: AuthErrorCode | "method-not-allowed" | "invalid-request",
  message: string,
  headers: Record<string, string>,
): Response {
  const response = toErrorResponse({ status, code, message, retryable: false });
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
  config: AuthConfig,
  minter: TokenMinter,
  log: Logger,
): Endpoint {
  const keys = parsePublishableKeys(config.publishableKeys);
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
    const subject = `session:${crypto.randomUUID()}`;
    const { token, expiresAt } = await minter.mint({
      subject,
      ...(origin === undefined ? {} : { origin }),
    });
    if (log.isEnabledFor("debug")) {
      // Who it is for and until when; never the token or the publishable key.
      log.debug("Issued a token to {peer} for {subject}, expiring at {expires_at}", {
        peer,
        subject,
        expires_at: expiresAt,
        origin: origin ?? "(none)",
      });
    }
    return new Response(JSON.stringify({ token, expires_at: expiresAt }), {
      headers: {
        ...cors,
        "content-type": "application/json; charset=utf-8",
        "cache-control": "no-store",
      },
    });
  };
}
