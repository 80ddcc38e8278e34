const encoder = new TextEncoder();

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * Creates a check of candidates against a secret token. Both sides are hashed with
 * SHA-256 first, so the comparison always runs over 32 bytes whatever the lengths, and
 * the digests are compared without an early exit: timing says nothing about the token.
 */
export function createTokenCheck(token: string): (candidate: string) => Promise<boolean> {
  let expected: Promise<Uint8Array> | undefined;
  return async (candidate) => {
    expected ??= digest(token);
    const [want, got] = await Promise.all([expected, digest(candidate)]);
    let difference = 0;
    for (let i = 0; i < want.length; i++) difference |= want[i]! ^ got[i]!;
    return difference === 0;
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
