/** Largest revocation list document read, bytes (8 MiB); a larger one is refused unread. */
export const MAX_REVOCATION_LIST_BYTES = 8 * 1024 * 1024;
/** Most entries in one of the two lists (`jti`, `sub`). */
export const MAX_REVOCATION_ENTRIES = 100_000;
/** Longest entry, in characters: a token id or subject is far shorter. */
export const MAX_REVOCATION_ENTRY_CHARS = 1_024;

/** The two lists of a revocation document. */
export const REVOCATION_KINDS = ["jti", "sub"] as const;
/** Which list an entry is in: token ids (`jti`) or subjects (`sub`). */
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

const encoder = new TextEncoder();

/**
 * The token ids and subjects revoked, as one list in force. Immutable: a new document
 * makes a new list. `version` names its content (the same entries, in any order or with
 * repeats, give the same version), so instances sharing lists can tell them apart.
 */
export class RevocationList {
  readonly #jti: ReadonlySet<string>;
  readonly #sub: ReadonlySet<string>;
  /** SHA-256 of {@link RevocationList.body}, hex; `""` for the empty list nobody read. */
  readonly version: string;

  private constructor(jti: ReadonlySet<string>, sub: ReadonlySet<string>, version: string) {
    this.#jti = jti;
    this.#sub = sub;
    this.version = version;
  }

  /** No token revoked: the list of a server that has read none. */
  static readonly EMPTY: RevocationList = new RevocationList(new Set(), new Set(), "");

  /** The list with `entries`, versioned by their canonical form. */
  static async of(
    entries: { jti: Iterable<string>; sub: Iterable<string> },
  ): Promise<RevocationList> {
    const jti = new Set(entries.jti);
    const sub = new Set(entries.sub);
    const body = canonicalBody(jti, sub);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(body)));
    const version = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
    return new RevocationList(jti, sub, version);
  }

  /** Whether a token with this id (`jti`) or subject (`sub`) is revoked. */
  revokes(tokenId: string | undefined, subject: string | undefined): boolean {
    return (tokenId !== undefined && this.#jti.has(tokenId)) ||
      (subject !== undefined && this.#sub.has(subject));
  }

  /** Entries in each list. */
  get size(): { readonly jti: number; readonly sub: number } {
    return { jti: this.#jti.size, sub: this.#sub.size };
  }

  /**
   * The list as a document {@link parseRevocationList} reads back: each list sorted, without
   * repeats, so equal lists have equal bodies (what cluster mode shares).
   */
  get body(): string {
    return canonicalBody(this.#jti, this.#sub);
  }
}

function canonicalBody(jti: ReadonlySet<string>, sub: ReadonlySet<string>): string {
  return JSON.stringify({ jti: [...jti].sort(), sub: [...sub].sort() });
}

/** The entries of one list, checked. */
function entriesOf(document: Record<string, unknown>, kind: RevocationKind): string[] {
  const value = document[kind];
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new TypeError(`Cannot read the revocation list: "${kind}" is not an array`);
  }
  if (value.length > MAX_REVOCATION_ENTRIES) {
    throw new RangeError(
      `Cannot read the revocation list: "${kind}" has ${value.length} entries, over ${MAX_REVOCATION_ENTRIES}`,
    );
  }
  value.forEach((entry: unknown, index) => {
    if (typeof entry !== "string" || entry === "" || entry.length > MAX_REVOCATION_ENTRY_CHARS) {
      throw new TypeError(
        `Cannot read the revocation list: "${kind}" entry ${index} is not a string of 1 to ${MAX_REVOCATION_ENTRY_CHARS} characters`,
      );
    }
  });
  return value as string[];
}

/**
 * Parses a revocation document, `{"jti": ["…"], "sub": ["…"]}` (both optional), into a
 * list. Refuses, with a `TypeError` or `RangeError` saying why: text that is not a JSON
 * object, a field other than these two (a misspelt `"jtis"` would otherwise revoke
 * nothing), a list that is not an array or has more than {@link MAX_REVOCATION_ENTRIES}
 * entries, and an entry that is not a string of 1 to {@link MAX_REVOCATION_ENTRY_CHARS}
 * characters. The document's size is its reader's to bound ({@link MAX_REVOCATION_LIST_BYTES}).
 */
export async function parseRevocationList(text: string): Promise<RevocationList> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new TypeError("Cannot read the revocation list: not valid JSON", { cause });
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new TypeError("Cannot read the revocation list: not a JSON object");
  }
  const record = document as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) =>
    !(REVOCATION_KINDS as readonly string[]).includes(key)
  );
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 3).map((key) => JSON.stringify(key.slice(0, 40))).join(", ");
    throw new TypeError(
      `Cannot read the revocation list: unknown field ${shown} (only "jti" and "sub")`,
    );
  }
  return await RevocationList.of({ jti: entriesOf(record, "jti"), sub: entriesOf(record, "sub") });
}
