import { createTokenCheck } from "../util/mod.ts";
import { AuthError } from "./errors.ts";
import { type Identity, parseViewsClaim } from "./identity.ts";

/** Verifies tokens against a fixed list of shared secrets. */
export interface StaticVerifier {
  /** Resolves the matching token's identity or rejects with an {@link AuthError}. */
  verify(token: string): Promise<Identity>;
}

/** One `PHAROS_AUTH_TOKENS` entry: the secret, and what its holder is granted. */
interface StaticToken {
  readonly secret: string;
  readonly identity: Identity;
}

const SUBJECT = /^[A-Za-z0-9_.:@-]{1,128}$/;

/**
 * Reads one entry: `SECRET`, optionally followed by `;views=P1|P2` (the view patterns it
 * grants, as a JWT's `views` claim) and `;sub=NAME` (its subject, which row rules compare
 * as the `sub` claim; default `static:<index>`). Throws a `TypeError` that names the entry
 * by its index, never by its secret.
 */
function parseEntry(entry: string, index: number): StaticToken {
  const [secret = "", ...parameters] = entry.split(";");
  const at = `static token ${index}`;
  if (secret === "") throw new TypeError(`Cannot use ${at}: it is empty`);
  let subject = `static:${index}`;
  let views: Identity["views"];
  for (const parameter of parameters) {
    const eq = parameter.indexOf("=");
    const name = eq < 0 ? parameter : parameter.slice(0, eq);
    const value = eq < 0 ? "" : parameter.slice(eq + 1);
    if (name === "views") {
      try {
        views = parseViewsClaim(value === "" ? [] : value.split("|"));
      } catch (error) {
        throw new TypeError(`Cannot use ${at}: ${(error as Error).message}`);
      }
    } else if (name === "sub" && SUBJECT.test(value)) subject = value;
    else {
      throw new TypeError(
        `Cannot use ${at}: expected ;views=PATTERN|PATTERN or ;sub=NAME (${SUBJECT}) after the token`,
      );
    }
  }
  const identity: Identity = {
    subject,
    expiresAt: undefined,
    limits: {},
    ...(views === undefined ? {} : { views }),
    claims: Object.freeze({ sub: subject }),
  };
  return { secret, identity: Object.freeze(identity) };
}

/**
 * Creates a verifier over a static token list (entries as {@link parseEntry} reads them).
 * Every token is compared on every call (each in constant time, with no early exit), so
 * timing reveals neither a token nor which position matched. An empty list refuses
 * everything. The identity's subject is `static:<index>` unless the entry names one, never
 * the token: subjects end up in logs.
 */
export function createStaticVerifier(entries: readonly string[]): StaticVerifier {
  const tokens = entries.map(parseEntry);
  const checks = tokens.map((token) => createTokenCheck(token.secret));
  return {
    async verify(token) {
      if (token === "") throw new AuthError("token-missing", "No token was provided");
      const results = await Promise.all(checks.map((check) => check(token)));
      let match = -1;
      for (let i = results.length - 1; i >= 0; i--) if (results[i]) match = i;
      if (match < 0) throw new AuthError("invalid-static-token", "Token is not accepted");
      return tokens[match]!.identity;
    },
  };
}
