const encoder = new TextEncoder();

/** The SHA-256 digest of a token: what {@link sameDigest} compares. */
export async function tokenDigest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** Whether two digests are equal, compared without an early exit. */
export function sameDigest(want: Uint8Array, got: Uint8Array): boolean {
  let difference = want.length ^ got.length;
  for (let i = 0; i < want.length; i++) difference |= want[i]! ^ (got[i] ?? 0);
  return difference === 0;
}

/**
 * Creates a check of candidates against a secret token. Both sides are hashed with
 * SHA-256 first, so the comparison always runs over 32 bytes whatever the lengths, and
 * the digests are compared without an early exit: timing says nothing about the token.
 */
export function createTokenCheck(token: string): (candidate: string) => Promise<boolean> {
  let expected: Promise<Uint8Array> | undefined;
  return async (candidate) => {
    expected ??= tokenDigest(token);
    const [want, got] = await Promise.all([expected, tokenDigest(candidate)]);
    return sameDigest(want, got);
  };
}

/**
 * The token of an `Authorization: Bearer <token>` value: undefined when the value is not
 * a Bearer credential, "" when the token is empty.
 */
export function bearerToken(header: string): string | undefined {
  const match = /^Bearer[ \t]+(\S*)[ \t]*$/i.exec(header);
  return match === null ? undefined : match[1];
}
