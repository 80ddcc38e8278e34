import { createClient } from "redis";
import type { Logger } from "../log/mod.ts";
import { errorMessage } from "../util/mod.ts";

/** A node-redis client as the cluster configures it. */
export type RedisClient = ReturnType<typeof newClient>;

/** Reconnect delay after `retries` failed attempts: 50 ms doubling, at most 1 s. */
function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** retries, 1_000);
}

function newClient(url: string) {
  return createClient({
    url,
    // Commands fail at once while the connection is down: ingest answers 503, the consumer
    // retries, nothing waits in a queue of unknown length.
    disableOfflineQueue: true,
    socket: { reconnectStrategy: reconnectDelay, connectTimeout: 2_000 },
  });
}

/**
 * Connections to one Redis: commands, a reader for blocking `XREAD`s, and (made on first
 * use) a subscriber for the channels of shared documents.
 */
export interface RedisLink {
  readonly commands: RedisClient;
  /** The blocking reader; replaced by {@link RedisLink.replaceReader}. */
  reader(): RedisClient;
  /**
   * The Pub/Sub connection (a connection that subscribes can run nothing else), made on
   * first call and not connected: its user connects it. Closed with the link.
   */
  subscriber(): RedisClient;
  /** True while the command connection is open (probes decide whether Redis answers). */
  connected(): boolean;
  /** Runs a Lua script by its SHA, loading it first (and again after a Redis restart). */
  run(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** Drops the reader and opens a new one: a consumer that stopped receiving. */
  replaceReader(): Promise<void>;
  /** Connects both; rejects when Redis cannot be reached at all. */
  open(): Promise<void>;
  close(): Promise<void>;
}

/** The URL without its password, for logs. */
export function loggableRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.href;
  } catch {
    return "redis://?";
  }
}

/** Opens the link lazily; connection errors are logged once per outage, never thrown. */
export function createRedisLink(url: string, log: Logger): RedisLink {
  const make = (role: string) => {
    const client = newClient(url);
    let failing = false;
    client.on("error", (error: unknown) => {
      if (failing) return;
      failing = true;
      log.warn("Redis connection ({role}) failed: {error}", {
        role,
        url: loggableRedisUrl(url),
        error: errorMessage(error),
        code: "redis-connection-failed",
      });
    });
    client.on("ready", () => {
      if (!failing) return;
      failing = false;
      log.info("Redis connection ({role}) restored", { role, url: loggableRedisUrl(url) });
    });
    return client;
  };
  const commands = make("commands");
  let reader = make("reader");
  let subscriber: RedisClient | undefined;
  const shas = new Map<string, string>();

  async function run(script: string, keys: readonly string[], args: readonly string[]) {
    let sha = shas.get(script);
    if (sha === undefined) {
      sha = await commands.scriptLoad(script);
      shas.set(script, sha);
    }
    try {
      return await commands.evalSha(sha, { keys: [...keys], arguments: [...args] });
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      shas.delete(script);
      return await run(script, keys, args);
    }
  }

  return {
    commands,
    reader: () => reader,
    subscriber: () => subscriber ??= make("subscriber"),
    connected: () => commands.isReady,
    run,
    async replaceReader() {
      const old = reader;
      reader = make("reader");
      old.destroy();
      await reader.connect();
    },
    async open() {
      await Promise.all([commands.connect(), reader.connect()]);
    },
    close() {
      for (const client of [commands, reader, ...(subscriber === undefined ? [] : [subscriber])]) {
        try {
          client.destroy();
        } catch {
          // already closed
        }
      }
      return Promise.resolve();
    },
  };
}
