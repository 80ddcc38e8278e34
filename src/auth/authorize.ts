import { type AuthConfig, ConfigError } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { ErrorAnswer } from "../protocol/mod.ts";
import { ViewGrant } from "../util/mod.ts";
import type { Access, Admitted, Authorize } from "../ws/mod.ts";
import { AuthError } from "./errors.ts";
import type { Identity } from "./identity.ts";
import type { JwtVerifier } from "./jwt.ts";
import { presentedToken } from "./presented_token.ts";
import type { AuthSetup } from "./setup.ts";
import type { StaticVerifier } from "./static_tokens.ts";

function rejectionOf(error: AuthError): ErrorAnswer {
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

/**
 * The grant of clients whose token carries no `views` claim (`PHAROS_DEFAULT_VIEWS`), and
 * of everyone with `none`. Config parsing checked the patterns already.
 */
export function defaultGrantOf(config: Pick<AuthConfig, "defaultViews">): ViewGrant {
  const grant = ViewGrant.parse(config.defaultViews);
  if (!(grant instanceof ViewGrant)) {
    throw new ConfigError(grant.problems.map((problem) => `PHAROS_DEFAULT_VIEWS: ${problem}`));
  }
  return grant;
}

/**
 * The upgrade check: the Origin allow-list, then the credentials of `config.authMode`;
 * with `jwt`, the admitted session may refresh its token in-band. A token without a `views`
 * claim gets `defaultViews` (the app passes the grant its sessions share; default: read
 * from `config`). Throws a {@link ConfigError} when the mode needs a verifier `setup` lacks
 * (it fails closed).
 */
export function createAuthorize(
  config: AuthConfig,
  setup: AuthSetup,
  log: Logger,
  defaultViews: ViewGrant = defaultGrantOf(config),
): Authorize {
  const allowed = new Set(config.allowedOrigins);
  const verifier = setup.verifier;
  // Fail closed: an auth mode without its verifier must not quietly let everyone in.
  if (config.authMode !== "none" && verifier === undefined) {
    throw new ConfigError([
      `PHAROS_AUTH=${config.authMode}: no verifier (build it with prepareAuth)`,
    ]);
  }
  const mode = config.authMode;
  const accessOf = (identity: Identity): Access => ({
    views: identity.views ?? defaultViews,
    claims: identity.claims,
  });
  /** The refusal, told at debug with its code (the token is never logged). */
  const refuse = (peer: string, error: AuthError): ErrorAnswer => {
    if (log.isEnabledFor("debug")) {
      log.debug("Upgrade from {peer} refused ({mode}): {code}", {
        peer,
        mode,
        outcome: "refused",
        code: error.code,
      });
    }
    return rejectionOf(error);
  };
  /** Told at debug with the identity's subject and expiry, when it has them. */
  const admit = (peer: string, identity?: Identity): void => {
    if (!log.isEnabledFor("debug")) return;
    log.debug("Upgrade from {peer} admitted ({mode})", {
      peer,
      mode,
      outcome: "admitted",
      ...(identity?.subject === undefined ? {} : { subject: identity.subject }),
      ...(identity?.expiresAt === undefined ? {} : { expires_at: identity.expiresAt }),
    });
  };
  return async (request, peer) => {
    const origin = request.headers.get("origin") ?? undefined;
    if (origin !== undefined && allowed.size > 0 && !allowed.has(origin)) {
      log.warn("Refused upgrade from {peer}: origin {origin} is not allowed", { peer, origin });
      return refuse(peer, new AuthError("origin-mismatch", "This origin may not connect"));
    }
    if (verifier === undefined) { // PHAROS_AUTH=none
      admit(peer);
      return undefined;
    }
    const token = presentedToken(request);
    if (token === undefined || token === "") {
      return refuse(
        peer,
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
      return refuse(peer, error);
    }
    const admitted: Admitted = {
      kind: "admitted",
      ...(identity.subject === undefined ? {} : { subject: identity.subject }),
      ...(identity.expiresAt === undefined ? {} : { expiresAt: identity.expiresAt }),
      ...(identity.tokenId === undefined ? {} : { tokenId: identity.tokenId }),
      limits: identity.limits,
      access: accessOf(identity),
      ...(config.authMode === "jwt"
        ? {
          refresh: async (fresh: string) => {
            const renewed = await (verifier as JwtVerifier).verify(fresh, origin);
            if (renewed.subject !== identity.subject) {
              throw Object.assign(new Error("The new token is for another subject"), {
                code: "token-invalid",
              });
            }
            return {
              expiresAt: renewed.expiresAt,
              access: accessOf(renewed),
              ...(renewed.tokenId === undefined ? {} : { tokenId: renewed.tokenId }),
            };
          },
        }
        : {}),
    };
    admit(peer, identity);
    return admitted;
  };
}
