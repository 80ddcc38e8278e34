import type { Cidr } from "../util/mod.ts";

/** WebSocket authentication modes (docs/protocol.md §8). */
export const AUTH_MODES = ["none", "static", "jwt"] as const;
/** An authentication mode. */
export type AuthMode = (typeof AUTH_MODES)[number];

/**
 * JWS algorithms a JWT may be signed with. `none` and the HMAC family are left out on
 * purpose: with a public key set, an HMAC "secret" is public, so anyone could sign.
 */
export const JWS_ALGORITHMS = [
  "EdDSA",
  "ES256",
  "ES384",
  "ES512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
] as const;
/** A JWS algorithm Pharos may accept. */
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

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
   * `PHAROS_AUTH_ALGORITHMS`: the algorithms JWTs may be signed with.
   * @default {["EdDSA"]}
   */
  readonly algorithms: readonly JwsAlgorithm[];
  /**
   * `PHAROS_AUTH_JWKS_COOLDOWN_MS`: least time between two fetches of a JWKS URL (or two
   * checks of a JWKS file).
   * @default {30000}
   */
  readonly jwksCooldownMs: number;
  /**
   * `PHAROS_AUTH_JWKS_MAX_AGE_MS`: a JWKS URL's keys are fetched again once this old.
   * @default {600000}
   */
  readonly jwksMaxAgeMs: number;
  /**
   * `PHAROS_AUTH_REVOKED`: file path or http(s) URL of the revoked token ids and subjects,
   * `{"jti": […], "sub": […]}`; only with `jwt` or `static`. In cluster mode an instance
   * without it follows the list another instance shares.
   * @default {""}
   */
  readonly revocationList: string;
  /**
   * `PHAROS_AUTH_REVOKED_INTERVAL_MS`: how long after one fetch of a revocation list URL the
   * next starts (a file is checked every second).
   * @default {2000}
   */
  readonly revocationIntervalMs: number;
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
   * `PHAROS_DEFAULT_VIEWS`: the view patterns of a token without a `views` claim (and of
   * every client with `none`).
   * @default {["*"]}
   */
  readonly defaultViews: readonly string[];
  /**
   * `PHAROS_ALLOWED_ORIGINS`: browser origins that may upgrade; empty allows any.
   * @default {[]}
   */
  readonly allowedOrigins: readonly string[];
  /**
   * `PHAROS_TRUSTED_PROXIES`: peers whose forwarding headers name the client.
   * @default {[]}
   */
  readonly trustedProxies: readonly Cidr[];
}

/** Defaults of the `auth` slice. */
export const AUTH_DEFAULTS: AuthConfig = Object.freeze({
  authMode: "none",
  tokens: Object.freeze([] as string[]),
  issuer: "",
  audience: "",
  publicKeys: "",
  algorithms: Object.freeze(["EdDSA"] as JwsAlgorithm[]),
  jwksCooldownMs: 30_000,
  jwksMaxAgeMs: 600_000,
  revocationList: "",
  revocationIntervalMs: 2_000,
  privateKey: "",
  publishableKeys: "",
  tokenTtlSeconds: 300,
  defaultViews: Object.freeze(["*"]),
  allowedOrigins: Object.freeze([] as string[]),
  trustedProxies: Object.freeze([] as Cidr[]),
});
