import { type AuthConfig, ConfigError } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { AuthTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { createJwtVerifier, type JwtVerifier } from "./jwt.ts";
import { type KeyRefresh, type KeyStore, openKeyStore } from "./key_store.ts";
import { createTokenMinter, publicJwkOf, type TokenMinter } from "./mint.ts";
import { refusingRevoked } from "./revocation_enforcement.ts";
import { openRevocations, type RevocationRefresh, type Revocations } from "./revocations.ts";
import { createStaticVerifier, type StaticVerifier } from "./static_tokens.ts";
import { loggableSource } from "./_source_reader.ts";

/** Everything authentication needs that takes I/O to build (keys from a file or URL). */
export interface AuthSetup {
  /** Checks upgrade credentials; `undefined` with `authMode: "none"`. */
  readonly verifier: StaticVerifier | JwtVerifier | undefined;
  /** Signs the token endpoint's tokens; `undefined` without a private key. */
  readonly minter: TokenMinter | undefined;
  /** The JWT key set in force, for `/status`; `undefined` unless `authMode` is `jwt`. */
  readonly keys?: KeyStore;
  /**
   * The revocation list the verifier refuses tokens by (with `jwt` and `static`; empty
   * without `PHAROS_AUTH_REVOKED`, until cluster mode shares one). Not yet watched: `start` it.
   */
  readonly revocations?: Revocations;
}

/** What {@link prepareAuth} reports through. */
export interface PrepareAuthOptions {
  readonly clock: Clock;
  /** `pharos.auth`: key set readings after start-up. */
  readonly log: Logger;
  readonly telemetry: AuthTelemetry;
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
 * Logs and counts the revocation list's readings: a change at info with its sizes, a failure
 * at warn (the first of a run, or one failing for another reason; the rest at debug, all
 * counted), the reading that ends a run of failures at info.
 */
function revocationReporter(
  source: string,
  options: PrepareAuthOptions,
): (refresh: RevocationRefresh) => void {
  let lastFailure: string | undefined;
  return ({ outcome, list, error, failures, recoveredFrom }) => {
    const { log, telemetry } = options;
    telemetry.revocationListRefreshed(outcome);
    const fields = { source: source === "" ? "(cluster)" : loggableSource(source), ...list.size };
    if (outcome === "failed") {
      const message = error?.message ?? "unknown error";
      const line = "Revocation list not read ({failures} in a row): keeping the one in force " +
        "({jti} token ids, {sub} subjects): {error}";
      const properties = { ...fields, failures, error: message };
      if (failures === 1 || message !== lastFailure) {
        log.warn(line, { ...properties, code: "auth-revocation-list-failed" });
      } else log.debug(line, properties);
      lastFailure = message;
      return;
    }
    lastFailure = undefined;
    telemetry.revocationListEntries(list.size.jti, list.size.sub);
    if (outcome === "updated" || outcome === "shared") {
      log.info(
        outcome === "shared"
          ? "Revocation list shared by another instance is in force: {jti} token ids, {sub} subjects"
          : "Revocation list changed at {source}: {jti} token ids, {sub} subjects",
        { ...fields, outcome, version: list.version },
      );
    } else if (recoveredFrom !== undefined) {
      log.info("Revocation list read again from {source} after {failures} failed readings", {
        ...fields,
        failures: recoveredFrom,
      });
    } else log.debug("Revocation list read again from {source}: unchanged", fields);
  };
}

/** The revocation list for `config`, read once; a {@link ConfigError} when it cannot be. */
async function openConfiguredRevocations(
  config: AuthConfig,
  options: PrepareAuthOptions,
): Promise<Revocations> {
  const source = config.revocationList;
  let revocations: Revocations;
  try {
    revocations = await openRevocations({
      source,
      intervalMs: config.revocationIntervalMs,
      clock: options.clock,
      onRefresh: revocationReporter(source, options),
    });
  } catch (error) {
    throw new ConfigError([`PHAROS_AUTH_REVOKED: ${(error as Error).message}`]);
  }
  if (source !== "") {
    const size = revocations.list().size;
    options.telemetry.revocationListEntries(size.jti, size.sub);
    options.log.info("Revocation list read from {source}: {jti} token ids, {sub} subjects", {
      source: loggableSource(source),
      ...size,
    });
  }
  return revocations;
}

/**
 * Loads keys and the revocation list and builds the verifier for `authMode` (refusing
 * revoked tokens) and the minter (when a private key is set). Throws a
 * {@link ConfigError} naming what is wrong; never includes a secret.
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
    case "static": {
      const revocations = await openConfiguredRevocations(config, options);
      let tokens: StaticVerifier;
      try {
        tokens = createStaticVerifier(config.tokens);
      } catch (error) {
        throw new ConfigError([`PHAROS_AUTH_TOKENS: ${(error as Error).message}`]);
      }
      return {
        verifier: { verify: refusingRevoked((token: string) => tokens.verify(token), revocations) },
        minter,
        revocations,
      };
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
      const revocations = await openConfiguredRevocations(config, options);
      const jwts = createJwtVerifier({
        keys,
        algorithms: config.algorithms,
        clock,
        ...(config.issuer === "" ? {} : { issuer: config.issuer }),
        ...(config.audience === "" ? {} : { audience: config.audience }),
      });
      const verifier: JwtVerifier = {
        verify: refusingRevoked(
          (token: string, origin: string | undefined) => jwts.verify(token, origin),
          revocations,
        ),
      };
      return { verifier, minter, keys, revocations };
    }
  }
}
