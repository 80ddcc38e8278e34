/**
 * Per-client limits a token may carry (the JWT `limits` claim, docs/protocol.md §8). A field
 * a token sets replaces the server's limit for its holder, up or down: the token's issuer is
 * trusted to grant more as well as less. An absent field means the server's limit.
 */
export interface TokenLimits {
  readonly maxConnections?: number;
  readonly maxSubscriptions?: number;
  readonly maxSnapshotRows?: number;
  readonly maxMessagesPerMinute?: number;
  readonly maxBytesPerMinute?: number;
}

/** The claim's snake_case keys and the {@link TokenLimits} field each one fills. */
export const LIMIT_CLAIM_KEYS = Object.freeze(
  [
    ["max_connections", "maxConnections"],
    ["max_subscriptions", "maxSubscriptions"],
    ["max_snapshot_rows", "maxSnapshotRows"],
    ["max_messages_per_minute", "maxMessagesPerMinute"],
    ["max_bytes_per_minute", "maxBytesPerMinute"],
  ] as const,
);

/** The `limits` claim for `limits`, as minted tokens carry it. */
export function toLimitsClaim(limits: TokenLimits): Record<string, number> {
  const claim: Record<string, number> = {};
  for (const [wire, field] of LIMIT_CLAIM_KEYS) {
    const value = limits[field];
    if (value !== undefined) claim[wire] = value;
  }
  return claim;
}
