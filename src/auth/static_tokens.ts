import { createTokenCheck } from "../util/mod.ts";
import { AuthError } from "./errors.ts";
import type { Identity } from "./identity.ts";

/** Verifies tokens against a fixed list of shared secrets. */
export interface StaticVerifier {
  /** Resolves the matching token's identity or rejects with an {@link AuthError}. */
  verify(token: string): Promise<Identity>;
}

/**
 * Creates a verifier over a static token list. Every token is compared on every call
 * (each in constant time, with no early exit), so timing reveals neither a token nor
 * which position matched. An empty list refuses everything. The identity's subject is
 * `static:<index>`, never the token: subjects end up in logs.
 */
export function createStaticVerifier(tokens: readonly string[]): StaticVerifier {
  tokens.forEach((token, index) => {
    if (token === "") throw new TypeError(`Cannot use static token ${index}: it is empty`);
  });
  const checks = tokens.map(createTokenCheck);
  return {
    async verify(token) {
      if (token === "") throw new AuthError("token-missing", "No token was provided");
      const results = await Promise.all(checks.map((check) => check(token)));
      let match = -1;
      for (let i = results.length - 1; i >= 0; i--) if (results[i]) match = i;
      if (match < 0) throw new AuthError("invalid-static-token", "Token is not accepted");
      return { subject: `static:${match}`, expiresAt: undefined, limits: {} };
    },
  };
}
