/** WebSocket authentication modes (PROTOCOL.md §6). */
export const AUTH_MODES = ["none", "static", "jwt"] as const;
/** An authentication mode. */
export type AuthMode = (typeof AUTH_MODES)[number];

/**
 * The options the `auth` component reads: credentials at the upgrade, the Origin
 * allow-list, and the token endpoint. An empty string means "not set".
 */
export interface AuthConfig {
  /**
   * `PHAROS_AUTH`: how the upgrade is authenticated.
   * @default {"none"}
   */
  readonly authMode: AuthMode;
  /**
   * `PHAROS_AUTH_TOKENS`: the tokens accepted with `static`.
   * @default {[]}
   */
  readonly tokens: readonly string[];
  /**
   * `PHAROS_AUTH_ISSUER`: required JWT `iss`, and the `iss` of minted tokens.
   * @default {""}
   */
  readonly issuer: string;
  /**
   * `PHAROS_AUTH_AUDIENCE`: required JWT `aud`, and the `aud` of minted tokens.
   * @default {""}
   */
  readonly audience: string;
  /**
   * `PHAROS_AUTH_PUBLIC_KEYS`: JWKS file path or http(s) URL for `jwt`.
   * @default {""}
   */
  readonly publicKeys: string;
  /**
   * `PHAROS_AUTH_PRIVATE_KEY`: Ed25519 private JWK (JSON) the minter signs with.
   * @default {""}
   */
  readonly privateKey: string;
  /**
   * `PHAROS_AUTH_PUBLISHABLE_KEYS`: `KEY=ORIGIN` pairs for the token endpoint.
   * @default {""}
   */
  readonly publishableKeys: string;
  /**
   * `PHAROS_AUTH_TOKEN_TTL_S`: lifetime of minted tokens, seconds.
   * @default {300}
   */
  readonly tokenTtlSeconds: number;
  /**
   * `PHAROS_ALLOWED_ORIGINS`: browser origins that may upgrade; empty allows any.
   * @default {[]}
   */
  readonly allowedOrigins: readonly string[];
}

/** Defaults of the `auth` slice. */
export const AUTH_DEFAULTS: AuthConfig = Object.freeze({
  authMode: "none",
  tokens: Object.freeze([] as string[]),
  issuer: "",
  audience: "",
  publicKeys: "",
  privateKey: "",
  publishableKeys: "",
  tokenTtlSeconds: 300,
  allowedOrigins: Object.freeze([] as string[]),
});
