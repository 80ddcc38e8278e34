import type { Logger } from "../../log/mod.ts";
import { isSeq } from "../../stack/mod.ts";
import { type Clock, errorMessage } from "../../util/mod.ts";
import type { Source, SourceContext, SourceStatus } from "../types.ts";
import { type Backoff, createBackoff } from "./backoff.ts";
import { UpstreamConnection } from "./_connection.ts";
import { EventDelivery } from "./_delivery.ts";
import { parseUpstreamUrl, toHandshakeHeaders } from "./_handshake.ts";
import { Runs } from "./_runs.ts";
import { parseSubscribe, toSubscribeMessage } from "./_subscribe.ts";

/** Options for {@link createUpstreamSource}. */
export interface UpstreamSourceOptions {
  /** `ws://` or `wss://` URL of the upstream feed. */
  readonly url: string;
  /** Instance name; default `upstream`. */
  readonly name?: string;
  /** Sent as `Authorization: Bearer <token>` (replacing any Authorization in `headers`); never logged. */
  readonly token?: string;
  /** Extra handshake headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * A JSON object text sent on every (re)connect. Every string value exactly `"{{cursor}}"`,
   * at any depth, becomes the last delivered cursor; before the first event the field (or
   * array element) is left out. Default: nothing is sent.
   */
  readonly subscribe?: string;
  /** Cursor to resume from on the first connect (a `_seq`); default none. */
  readonly resumeFrom?: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Uniform in [0, 1), for backoff jitter; default `Math.random`. */
  readonly random?: () => number;
  /** A session open at least this long resets the backoff to its first step; default 10 000 ms. */
  readonly healthyAfterMs?: number;
  /** Reconnect delays: `initialMs` (default 100) doubling up to `maxMs` (default 60 000), ±20 %. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /**
   * Events received but not yet delivered, at most; default 10 000. Beyond it the source
   * drops them, closes with 4008 and resumes from its cursor instead of growing memory.
   * A single message is always taken whole when nothing is waiting.
   */
  readonly maxQueuedEvents?: number;
  /** How long `stop()` waits for the closing handshake; default 2 000 ms. */
  readonly closeTimeoutMs?: number;
  /** Opens the socket; default `new WebSocket(url, { headers })`. For tests. */
  readonly connect?: (url: string, headers: Record<string, string>) => WebSocket;
}

/** The upstream WebSocket client source. */
export interface UpstreamSource extends Source {
  /** The `_seq` of the last event delivered (or `resumeFrom` before any). */
  cursor(): string | undefined;
  /** Messages or events skipped because they failed validation. */
  readonly invalidEvents: number;
  /** Events dropped because their `_seq` was at or before the cursor (replays). */
  readonly duplicateEvents: number;
}

const defaultConnect = (url: string, headers: Record<string, string>): WebSocket =>
  new WebSocket(url, { headers });

/**
 * Creates the upstream source: a WebSocket client of an upstream event feed that
 * reconnects with exponential backoff and resumes from its cursor.
 *
 * Each message is one JSON event or a JSON array of them (text or UTF-8 binary). Every
 * event is validated; invalid ones are logged (without payload), counted and skipped.
 * Messages arrive without read backpressure, so events wait in a bounded queue and one
 * loop hands them to `sink` in order, awaiting each.
 *
 * Cursor and dedup: an event with a slot gets the `_seq` `slot:index`, the index being the
 * event's own or, like the VM's, its arrival order within the slot (counted afresh on each
 * connection, so an upstream that resumes in the middle of a slot must send `index`). The
 * index is stamped on the delivered event, so the VM's `_seq` is the source's cursor.
 * Events at or before the cursor are dropped: an upstream that replays from the cursor
 * inclusive loses nothing and repeats nothing. Events without a slot pass undeduplicated.
 *
 * Its parts, one file each: the socket and its reconnect loop (`_connection.ts`), the
 * queue of events on their way to the sink with the cursor (`_delivery.ts`), what a
 * message holds (`_messages.ts`), the subscribe message (`_subscribe.ts`) and the
 * handshake (`_handshake.ts`).
 */
export function createUpstreamSource(options: UpstreamSourceOptions): UpstreamSource {
  const { clock, log } = options;
  const name = options.name ?? "upstream";
  const address = parseUpstreamUrl(options.url);
  if (options.resumeFrom !== undefined && !isSeq(options.resumeFrom)) {
    throw new TypeError('Cannot resume the upstream source: "resumeFrom" is not a _seq cursor');
  }
  const subscribe = options.subscribe === undefined ? undefined : parseSubscribe(options.subscribe);
  const backoff = toBackoff(options);
  const runs = new Runs();
  let context: SourceContext | undefined;

  function report(status: SourceStatus, message?: string): void {
    try {
      context?.onStatus(status, message);
    } catch (error) {
      log.error("Source {source} status listener failed: {error}", {
        source: name,
        error: errorMessage(error),
      });
    }
  }

  const delivery = new EventDelivery({
    name,
    log,
    runs,
    maxQueuedEvents: options.maxQueuedEvents ?? 10_000,
    cursor: options.resumeFrom,
    endConnection: (code, reason) => connection.end(code, reason),
  });
  const connection = new UpstreamConnection({
    name,
    address,
    headers: toHandshakeHeaders(options.headers, options.token),
    openSocket: options.connect ?? defaultConnect,
    clock,
    log,
    runs,
    backoff,
    healthyAfterMs: options.healthyAfterMs ?? 10_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 2_000,
    cursor: () => delivery.cursor,
    report,
    events: {
      onOpen(send) {
        if (subscribe !== undefined) {
          send(toSubscribeMessage(subscribe, delivery.cursor));
          // Names the cursor, never the message: it may carry credentials.
          log.debug("Source {source} subscribed from cursor {cursor}", {
            source: name,
            cursor: delivery.cursor ?? null,
          });
        }
        report("connected");
      },
      onMessage: (data, seqs) => delivery.receive(data, seqs),
    },
  });

  return {
    name,
    kind: "upstream",
    stream: address.loggableUrl,
    start(startContext) {
      if (runs.running) return Promise.resolve();
      runs.begin();
      context = startContext;
      // Taking over in a cluster: the shared log's cursor is where this stream stands.
      delivery.start(startContext.sink, startContext.resumeFrom);
      report("reconnecting");
      connection.start();
      return Promise.resolve();
    },
    async stop() {
      const wasRunning = runs.end();
      delivery.clear();
      await connection.stop();
      await delivery.settled();
      if (wasRunning) {
        log.info("Source {source} stopped at cursor {cursor}", {
          source: name,
          cursor: delivery.cursor ?? null,
        });
        report("disconnected");
      }
    },
    cursor: () => delivery.cursor,
    get invalidEvents() {
      return delivery.invalidEvents;
    },
    get duplicateEvents() {
      return delivery.duplicateEvents;
    },
  };
}

/** The reconnect delays the options ask for. */
function toBackoff(options: UpstreamSourceOptions): Backoff {
  return createBackoff({
    ...(options.backoff?.initialMs === undefined ? {} : { initialMs: options.backoff.initialMs }),
    ...(options.backoff?.maxMs === undefined ? {} : { maxMs: options.backoff.maxMs }),
    ...(options.random === undefined ? {} : { random: options.random }),
  });
}
