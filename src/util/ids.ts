/** Identifier source, injected so tests can use predictable ids. */
export interface Ids {
  /** A new unique id (UUID v4 by default). */
  next(): string;
}

/** Random UUIDs from WebCrypto. */
export const randomIds: Ids = Object.freeze({ next: () => crypto.randomUUID() });
