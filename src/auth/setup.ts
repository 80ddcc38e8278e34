import { type AuthConfig, ConfigError } from "../config/mod.ts";
import type { Clock } from "../util/mod.ts";
import { createJwtVerifier, type JwtVerifier } from "./jwt.ts";
import { importJwks, type KeySet, loadKeySet } from "./keys.ts";
import { createTokenMinter, publicJwkOf, type TokenMinter } from "./mint.ts";
import { createStaticVerifier, type StaticVerifier } from "./static_tokens.ts";

/** Everything authentication needs that takes I/O to build (keys from a file or URL). */
export interface AuthSetup {
  /** Checks upgrade credentials; `undefined` with `authMode: "none"`. */
  readonly verifier: StaticVerifier | JwtVerifier | undefined;
  /** Signs the token endpoint's tokens; `undefined` without a private key. */
  readonly minter: TokenMinter | undefined;
}

/**
 * Loads keys and builds the verifier for `authMode` and the minter (when a private key is
 * set). Throws a {@link ConfigError} naming what is wrong; never includes a secret.
 */
export async function prepareAuth(config: AuthConfig, clock: Clock): Promise<AuthSetup> {
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
      return { verifier: createStaticVerifier(config.tokens), minter };
    case "jwt": {
      let keys: KeySet;
      try {
        keys = await loadKeySet(config.publicKeys);
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
          ...(config.issuer === "" ? {} : { issuer: config.issuer }),
          ...(config.audience === "" ? {} : { audience: config.audience }),
        }),
        minter,
      };
    }
  }
}
