import { type AuthConfig, ConfigError } from "../config/mod.ts";
import type { Endpoint } from "../http/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { AuthTelemetry } from "../telemetry/mod.ts";
import type { Authorize } from "../ws/mod.ts";
import { createAuthorize } from "./authorize.ts";
import type { AuthSetup } from "./setup.ts";
import { createTokenEndpoint } from "./token_endpoint.ts";
import { type ClientAddress, createClientAddress } from "./trusted_proxies.ts";

/** What an app mounts for authentication, each part only when the config asks for it. */
export interface AuthRoutes {
  /** The upgrade check: with an auth mode or an Origin allow-list. */
  readonly authorize: Authorize | undefined;
  /** `POST /ws/sessions` (`TOKEN_ENDPOINT_PATH`): with a private key to sign with. */
  readonly tokenEndpoint: Endpoint | undefined;
  /** Each request's client address, through `PHAROS_TRUSTED_PROXIES`. */
  readonly clientAddress: ClientAddress;
}

/** Inputs of {@link createAuthRoutes} besides the config. */
export interface AuthRoutesOptions {
  /** Verifiers and minter from `prepareAuth`; required when `config` enables auth. */
  readonly setup: AuthSetup | undefined;
  /** Replaces the upgrade check built from `config` (then `setup` may be absent). */
  readonly authorize: Authorize | undefined;
  readonly log: Logger;
  readonly telemetry: AuthTelemetry;
}

/**
 * The upgrade check and the token endpoint for `config`. Throws a {@link ConfigError} when
 * `config` enables authentication but neither `setup` nor an `authorize` override is given.
 */
export function createAuthRoutes(config: AuthConfig, options: AuthRoutesOptions): AuthRoutes {
  const { setup, log } = options;
  const needsSetup = config.authMode !== "none" || config.privateKey !== "";
  if (needsSetup && setup === undefined && options.authorize === undefined) {
    throw new ConfigError(["authentication is configured: build the app with prepareAuth()"]);
  }
  const checks = config.authMode !== "none" || config.allowedOrigins.length > 0;
  const minter = setup?.minter;
  return {
    authorize: options.authorize ??
      (checks
        ? createAuthorize(config, setup ?? { verifier: undefined, minter: undefined }, log)
        : undefined),
    tokenEndpoint: minter === undefined ? undefined : createTokenEndpoint(config, minter, log),
    clientAddress: createClientAddress({
      trustedProxies: config.trustedProxies,
      onForwardedProblem(problem) {
        options.telemetry.forwardedHeaderRejected(problem);
        log.debug("Forwarding headers from a trusted proxy name no client ({problem})", {
          problem,
        });
      },
    }),
  };
}
