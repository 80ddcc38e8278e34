import type { Logger } from "../../log/mod.ts";
import {
  compareSeq,
  createSeqCounter,
  isSeq,
  parseEvent,
  type PharosEvent,
  type SeqCounter,
} from "../../stack/mod.ts";
import { CloseCode } from "../../protocol/mod.ts";
import { type Clock, errorMessage, Fifo } from "../../util/mod.ts";
import { createBackoff } from "./backoff.ts";
import type { Source, SourceContext, SourceStatus } from "../types.ts";

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

const CURSOR_PLACEHOLDER = "{{cursor}}";
const DROP = Symbol("drop");

interface Session {
  readonly socket: WebSocket;
  /** Monotonic time of `open`; undefined while connecting. */
  openedAt: number | undefined;
  /** We asked the socket to close: ignore whatever it still delivers. */
  ending: boolean;
  /** Message of the last `error` event, for the status line. */
  error: string | undefined;
  /** `_seq` numbering of this connection's events, as the VM's. */
  readonly seqs: SeqCounter;
  readonly closed: Promise<void>;
  readonly markClosed: () => void;
  /** Gives up on a closing handshake that never completes (see `endSession`). */
  closeTimer: Disposable | undefined;
}

interface QueuedEvent {
  readonly event: PharosEvent;
  /** Undefined for events without a slot: delivered without dedup, cursor unchanged. */
  readonly seq: string | undefined;
}

/** The URL without credentials or query values, for logs. */
function toLoggableUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search === "" ? "" : "?…"}`;
}

function messageOf(error: unknown): string {
  return errorMessage(error);
}

function withCursor(value: unknown, cursor: string | undefined): unknown {
  if (value === CURSOR_PLACEHOLDER) return cursor ?? DROP;
  if (Array.isArray(value)) {
    return value.map((item) => withCursor(item, cursor)).filter((item) => item !== DROP);
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const replaced = withCursor(item, cursor);
      if (replaced !== DROP) out[key] = replaced;
    }
    return out;
  }
  return value;
}

function parseSubscribe(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new TypeError("Cannot use the upstream subscribe message: expected a JSON object", {
      cause,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new TypeError("Cannot use the upstream subscribe message: expected a JSON object");
  }
  return parsed as Record<string, unknown>;
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
 */
export function createUpstreamSource(options: UpstreamSourceOptions): UpstreamSource {
  const { clock, log } = options;
  const name = options.name ?? "upstream";
  let target: URL;
  try {
    target = new URL(options.url);
  } catch (cause) {
    throw new TypeError(`Cannot use upstream URL: expected a ws:// or wss:// URL`, { cause });
  }
  if (target.protocol !== "ws:" && target.protocol !== "wss:") {
    throw new TypeError(`Cannot use upstream URL: expected a ws:// or wss:// URL`);
  }
  const url = target.href;
  const loggableUrl = toLoggableUrl(target);
  if (options.resumeFrom !== undefined && !isSeq(options.resumeFrom)) {
    throw new TypeError('Cannot resume the upstream source: "resumeFrom" is not a _seq cursor');
  }
  const subscribe = options.subscribe === undefined ? undefined : parseSubscribe(options.subscribe);
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.headers ?? {})) {
    if (options.token !== undefined && key.toLowerCase() === "authorization") continue;
    headers[key] = value;
  }
  if (options.token !== undefined) headers["Authorization"] = `Bearer ${options.token}`;
  const connectSocket = options.connect ?? defaultConnect;
  const healthyAfterMs = options.healthyAfterMs ?? 10_000;
  const maxQueuedEvents = options.maxQueuedEvents ?? 10_000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 2_000;
  const backoff = createBackoff({
    ...(options.backoff?.initialMs === undefined ? {} : { initialMs: options.backoff.initialMs }),
    ...(options.backoff?.maxMs === undefined ? {} : { maxMs: options.backoff.maxMs }),
    ...(options.random === undefined ? {} : { random: options.random }),
  });
  const decoder = new TextDecoder("utf-8", { fatal: true });

  let cursor = options.resumeFrom;
  let context: SourceContext | undefined;
  let running = false;
  // Bumped by start() and stop(): callbacks and loops of an older run see it and back off.
  let generation = 0;
  let current: Session | undefined;
  let reconnectTimer: Disposable | undefined;
  const queue = new Fifo<QueuedEvent>();
  let draining: Promise<void> | undefined;
  let invalidEvents = 0;
  let duplicateEvents = 0;

  const pending = () => queue.size;
  const clearQueue = () => queue.clear();

  function report(status: SourceStatus, message?: string): void {
    try {
      context?.onStatus(status, message);
    } catch (error) {
      log.error("Source {source} status listener failed: {error}", {
        source: name,
        error: messageOf(error),
      });
    }
  }

  /** Runs a socket callback; an exception there would otherwise be uncaught and end the process. */
  function guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      log.error("Source {source} failed handling {what}: {error}", {
        source: name,
        what,
        error: messageOf(error),
      });
    }
  }

  function closeSocket(session: Session, code: number, reason: string): void {
    session.ending = true;
    try {
      session.socket.close(code, reason);
    } catch (error) {
      log.warn("Source {source} could not close the socket: {error}", {
        source: name,
        error: messageOf(error),
      });
      session.markClosed();
    }
  }

  /**
   * Closes a session the source gave up on (overflow, delivery failure) and reconnects once
   * it has closed, or after `closeTimeoutMs` if the upstream never completes the handshake,
   * so a silent peer cannot stall the source.
   */
  function endSession(session: Session, code: number, reason: string): void {
    closeSocket(session, code, reason);
    session.closeTimer ??= clock.setTimer(closeTimeoutMs, () =>
      guarded("a close timeout", () => {
        session.closeTimer = undefined;
        if (session !== current) return;
        log.warn("Source {source}: the upstream did not finish closing within {timeout_ms} ms", {
          source: name,
          timeout_ms: closeTimeoutMs,
        });
        onClose(session, code, `${reason}; close timed out`);
      }));
  }

  function scheduleReconnect(message: string): void {
    if (!running) return;
    const delayMs = backoff.next();
    log.info("Source {source} reconnecting in {delay_ms} ms (attempt {attempt})", {
      source: name,
      delay_ms: delayMs,
      attempt: backoff.attempts,
      reason: message,
    });
    report("reconnecting", message);
    const run = generation;
    reconnectTimer = clock.setTimer(delayMs, () => {
      reconnectTimer = undefined;
      if (running && run === generation) guarded("reconnect", connect);
    });
  }

  function connect(): void {
    log.info("Source {source} connecting to {url}", {
      source: name,
      url: loggableUrl,
      attempt: backoff.attempts, // the reconnecting line's attempt; 0 for the first connect
    });
    let socket: WebSocket;
    try {
      socket = connectSocket(url, { ...headers });
    } catch (error) {
      log.warn("Source {source} cannot connect to {url}: {error}", {
        source: name,
        url: loggableUrl,
        error: messageOf(error),
      });
      scheduleReconnect(`cannot connect: ${messageOf(error)}`);
      return;
    }
    socket.binaryType = "arraybuffer";
    let markClosed!: () => void;
    const closed = new Promise<void>((resolve) => markClosed = resolve);
    const session: Session = {
      socket,
      openedAt: undefined,
      ending: false,
      error: undefined,
      seqs: createSeqCounter(),
      closed,
      markClosed,
      closeTimer: undefined,
    };
    current = session;
    socket.addEventListener("open", () => guarded("open", () => onOpen(session)));
    socket.addEventListener(
      "message",
      (event) => guarded("a message", () => onMessage(session, event.data)),
    );
    socket.addEventListener("error", (event) =>
      guarded("an error", () => {
        session.error = event instanceof ErrorEvent && event.message !== ""
          ? event.message
          : "WebSocket error";
      }));
    socket.addEventListener(
      "close",
      (event) => guarded("close", () => onClose(session, event.code, event.reason)),
    );
  }

  function onOpen(session: Session): void {
    if (session !== current || session.ending) return;
    session.openedAt = clock.monotonic();
    log.info("Source {source} connected to {url}", {
      source: name,
      url: loggableUrl,
      cursor: cursor ?? null,
    });
    if (subscribe !== undefined) {
      session.socket.send(JSON.stringify(withCursor(subscribe, cursor)));
      // Names the cursor, never the message: it may carry credentials.
      log.debug("Source {source} subscribed from cursor {cursor}", {
        source: name,
        cursor: cursor ?? null,
      });
    }
    report("connected");
  }

  function onClose(session: Session, code: number, reason: string): void {
    session.markClosed();
    session.closeTimer?.[Symbol.dispose]();
    session.closeTimer = undefined;
    if (session !== current) return;
    current = undefined;
    if (session.openedAt === undefined) {
      const message = `cannot connect: ${session.error ?? `closed (${code})`}`;
      log.warn("Source {source} cannot connect to {url}: {error}", {
        source: name,
        url: loggableUrl,
        error: session.error ?? `closed (${code})`,
      });
      scheduleReconnect(message);
      return;
    }
    const openMs = clock.monotonic() - session.openedAt;
    log.info("Source {source} closed ({code}) {reason}", {
      source: name,
      code: String(code),
      reason,
      open_ms: Math.round(openMs),
    });
    // A session that lasted proves the upstream works: start the backoff over.
    if (openMs >= healthyAfterMs) backoff.reset();
    const message = `connection closed (${code}${reason === "" ? "" : `: ${reason}`})`;
    scheduleReconnect(message);
  }

  function decode(data: unknown): unknown {
    if (typeof data === "string") return JSON.parse(data);
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
      return JSON.parse(decoder.decode(data));
    }
    throw new TypeError("unsupported message type");
  }

  function skip(reason: string, at?: number): void {
    invalidEvents++;
    log.warn("Source {source} skipped an invalid event: {reason}", {
      source: name,
      reason,
      ...(at === undefined ? {} : { position: at }),
      invalid_events: invalidEvents,
    });
  }

  /** Gives an event with a slot its `_seq`, numbering it by arrival if it has no index. */
  function toQueued(session: Session, event: PharosEvent): QueuedEvent {
    const numbered = session.seqs.next(event);
    if (numbered === undefined) return { event, seq: undefined };
    return {
      event: event.index === undefined ? { ...event, index: numbered.index } : event,
      seq: numbered.seq,
    };
  }

  /** True for an event at or before the cursor: a replay of something delivered. */
  function isDelivered(item: QueuedEvent): boolean {
    return item.seq !== undefined && cursor !== undefined && compareSeq(item.seq, cursor) <= 0;
  }

  function onMessage(session: Session, data: unknown): void {
    if (session !== current || session.ending) return;
    let decoded: unknown;
    try {
      decoded = decode(data);
    } catch (error) {
      // JSON.parse messages quote the payload: name the failure without it.
      skip(error instanceof SyntaxError ? "not valid JSON (or not UTF-8)" : messageOf(error));
      return;
    }
    const values = Array.isArray(decoded) ? decoded : [decoded];
    const items: QueuedEvent[] = [];
    const duplicatesBefore = duplicateEvents;
    for (let i = 0; i < values.length; i++) {
      let event: PharosEvent;
      try {
        event = parseEvent(values[i]);
      } catch (error) {
        skip(messageOf(error), Array.isArray(decoded) ? i : undefined);
        continue;
      }
      const item = toQueued(session, event);
      // Replays repeat what was delivered; dropping those now keeps them out of the queue.
      if (isDelivered(item)) duplicateEvents++;
      else items.push(item);
    }
    if (duplicateEvents > duplicatesBefore) {
      log.debug("Source {source} dropped {count} events already delivered (cursor {cursor})", {
        source: name,
        count: duplicateEvents - duplicatesBefore,
        cursor: cursor ?? null,
      });
    }
    if (items.length === 0) return;
    // One message is taken whole into an empty queue, however large (it is in memory
    // already, and refusing it would refuse its replay forever); the bound stops backlog.
    if (pending() > 0 && pending() + items.length > maxQueuedEvents) {
      log.error(
        "Source {source} has {queued} events waiting (limit {limit}): closing with {code} to resume from {cursor}",
        {
          source: name,
          queued: pending() + items.length,
          limit: maxQueuedEvents,
          code: String(CloseCode.UpstreamOverflow),
          cursor: cursor ?? null,
        },
      );
      clearQueue();
      endSession(session, CloseCode.UpstreamOverflow, "queue overflow");
      return;
    }
    for (const item of items) queue.push(item);
    kick();
  }

  async function drain(run: number, sink: SourceContext["sink"]): Promise<void> {
    while (running && run === generation && queue.size > 0) {
      const item = queue.shift()!;
      if (isDelivered(item)) {
        duplicateEvents++;
        continue;
      }
      try {
        await sink(item.event);
      } catch (error) {
        if (!running || run !== generation) return;
        log.error(
          "Source {source} could not deliver an event: {error}; resuming from {cursor}",
          { source: name, error: messageOf(error), cursor: cursor ?? null },
        );
        clearQueue();
        if (current !== undefined) {
          endSession(current, CloseCode.UpstreamDeliveryFailed, "delivery failed");
        }
        return;
      }
      if (item.seq !== undefined) cursor = item.seq;
    }
  }

  function kick(): void {
    if (draining !== undefined || !running || context === undefined) return;
    const run = generation;
    draining = drain(run, context.sink)
      .catch((error) =>
        log.error("Source {source} delivery loop failed: {error}", {
          source: name,
          error: messageOf(error),
        })
      )
      .finally(() => {
        draining = undefined;
        // Not only this run's: a start() during stop() finds this loop still busy.
        if (running && pending() > 0) kick();
      });
  }

  async function waitClosed(session: Session): Promise<void> {
    let timer: Disposable | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = clock.setTimer(closeTimeoutMs, () => resolve(false));
    });
    const closedInTime = await Promise.race([session.closed.then(() => true), timeout]);
    timer?.[Symbol.dispose]();
    if (!closedInTime) {
      log.warn("Source {source}: the upstream did not finish closing within {timeout_ms} ms", {
        source: name,
        timeout_ms: closeTimeoutMs,
      });
    }
  }

  return {
    name,
    kind: "upstream",
    stream: loggableUrl,
    start(startContext) {
      if (running) return Promise.resolve();
      running = true;
      generation++;
      context = startContext;
      // Taking over in a cluster: the shared log's cursor is where this stream stands.
      if (startContext.resumeFrom !== undefined) cursor = startContext.resumeFrom;
      backoff.reset();
      report("reconnecting");
      guarded("connect", connect);
      return Promise.resolve();
    },
    async stop() {
      const wasRunning = running;
      running = false;
      generation++;
      reconnectTimer?.[Symbol.dispose]();
      reconnectTimer = undefined;
      clearQueue();
      const session = current;
      current = undefined;
      if (session !== undefined) {
        session.closeTimer?.[Symbol.dispose]();
        session.closeTimer = undefined;
        closeSocket(session, CloseCode.Normal, "source stopped");
        await waitClosed(session);
      }
      while (draining !== undefined) await draining;
      if (wasRunning) {
        log.info("Source {source} stopped at cursor {cursor}", {
          source: name,
          cursor: cursor ?? null,
        });
        report("disconnected");
      }
    },
    cursor: () => cursor,
    get invalidEvents() {
      return invalidEvents;
    },
    get duplicateEvents() {
      return duplicateEvents;
    },
  };
}
