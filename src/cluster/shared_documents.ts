import type { Logger } from "../log/mod.ts";
import { type Clock, errorMessage } from "../util/mod.ts";
import { retryPause } from "./follower.ts";
import type { RedisClient, RedisLink } from "./redis_link.ts";

/**
 * A document every instance holds the same copy of (the token revocation list): one
 * instance publishes it, every instance receives it. The last publication wins.
 */
export interface SharedDocument {
  /**
   * Writes `body` (named by `version`) for every instance and tells them: at once when
   * Redis answers, else as soon as it does again (only the latest is kept meanwhile).
   */
  publish(version: string, body: string): void;
  /**
   * Registers the listener for each version another instance published (or that stands in
   * Redis at start-up and after a reconnect) that this instance does not hold yet.
   */
  onDocument(listener: (version: string, body: string) => void): void;
}

/** Options for {@link createSharedDocuments}. */
export interface SharedDocumentsOptions {
  readonly link: RedisLink;
  /** `PHAROS_REDIS_PREFIX`: documents are shared across stacks, at `{prefix}:{name}`. */
  readonly prefix: string;
  readonly instance: string;
  readonly clock: Clock;
  /** `pharos.cluster`. */
  readonly logger: Logger;
  /** The cluster's lifetime: start-up stops retrying once it is aborted. */
  readonly signal: AbortSignal;
}

/** The shared documents of one instance, over the link's Pub/Sub connection. */
export interface SharedDocuments {
  /** The document `name` (a hash at `{prefix}:{name}`, announced on the channel of that name). */
  share(name: string): SharedDocument;
  /**
   * Subscribes to every document's channel, writes what was published before and reads
   * the rest; retried until it succeeds or the cluster stops. After a reconnect it does so
   * again (a publication made while the connection was down is not lost).
   */
  start(): Promise<void>;
  /** True once start-up has read every document (or there is none). */
  synced(): boolean;
  /** Resolves once no write or read is under way. */
  stop(): Promise<void>;
}

/** One document's key, listeners, and what this instance holds of it. */
class Document implements SharedDocument {
  readonly key: string;
  readonly #listeners: ((version: string, body: string) => void)[] = [];
  /** The version held here: published by this instance or taken from Redis. */
  known: string | undefined;
  /** A publication not yet written (Redis was down, or the write failed). */
  pending: { version: string; body: string } | undefined;
  readonly #onPublish: (document: Document) => void;

  constructor(key: string, onPublish: (document: Document) => void) {
    this.key = key;
    this.#onPublish = onPublish;
  }

  publish(version: string, body: string): void {
    this.known = version;
    this.pending = { version, body };
    this.#onPublish(this);
  }

  onDocument(listener: (version: string, body: string) => void): void {
    this.#listeners.push(listener);
  }

  /** Hands a version read from Redis to the listeners, unless it is the one held. */
  take(version: string, body: string): void {
    if (version === this.known) return;
    this.known = version;
    for (const listener of this.#listeners) listener(version, body);
  }
}

/** Creates the shared documents; nothing connects until `start`. */
export function createSharedDocuments(options: SharedDocumentsOptions): SharedDocuments {
  const { link, logger, instance, signal } = options;
  const documents = new Map<string, Document>();
  const underWay = new Set<Promise<void>>();
  let subscriber: RedisClient | undefined;
  let synced = false;

  function track(work: Promise<void>): void {
    underWay.add(work);
    work.finally(() => underWay.delete(work));
  }

  function ready(): boolean {
    return synced && !signal.aborted && link.connected() && subscriber?.isReady === true;
  }

  /** Writes the document's pending publication and announces its version. */
  async function write(document: Document): Promise<void> {
    const pending = document.pending;
    if (pending === undefined) return;
    await link.commands.multi()
      .hSet(document.key, {
        version: pending.version,
        body: pending.body,
        at: String(options.clock.now()),
        instance,
      })
      .publish(document.key, pending.version)
      .exec();
    if (document.pending === pending) document.pending = undefined;
  }

  /** Reads the document from Redis and hands a version not held here to its listeners. */
  async function read(document: Document): Promise<void> {
    const [version, body] = await link.commands.hmGet(document.key, ["version", "body"]);
    if (typeof version === "string" && typeof body === "string") document.take(version, body);
  }

  /** Brings one document in step: a pending publication is written, else Redis is read. */
  function sync(document: Document): Promise<void> {
    return document.pending === undefined ? read(document) : write(document);
  }

  function warn(what: string, document: Document, error: unknown): void {
    logger.warn("Shared document {key}: {what} failed: {error}", {
      key: document.key,
      what,
      instance,
      error: errorMessage(error),
      code: "cluster-shared-document-failed",
    });
  }

  /** In the background, logged on failure (the next reconnect or publication retries). */
  function syncInBackground(document: Document, what: string): void {
    track(sync(document).catch((error) => warn(what, document, error)));
  }

  return {
    share(name) {
      const key = `${options.prefix}:${name}`;
      let document = documents.get(key);
      if (document === undefined) {
        document = new Document(key, (published) => {
          if (ready()) syncInBackground(published, "publishing");
        });
        documents.set(key, document);
      }
      return document;
    },
    async start() {
      if (documents.size === 0) {
        synced = true;
        return;
      }
      const client = link.subscriber();
      subscriber = client;
      const subscribed = new Set<Document>();
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          if (!client.isOpen) await client.connect();
          for (const document of documents.values()) {
            if (subscribed.has(document)) continue;
            await client.subscribe(document.key, (version) => {
              // Its own publications come back too: `take` ignores the version held.
              if (version !== document.known) syncInBackground(document, "reading");
            });
            subscribed.add(document);
          }
          await Promise.all([...documents.values()].map(sync));
          break;
        } catch (error) {
          logger.debug("Shared documents: start-up failed (attempt {attempt}): {error}", {
            attempt: attempt + 1,
            error: errorMessage(error),
          });
          await retryPause(Math.min(250 * 2 ** attempt, 2_000), signal, options.clock);
        }
      }
      if (signal.aborted) return;
      synced = true;
      // Either connection back: write what waits, read what was missed (node-redis has
      // subscribed again before the subscriber is ready).
      const resync = () => {
        if (signal.aborted) return;
        for (const document of documents.values()) syncInBackground(document, "reconnecting");
      };
      client.on("ready", resync);
      link.commands.on("ready", resync);
    },
    synced: () => synced,
    async stop() {
      while (underWay.size > 0) await Promise.all([...underWay]);
    },
  };
}
