import type { JwsAlgorithm } from "../config/mod.ts";
import type { Clock } from "../util/mod.ts";
import { candidatesFor, KeyImports, type KeySet, toKeySet } from "./jwks.ts";
import {
  describeFailure,
  FILE_CHECK_MS,
  openSourceReader,
  type SourceReaderOptions,
} from "./_source_reader.ts";

/** What made the key store read its source again. */
export type KeyRefreshTrigger = "unknown-kid" | "max-age" | "file-changed";
/** How a reading of the source went. */
export type KeyRefreshOutcome = "updated" | "unchanged" | "failed";

/** One reading of the key source after start-up, as reported to the caller. */
export interface KeyRefresh {
  readonly trigger: KeyRefreshTrigger;
  readonly outcome: KeyRefreshOutcome;
  /** Keys in the set in force afterwards (the old set when the reading failed). */
  readonly keys: number;
  readonly error?: Error;
}

/** Options for {@link openKeyStore}; the `fetch`, `stat`, … seams are the source reader's. */
export interface KeyStoreOptions extends SourceReaderOptions {
  /** `PHAROS_AUTH_PUBLIC_KEYS`: an http(s) URL or a file path. */
  readonly source: string;
  readonly algorithms: readonly JwsAlgorithm[];
  readonly clock: Clock;
  /** Least time between two fetches of a URL (and two checks of a file, at most 1 s). */
  readonly cooldownMs: number;
  /** A URL's set is fetched again before use once this old. */
  readonly maxAgeMs: number;
  /** Keys trusted besides the source's (the token endpoint's own public key). */
  readonly extraKeys?: readonly JsonWebKey[];
  /** Each reading after the first: for logs and metrics. */
  readonly onRefresh?: (refresh: KeyRefresh) => void;
}

/** The verification keys of a JWKS, kept current as its source changes. */
export interface KeyStore {
  /**
   * The keys that may have signed a token with this `alg` and `kid`, after reading the
   * source again if the set is too old, the file changed, or the `kid` is unknown (each
   * at most once per cooldown). Empty when no key fits.
   */
  candidates(alg: JwsAlgorithm, kid: string | undefined): Promise<CryptoKey[]>;
  /** Keys in force, and when the set in force was read (the clock's `now`). */
  status(): { readonly keys: number; readonly loadedAt: number; readonly source: "url" | "file" };
}

/**
 * Reads the key set from `options.source` (an http(s) URL or a file) and keeps it current:
 * a URL is fetched again when a token names a `kid` the set lacks and once the set is
 * `maxAgeMs` old, never more than once per `cooldownMs`; a file is read again when its
 * modification time or size changes (checked at most once a second). A failed reading
 * keeps the set in force and is reported through `onRefresh`; it never throws. The first
 * reading, at start-up, throws an `Error` naming the source when it fails.
 */
export async function openKeyStore(options: KeyStoreOptions): Promise<KeyStore> {
  const { source, algorithms, clock } = options;
  const reader = openSourceReader(source, options);
  const imports = new KeyImports();
  const extra = options.extraKeys ?? [];

  /** Parses and imports a reading; throws a `TypeError` saying what is wrong with it. */
  async function toCheckedSet(text: string): Promise<KeySet> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new TypeError("not valid JSON", { cause });
    }
    const listed = (json as { keys?: unknown })?.keys;
    const set = toKeySet(
      Array.isArray(listed) && extra.length > 0 ? { keys: [...listed, ...extra] } : json,
      algorithms,
    );
    for (const key of set.keys) {
      try {
        await imports.get(key, key.algorithms[0]!);
      } catch (cause) {
        const name = key.kid === undefined ? "a key" : `key "${key.kid}"`;
        throw new TypeError(`${name} is not a valid ${key.jwk.kty} public key`, { cause });
      }
    }
    return set;
  }

  let set: KeySet;
  let fingerprint: string;
  try {
    const first = (await reader.read(undefined))!;
    set = await toCheckedSet(first.text);
    fingerprint = first.fingerprint;
  } catch (cause) {
    throw new Error(`Cannot load auth keys from ${source}: ${describeFailure(cause)}`, { cause });
  }
  let loadedAt = clock.now();
  let lastAttemptAt = clock.monotonic();
  let reading: Promise<void> | undefined;

  /** Reads the source again (one reading at a time), unless one was tried within `gapMs`. */
  function refresh(trigger: KeyRefreshTrigger, gapMs: number): Promise<void> {
    if (reading !== undefined) return reading;
    if (clock.monotonic() - lastAttemptAt < gapMs) return Promise.resolve();
    lastAttemptAt = clock.monotonic();
    reading = (async () => {
      try {
        const fresh = await reader.read(reader.kind === "file" ? fingerprint : undefined);
        if (fresh === undefined) return; // the file did not change: nothing to report
        const unchanged = fresh.fingerprint === fingerprint;
        if (!unchanged) set = await toCheckedSet(fresh.text);
        fingerprint = fresh.fingerprint;
        loadedAt = clock.now();
        const outcome = unchanged ? "unchanged" : "updated";
        options.onRefresh?.({
          trigger: reader.kind === "file" ? "file-changed" : trigger,
          outcome,
          keys: set.keys.length,
        });
      } catch (error) {
        options.onRefresh?.({
          trigger,
          outcome: "failed",
          keys: set.keys.length,
          error: new Error(`Cannot load auth keys from ${source}: ${describeFailure(error)}`, {
            cause: error,
          }),
        });
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  }

  return {
    async candidates(alg, kid) {
      if (reader.kind === "file") {
        await refresh("file-changed", Math.min(options.cooldownMs, FILE_CHECK_MS));
      } else if (clock.now() - loadedAt >= options.maxAgeMs) {
        await refresh("max-age", options.cooldownMs);
      }
      if (kid !== undefined && !set.kids.has(kid)) await refresh("unknown-kid", options.cooldownMs);
      return await Promise.all(candidatesFor(set, alg, kid).map((key) => imports.get(key, alg)));
    },
    status: () => ({ keys: set.keys.length, loadedAt, source: reader.kind }),
  };
}
