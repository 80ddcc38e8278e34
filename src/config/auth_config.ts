import type { AuthMode, Config } from "./options.ts";

/**
 * The options the `auth` component reads: credentials at the upgrade, the Origin
 * allow-list, and the token endpoint. Defaults are those of `DEFAULT_CONFIG`; an
 * empty string means "not set".
 */
export interface AuthConfig {
  /** `PHAROS_AUTH`: how the upgrade is authenticated. @default "none" */
  readonly authMode: AuthMode;
  /** `PHAROS_AUTH_TOKENS`: the tokens accepted with `static`. @default [] */
  readonly tokens: readonly string[];
  /** `PHAROS_AUTH_ISSUER`: required JWT `iss`, and the `iss` of minted tokens. @default "" */
  readonly issuer: string;
  /** `PHAROS_AUTH_AUDIENCE`: required JWT `aud`, and the `aud` of minted tokens. @default "" */
  readonly audience: string;
  /** `PHAROS_AUTH_PUBLIC_KEYS`: JWKS file path or http(s) URL for `jwt`. @default "" */
  readonly publicKeys: string;
  /** `PHAROS_AUTH_PRIVATE_KEY`: Ed25519 private JWK (JSON) the minter signs with. @default "" */
  readonly privateKey: string;
  /** `PHAROS_AUTH_PUBLISHABLE_KEYS`: `KEY=ORIGIN` pairs for the token endpoint. @default "" */
  readonly publishableKeys: string;
  /** `PHAROS_AUTH_TOKEN_TTL_S`: lifetime of minted tokens. @default 300 */
  readonly tokenTtlSeconds: number;
  /** `PHAROS_ALLOWED_ORIGINS`: browser origins that may upgrade; empty allows any. @default [] */
  readonly allowedOrigins: readonly string[];
}

/** The `auth` slice of the flat configuration. */
export function toAuthConfig(config: Config): AuthConfig {
  return Object.freeze({
    authMode: config.authMode,
    tokens: config.authTokens,
    issuer: config.authIssuer,
    audience: config.authAudience,
    publicKeys: config.authPublicKeys,
    privateKey: config.authPrivateKey,
    publishableKeys: config.authPublishableKeys,
    tokenTtlSeconds: config.authTokenTtlSeconds,
    allowedOrigins: config.allowedOrigins,
  });
}
