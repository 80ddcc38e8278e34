const ALPHABET = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes unpadded base64url strictly: JWS (RFC 7515 §2) forbids padding, and a stray
 * `+`, `/`, `=` or whitespace means the token was mangled, so it is refused rather than
 * repaired. Returns undefined for anything that is not canonical base64url.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return undefined;
  const base64 = text.replaceAll("-", "+").replaceAll("_", "/");
  let binary: string;
  try {
    binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  } catch {
    return undefined; // atob rejects non-canonical trailing bits
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Encodes bytes as unpadded base64url. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
