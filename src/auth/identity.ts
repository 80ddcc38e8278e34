import { LIMIT_CLAIM_KEYS, type TokenLimits } from "../protocol/mod.ts";
import { ViewGrant } from "../util/mod.ts";
import { AuthError } from "./errors.ts";

/** Who a verified token speaks for. */
export interface Identity {
  /** The JWT `sub`, `static:<index>` for static tokens, or undefined when the JWT has none. */
  readonly subject: string | undefined;
  /** Unix seconds after which the token is no longer valid; undefined for static tokens. */
  readonly expiresAt: number | undefined;
  readonly limits: TokenLimits;
  /** The JWT `jti`, what a revocation list names the token by; undefined without one. */
  readonly tokenId?: string;
  /** The `origin` claim, when the token is bound to one. */
  readonly origin?: string;
  /** The views the token grants (its `views` claim); absent: the server's default grant. */
  readonly views?: ViewGrant;
  /** The token's claims, which row rules compare rows against (a JWT's whole payload). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * Parses a `views` claim (or a static token's `views=`): `undefined` means none, so the
 * default grant applies. A claim that is not a list of valid patterns is refused, since
 * ignoring it would grant the default, perhaps more than the issuer meant.
 */
export function parseViewsClaim(value: unknown): ViewGrant | undefined {
  if (value === undefined) return undefined;
  const grant = ViewGrant.parse(value);
  if (grant instanceof ViewGrant) return grant;
  throw new AuthError(
    "token-invalid-format",
    `Cannot parse token: claim "views": ${grant.problems.slice(0, 3).join("; ")}`,
  );
}

/**
 * Parses the JWT `limits` claim. `undefined` means no limits. Unknown keys are ignored so
 * issuers can add limits before every server knows them; a known key with anything but a
 * non-negative safe integer is refused, since silently dropping it would lift the limit.
 */
export function parseLimitsClaim(value: unknown): TokenLimits {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AuthError(
      "token-invalid-format",
      'Cannot parse token: claim "limits" is not an object',
    );
  }
  const record = value as Record<string, unknown>;
  const limits: Record<string, number> = {};
  for (const [wire, field] of LIMIT_CLAIM_KEYS) {
    if (!Object.hasOwn(record, wire)) continue;
    const n = record[wire];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
      throw new AuthError(
        "token-invalid-format",
        `Cannot parse token: limit "${wire}" must be a non-negative integer`,
      );
    }
    limits[field] = n;
  }
  return limits;
}
