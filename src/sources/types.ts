import type { PharosEvent } from "../stack/mod.ts";

/** Delivers one event; resolves once it has been processed (the source's backpressure). */
export type EventSink = (event: PharosEvent) => Promise<void>;

/** Stream status a source reports, mirrored into its health monitor. */
export type SourceStatus = "connected" | "disconnected" | "reconnecting" | "error";

/** What an append to a cluster log came to (see {@link SourceContext.append}). */
export type AppendOutcome = "appended" | "full" | "unavailable";

/** What a running source is given. */
export interface SourceContext {
  /** Delivers one event, waiting while the pipeline is full; resolves once processed. */
  readonly sink: EventSink;
  /**
   * Queues all `events` if the pipeline has room for all of them now, else none, and
   * never waits: for sources that must answer their producer at once (ingest).
   */
  readonly offer: (events: readonly PharosEvent[]) => boolean;
  /**
   * Cluster mode only: appends all `events` to the shared log, resolving once they are in it
   * (`appended`), or refused whole: `full` while this instance is far behind the log,
   * `unavailable` while Redis is. Sources that answer producers use it instead of `offer`.
   */
  readonly append?: (events: readonly PharosEvent[]) => Promise<AppendOutcome>;
  /** The most events the pipeline holds: an offer of more can never succeed. */
  readonly capacity: number;
  /**
   * Cluster mode: the cursor (`_seq`) of the last event of this source in the shared log,
   * when the source takes over from another instance. Sources that can resume (upstream,
   * replay) go on after it instead of their own cursor.
   */
  readonly resumeFrom?: string;
  /** Status changes; `message` says what went wrong with `error` (and why for others). */
  readonly onStatus: (status: SourceStatus, message?: string) => void;
}

/**
 * An upstream adapter: the demo generator, ingest, an upstream feed, a replay. Every
 * source passes `tests/contract/source_contract.ts`.
 */
export interface Source {
  /** Instance name, unique per server (`demo`, `upstream`, …). */
  readonly name: string;
  /** Adapter kind. */
  readonly kind: string;
  /**
   * What the source reads, for logs and `/status`: the upstream URL (credentials and
   * query values removed), the replay file, the ingest path, the demo's rate.
   */
  readonly stream: string;
  /** Begins delivering events; resolves once running (not when the stream ends). */
  start(context: SourceContext): Promise<void>;
  /** Stops delivering; resolves when no further event will reach the sink. */
  stop(): Promise<void>;
  /**
   * An HTTP path the source answers itself (ingest's `/ingest`): every request on it, any
   * method and WebSocket upgrades, goes to its `handle`.
   */
  readonly endpoint?: SourceEndpoint;
  /**
   * The position after the last event delivered (`_seq`), for sources that can resume:
   * started again with it, they deliver nothing at or before it and lose nothing after.
   */
  cursor?(): string | undefined;
}

/** A path a source answers on the server's listener. */
export interface SourceEndpoint {
  readonly path: string;
  /** Answers one request; `peer` is `host:port` (the client's, behind trusted proxies). */
  handle(request: Request, peer: string): Promise<Response>;
}

/** The socket side a source sees after a WebSocket upgrade (same shape as the ws component's). */
export interface SocketTransport {
  send(data: string | Uint8Array): void;
  close(code: number, reason: string): void;
  readonly bufferedAmount: number;
}

/** Events of an upgraded socket. */
export interface SocketEvents {
  onOpen(transport: SocketTransport): void;
  onMessage(data: string | ArrayBuffer): void;
  onClose(code: number, reason: string): void;
  onError(error: unknown): void;
}

/**
 * Upgrades a request to a WebSocket and returns the 101 response. The app passes the ws
 * component's `upgradeToSocket`, the one adapter over `Deno.upgradeWebSocket`.
 */
export type SocketUpgrader = (request: Request, events: SocketEvents) => Response;
