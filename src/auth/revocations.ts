import type { Clock } from "../util/mod.ts";
import {
  describeFailure,
  FILE_CHECK_MS,
  loggableSource,
  openSourceReader,
  type SourceKind,
  type SourceReader,
  type SourceReaderOptions,
} from "./_source_reader.ts";
import {
  MAX_REVOCATION_LIST_BYTES,
  parseRevocationList,
  RevocationList,
} from "./revocation_list.ts";

/**
 * How a reading of the revocation list went: its source's content changed (`updated`) or
 * not (`unchanged`), it failed (the list in force stays), or another instance's list
 * arrived through cluster mode's Redis (`shared`).
 */
export type RevocationOutcome = "updated" | "unchanged" | "failed" | "shared";

/** One reading after start-up, as reported to the caller (for logs and metrics). */
export interface RevocationRefresh {
  readonly outcome: RevocationOutcome;
  /** The list in force afterwards (the old one when the reading failed). */
  readonly list: RevocationList;
  /** With `failed`: why, naming the source. */
  readonly error?: Error;
  /** With `failed`: how many readings in a row have failed, this one included. */
  readonly failures?: number;
  /** After failures: how many readings in a row had failed before this one worked. */
  readonly recoveredFrom?: number;
}

/**
 * Where lists are shared with other instances (cluster mode: a Redis key and channel). What
 * this instance's source reads is published; what another instance published arrives at
 * the listener (this instance's own publications too, which change nothing).
 */
export interface RevocationShare {
  /** Hands `body` (a list's canonical document, named by `version`) to every instance. */
  publish(version: string, body: string): void;
  /** Registers the listener for lists published by any instance. */
  onDocument(listener: (version: string, body: string) => void): void;
}

/** What cluster mode shares the list as: the hash `{prefix}:auth:revoked` and its channel. */
export const SHARED_REVOCATION_LIST = "auth:revoked";

/** Options for {@link openRevocations}; the `fetch`, `stat`, … seams are the source reader's. */
export interface RevocationsOptions extends SourceReaderOptions {
  /**
   * `PHAROS_AUTH_REVOKED`: an http(s) URL or a file path; `""` for none (an instance that
   * only follows the list cluster mode shares).
   */
  readonly source: string;
  /** `PHAROS_AUTH_REVOKED_INTERVAL_MS`: how long after a fetch of a URL the next one starts. */
  readonly intervalMs: number;
  readonly clock: Clock;
  /** Each reading after the first, and each shared list: for logs and metrics. */
  readonly onRefresh?: (refresh: RevocationRefresh) => void;
}

/** `/status`'s `auth.revoked`: the list in force, where it came from, and how fresh it is. */
export interface RevocationStatus {
  /** Its own source, or `cluster` for an instance that only follows the shared list. */
  readonly source: SourceKind | "cluster";
  readonly jti: number;
  readonly sub: number;
  /** The list's version (SHA-256 of its canonical form), or null before any. */
  readonly version: string | null;
  /**
   * Seconds since the source was last read (or found unchanged) successfully; for a
   * follower, since the shared list was taken.
   */
  readonly age_seconds: number;
}

/** The revocation list in force, kept current from its source and shared in cluster mode. */
export interface Revocations {
  /** The list in force. */
  list(): RevocationList;
  /** Whether a token with this id (`jti`) or subject is revoked by the list in force. */
  revokes(tokenId: string | undefined, subject: string | undefined): boolean;
  /** Calls `listener` with each new list put in force (not for readings that change nothing). */
  onChange(listener: (list: RevocationList) => void): void;
  /**
   * Shares lists through `share`: this instance's own list at once and whenever its source
   * changes; a list another instance shares is put in force.
   */
  shareThrough(share: RevocationShare): void;
  /** Starts watching the source: a file every second, a URL every `intervalMs`. */
  start(): void;
  /** Stops watching; resolves once no reading is under way. */
  stop(): Promise<void>;
  /** `/status`'s `auth.revoked`; undefined with neither a source nor a share. */
  status(): RevocationStatus | undefined;
}

/** The reading of the source at start-up, or of nothing. */
interface FirstReading {
  readonly reader: SourceReader | undefined;
  readonly list: RevocationList;
  readonly fingerprint: string | undefined;
}

/** Reads the source once: what start-up does before it serves. */
async function readFirst(options: RevocationsOptions): Promise<FirstReading> {
  if (options.source === "") {
    return { reader: undefined, list: RevocationList.EMPTY, fingerprint: undefined };
  }
  const reader = openRevocationReader(options);
  try {
    const first = (await reader.read(undefined))!;
    return { reader, list: await parseRevocationList(first.text), fingerprint: first.fingerprint };
  } catch (cause) {
    throw cannotRead(options.source, cause);
  }
}

function openRevocationReader(options: RevocationsOptions): SourceReader {
  return openSourceReader(options.source, {
    ...options,
    maxBytes: MAX_REVOCATION_LIST_BYTES,
    conditional: true,
  });
}

function cannotRead(source: string, cause: unknown): Error {
  return new Error(
    `Cannot read the revocation list from ${loggableSource(source)}: ${describeFailure(cause)}`,
    { cause },
  );
}

/**
 * Reads the revocation list from `options.source` and keeps it current: a file is read
 * again when its modification time, size or inode changes (checked every second), a URL
 * fetched every `intervalMs` (conditionally, when it answers with an `ETag`). A reading
 * that fails (unreachable, an HTTP error, a timeout after 5 s, over 8 MiB, malformed) keeps
 * the list in force and is reported through `onRefresh`; it never throws. The first reading
 * throws an `Error` naming the source when it fails: start-up stops rather than serve
 * tokens it was told are revoked. Without a source the list is empty until a shared one
 * arrives. Watching starts with `start`.
 */
export async function openRevocations(options: RevocationsOptions): Promise<Revocations> {
  return new RevocationWatcher(options, await readFirst(options));
}

/** What {@link openRevocations} builds: the list in force, its source's watch, its share. */
class RevocationWatcher implements Revocations {
  readonly #o: RevocationsOptions;
  readonly #reader: SourceReader | undefined;
  readonly #listeners: ((list: RevocationList) => void)[] = [];
  /** Readings and shared lists being parsed: waited for on stop. */
  readonly #underWay = new Set<Promise<void>>();
  #list: RevocationList;
  /** The version the source last gave: only a change of it is news to share. */
  #sourceVersion: string;
  /** The fingerprint of the source's last good document. */
  #fingerprint: string | undefined;
  /** The fingerprint of a document refused since (malformed, over a limit), and why. */
  #rejected: { readonly fingerprint: string; readonly error: Error } | undefined;
  /** When the source was last read or found unchanged, or a shared list taken (clock `now`). */
  #freshAt: number;
  #failures = 0;
  #share: RevocationShare | undefined;
  #timer: Disposable | undefined;
  #started = false;
  #stopped = false;

  constructor(options: RevocationsOptions, first: FirstReading) {
    this.#o = options;
    this.#reader = first.reader;
    this.#list = first.list;
    this.#sourceVersion = first.list.version;
    this.#fingerprint = first.fingerprint;
    this.#freshAt = options.clock.now();
  }

  list(): RevocationList {
    return this.#list;
  }

  revokes(tokenId: string | undefined, subject: string | undefined): boolean {
    return this.#list.revokes(tokenId, subject);
  }

  onChange(listener: (list: RevocationList) => void): void {
    this.#listeners.push(listener);
  }

  shareThrough(share: RevocationShare): void {
    this.#share = share;
    share.onDocument((version, body) => this.#track(this.#take(version, body)));
    // What this instance's source says is the news at start-up: the others take it.
    if (this.#reader !== undefined) share.publish(this.#list.version, this.#list.body);
  }

  start(): void {
    if (this.#reader === undefined || this.#started || this.#stopped) return;
    this.#started = true;
    this.#arm();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.[Symbol.dispose]();
    this.#timer = undefined;
    while (this.#underWay.size > 0) await Promise.all([...this.#underWay]);
  }

  status(): RevocationStatus | undefined {
    const source = this.#reader?.kind ?? (this.#share === undefined ? undefined : "cluster");
    if (source === undefined) return undefined;
    const ageMs = this.#o.clock.now() - this.#freshAt;
    return {
      source,
      ...this.#list.size,
      version: this.#list.version === "" ? null : this.#list.version,
      age_seconds: Math.max(0, Math.round(ageMs / 1000)),
    };
  }

  /** The next check of the source, once the previous one is over (they never overlap). */
  #arm(): void {
    if (this.#stopped) return;
    const waitMs = this.#reader!.kind === "file" ? FILE_CHECK_MS : this.#o.intervalMs;
    this.#timer = this.#o.clock.setTimer(waitMs, () => {
      this.#timer = undefined;
      this.#track(this.#check().finally(() => this.#arm()));
    });
  }

  #track(work: Promise<void>): void {
    this.#underWay.add(work);
    work.finally(() => this.#underWay.delete(work));
  }

  /**
   * Reads the source again; reports how it went and never throws. A document that was
   * refused is not read again until it changes, but each check that finds it still there
   * is a failure: the list in force is not what the source says.
   */
  async #check(): Promise<void> {
    const reader = this.#reader!;
    try {
      const known = this.#rejected?.fingerprint ?? this.#fingerprint;
      const fresh = await reader.read(known);
      if (fresh === undefined || fresh.fingerprint === known) {
        if (this.#rejected !== undefined) {
          this.#failures++;
          return this.#failed(this.#rejected.error, this.#failures);
        }
        if (this.#failures > 0) return this.#succeeded("unchanged");
        this.#freshAt = this.#o.clock.now();
        // An unchanged file is no news (it is checked every second); a fetch is a reading.
        if (reader.kind === "url") this.#report("unchanged", 0);
        return;
      }
      this.#rejected = undefined;
      if (fresh.fingerprint === this.#fingerprint) return this.#succeeded("unchanged");
      let list: RevocationList;
      try {
        list = await parseRevocationList(fresh.text);
      } catch (error) {
        const refused = cannotRead(this.#o.source, error);
        this.#rejected = { fingerprint: fresh.fingerprint, error: refused };
        throw refused;
      }
      this.#fingerprint = fresh.fingerprint;
      if (list.version === this.#sourceVersion) return this.#succeeded("unchanged");
      this.#sourceVersion = list.version;
      this.#putInForce(list);
      this.#succeeded("updated");
      this.#share?.publish(list.version, list.body);
    } catch (error) {
      this.#failures++;
      const refused = this.#rejected?.error;
      this.#failed(
        refused !== undefined && error === refused ? refused : cannotRead(this.#o.source, error),
        this.#failures,
      );
    }
  }

  /** A reading that worked, ending any run of failures. */
  #succeeded(outcome: "updated" | "unchanged"): void {
    this.#freshAt = this.#o.clock.now();
    const recoveredFrom = this.#failures;
    this.#failures = 0;
    this.#report(outcome, recoveredFrom);
  }

  /** Takes a list another instance shared, unless it is the one in force. */
  async #take(version: string, body: string): Promise<void> {
    if (version === this.#list.version) return;
    try {
      const list = await parseRevocationList(body);
      if (list.version === this.#list.version) return;
      if (this.#reader === undefined) this.#freshAt = this.#o.clock.now();
      this.#putInForce(list);
      this.#report("shared", 0);
    } catch (error) {
      const reason = describeFailure(error);
      this.#failed(
        new Error(`Cannot take the revocation list shared through Redis: ${reason}`, {
          cause: error,
        }),
        1,
      );
    }
  }

  #putInForce(list: RevocationList): void {
    this.#list = list;
    for (const listener of this.#listeners) listener(list);
  }

  #report(outcome: Exclude<RevocationOutcome, "failed">, recoveredFrom: number): void {
    this.#o.onRefresh?.({
      outcome,
      list: this.#list,
      ...(recoveredFrom > 0 ? { recoveredFrom } : {}),
    });
  }

  #failed(error: Error, failures: number): void {
    this.#o.onRefresh?.({ outcome: "failed", list: this.#list, error, failures });
  }
}
