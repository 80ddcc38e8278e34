import { BodyTooLargeError, errorMessage, readBoundedText } from "../util/mod.ts";

/**
 * Reading a document auth keeps current from an http(s) URL or a file: the JWKS
 * (`PHAROS_AUTH_PUBLIC_KEYS`) and the revocation list (`PHAROS_AUTH_REVOKED`). A file is
 * read again only when its fingerprint (modification time, size, inode) changes.
 */

/** A file source is checked for changes at most this often. */
export const FILE_CHECK_MS = 1_000;

/** How long a fetch may take by default, body included. */
export const FETCH_TIMEOUT_MS = 5_000;

/** Where a document comes from. */
export type SourceKind = "url" | "file";

/** How to reach a source; every field has a default for production. */
export interface SourceReaderOptions {
  /** Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** How long a fetch may take, body included. Default {@link FETCH_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Default: `Deno.readTextFile`. */
  readonly readTextFile?: (path: string) => Promise<string>;
  /** Default: `Deno.stat`. */
  readonly stat?: (
    path: string,
  ) => Promise<{ mtime: Date | null; size: number; ino?: number | null }>;
}

/** What {@link openSourceReader} adds for one kind of document. */
export interface SourceLimits {
  /** Largest document accepted, bytes; a larger one is refused unread. Default: no limit. */
  readonly maxBytes?: number;
  /**
   * Fetch a URL conditionally: an answer with an `ETag` is fingerprinted by it, and the next
   * reading sends `If-None-Match`, so an unchanged document costs a `304`. Default false.
   */
  readonly conditional?: boolean;
}

/** A reading: the text, and a fingerprint that changes when the text does. */
export interface SourceReading {
  readonly text: string;
  readonly fingerprint: string;
}

/** Reads one source. */
export interface SourceReader {
  readonly kind: SourceKind;
  /**
   * Reads the source; undefined when `knownFingerprint` (a previous reading's) shows it
   * did not change: a file whose fingerprint is the same, or a conditional fetch's `304`.
   * Throws an `Error` saying why it could not read it.
   */
  read(knownFingerprint: string | undefined): Promise<SourceReading | undefined>;
}

/** Whether `source` names an http(s) URL rather than a file. */
export function isUrlSource(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** A source as logs may show it: a URL without credentials or query, or the path. */
export function loggableSource(source: string): string {
  if (!isUrlSource(source)) return source;
  try {
    const url = new URL(source);
    return `${url.origin}${url.pathname}`;
  } catch {
    return "(a URL)";
  }
}

/** Why a reading failed, in a few words (`timed out`, `HTTP 503`, `file not found`, …). */
export function describeFailure(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return "timed out";
  return errorMessage(error);
}

const ETAG_PREFIX = "etag:";
const encoder = new TextEncoder();

function tooLarge(maxBytes: number): BodyTooLargeError {
  return new BodyTooLargeError(`over ${maxBytes} bytes`);
}

function urlReader(url: string, options: SourceReaderOptions & SourceLimits): SourceReader {
  const doFetch = options.fetch ?? fetch;
  const maxBytes = options.maxBytes ?? Infinity;
  return {
    kind: "url",
    async read(knownFingerprint) {
      const headers: Record<string, string> = { accept: "application/json" };
      if (options.conditional && knownFingerprint?.startsWith(ETAG_PREFIX)) {
        headers["if-none-match"] = knownFingerprint.slice(ETAG_PREFIX.length);
      }
      // The signal covers the body too: a server that stalls mid-body still times out.
      const signal = AbortSignal.timeout(options.timeoutMs ?? FETCH_TIMEOUT_MS);
      const response = await doFetch(url, { signal, headers });
      if (response.status === 304 && headers["if-none-match"] !== undefined) {
        await response.body?.cancel();
        return undefined;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      let text: string;
      try {
        text = Number.isFinite(maxBytes)
          ? await readBoundedText(response, maxBytes)
          : await response.text();
      } catch (error) {
        throw error instanceof BodyTooLargeError ? tooLarge(maxBytes) : error;
      }
      const etag = options.conditional ? response.headers.get("etag") : null;
      return { text, fingerprint: etag === null ? text : `${ETAG_PREFIX}${etag}` };
    },
  };
}

function fileReader(path: string, options: SourceReaderOptions & SourceLimits): SourceReader {
  const read = options.readTextFile ?? ((p: string) => Deno.readTextFile(p));
  const stat = options.stat ?? ((p: string) => Deno.stat(p));
  const maxBytes = options.maxBytes ?? Infinity;
  return {
    kind: "file",
    async read(knownFingerprint) {
      let info;
      try {
        info = await stat(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw new Error("file not found", { cause: error });
        }
        throw error;
      }
      // The inode too: a file renamed over the old one within the same millisecond, at
      // the same size, is still seen as new.
      const fingerprint = `${info.mtime?.getTime() ?? "?"}:${info.size}:${info.ino ?? "?"}`;
      if (fingerprint === knownFingerprint) return undefined;
      if (info.size > maxBytes) throw tooLarge(maxBytes);
      const text = await read(path);
      // It may have grown between the two calls.
      if (text.length > maxBytes / 3 && encoder.encode(text).length > maxBytes) {
        throw tooLarge(maxBytes);
      }
      return { text, fingerprint };
    },
  };
}

/** A reader of `source`: an http(s) URL, or else a file path. */
export function openSourceReader(
  source: string,
  options: SourceReaderOptions & SourceLimits,
): SourceReader {
  return isUrlSource(source) ? urlReader(source, options) : fileReader(source, options);
}
