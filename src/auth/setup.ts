import { type AuthConfig, ConfigError } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { AuthTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { createJwtVerifier, type JwtVerifier } from "./jwt.ts";
import { type KeyRefresh, type KeyStore, openKeyStore } from "./key_store.ts";
import { createTokenMinter, publicJwkOf, type TokenMinter } from "./mint.ts";
import { createStaticVerifier, type StaticVerifier } from "./static_tokens.ts";

/** Everything authentication needs that takes I/O to build (keys from a file or URL). */
export interface AuthSetup {
  /** Checks upgrade credentials; `undefined` with `authMode: "none"`. */
  readonly verifier: StaticVerifier | JwtVerifier | undefined;
  /** Signs the token endpoint's tokens; `undefined` without a private key. */
  readonly minter: TokenMinter | undefined;
  /** The JWT key set in force, for `/status`; `undefined` unless `authMode` is `jwt`. */
  readonly keys?: KeyStore;
}

/** What {@link prepareAuth} reports through. */
export interface PrepareAuthOptions {
  readonly clock: Clock;
  /** `pharos.auth`: key set readings after start-up. */
  readonly log: Logger;
  readonly telemetry: AuthTelemetry;
}

/** A JWKS source as logs may show it: a URL without credentials or query, or the path. */
function loggableSource(source: string): string {
  if (!/^https?:\/\//i.test(source)) return source;
  try {
    const url = new URL(source);
    return `${url.origin}${url.pathname}`;
  } catch {
    return "(a URL)";
  }
}

/** Logs and counts a reading of the key set. */
function reportRefresh(refresh: KeyRefresh, source: string, options: PrepareAuthOptions): void {
  options.telemetry.keySetRefreshed(refresh.trigger, refresh.outcome);
  const fields = { source: loggableSource(source), trigger: refresh.trigger, keys: refresh.keys };
  if (refresh.outcome === "failed") {
    options.log.warn(
      "JWT keys could not be read again ({trigger}): keeping the {keys} in force: {error}",
      {
        ...fields,
        error: refresh.error?.message ?? "unknown error",
        code: "auth-jwks-refresh-failed",
      },
    );
  } else if (refresh.outcome === "updated") {
    options.log.info("JWT keys read again from {source} ({trigger}): {keys} keys in force", fields);
  } else {
    options.log.debug("JWT keys read again from {source} ({trigger}): unchanged", fields);
  }
}

/**
 * Loads keys and builds the verifier for `authMode` and the minter (when a private key is
 * set). Throws a {@link ConfigError} naming what is wrong; never includes a secret.
 */
export async function prepareAuth(
  config: AuthConfig,
  options: PrepareAuthOptions,
): Promise<AuthSetup> {
  const { clock } = options;
  let privateJwk: JsonWebKey | undefined;
  if (config.privateKey !== "") privateJwk = JSON.parse(config.privateKey) as JsonWebKey;
  let minter: TokenMinter | undefined;
  if (privateJwk !== undefined) {
    try {
      minter = createTokenMinter({
        privateKey: privateJwk,
        issuer: config.issuer,
        ...(config.audience === "" ? {} : { audience: config.audience }),
        ttlSeconds: config.tokenTtlSeconds,
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
      try {
        return { verifier: createStaticVerifier(config.tokens), minter };
      } catch (error) {
        throw new ConfigError([`PHAROS_AUTH_TOKENS: ${(error as Error).message}`]);
      }
    case "jwt": {
      let keys: KeyStore;
      try {
        keys = await openKeyStore({
          source: config.publicKeys,
          algorithms: config.algorithms,
          clock,
          cooldownMs: config.jwksCooldownMs,
          maxAgeMs: config.jwksMaxAgeMs,
          // Tokens this server mints verify without listing its key twice.
          extraKeys: privateJwk === undefined ? [] : [publicJwkOf(privateJwk)],
          onRefresh: (refresh) => reportRefresh(refresh, config.publicKeys, options),
        });
      } catch (error) {
        throw new ConfigError([`PHAROS_AUTH_PUBLIC_KEYS: ${(error as Error).message}`]);
      }
      return {
        verifier: createJwtVerifier({
          keys,
          algorithms: config.algorithms,
          clock,
          ...(config.issuer === "" ? {} : { issuer: config.issuer }),
          ...(config.audience === "" ? {} : { audience: config.audience }),
        }),
        minter,
        keys,
      };
    }
  }
}
