import type { Logger } from "../../log/mod.ts";
import { createSeqCounter, type SeqCounter } from "../../stack/mod.ts";
import { CloseCode } from "../../protocol/mod.ts";
import { type Clock, errorMessage } from "../../util/mod.ts";
import type { SourceStatus } from "../types.ts";
import type { Backoff } from "./backoff.ts";
import type { UpstreamAddress } from "./_handshake.ts";
import type { Runs } from "./_runs.ts";

/** What a connection tells its owner; both run inside the socket callback's guard. */
export interface ConnectionEvents {
  /** The socket opened: `send` writes to it (the subscribe message). */
  onOpen(send: (text: string) => void): void;
  /** A message of the current connection, whose events `seqs` numbers. */
  onMessage(data: unknown, seqs: SeqCounter): void;
}

/** Options for {@link UpstreamConnection}. */
export interface UpstreamConnectionOptions {
  /** The source's name, for its log lines. */
  readonly name: string;
  readonly address: UpstreamAddress;
  readonly headers: Readonly<Record<string, string>>;
  /** Opens the socket (`UpstreamSourceOptions.connect`). */
  readonly openSocket: (url: string, headers: Record<string, string>) => WebSocket;
  readonly clock: Clock;
  readonly log: Logger;
  readonly runs: Runs;
  readonly backoff: Backoff;
  /** A session open at least this long resets the backoff to its first step. */
  readonly healthyAfterMs: number;
  /** How long a closing handshake may take before the source gives up on it. */
  readonly closeTimeoutMs: number;
  /** The cursor, for the log lines. */
  readonly cursor: () => string | undefined;
  readonly report: (status: SourceStatus, message?: string) => void;
  readonly events: ConnectionEvents;
}

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
  /** Gives up on a closing handshake that never completes (see `end`). */
  closeTimer: Disposable | undefined;
}

function newSession(socket: WebSocket): Session {
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => markClosed = resolve);
  return {
    socket,
    openedAt: undefined,
    ending: false,
    error: undefined,
    seqs: createSeqCounter(),
    closed,
    markClosed,
    closeTimer: undefined,
  };
}

/**
 * The upstream source's socket: opens it, reconnects with backoff when it closes or cannot
 * open, and closes it. One connection is current at a time; callbacks of older ones are
 * ignored.
 */
export class UpstreamConnection {
  readonly #o: UpstreamConnectionOptions;
  #current: Session | undefined;
  #reconnectTimer: Disposable | undefined;

  constructor(options: UpstreamConnectionOptions) {
    this.#o = options;
  }

  /** A run begins: the first connect, with the backoff from its first step. */
  start(): void {
    this.#o.backoff.reset();
    this.#guarded("connect", () => this.#connect());
  }

  /**
   * Closes the current connection, which the source gave up on (overflow, delivery failure),
   * and reconnects once it has closed, or after `closeTimeoutMs` if the upstream never
   * completes the handshake, so a silent peer cannot stall the source.
   */
  end(code: number, reason: string): void {
    const session = this.#current;
    if (session === undefined) return;
    this.#closeSocket(session, code, reason);
    session.closeTimer ??= this.#o.clock.setTimer(
      this.#o.closeTimeoutMs,
      () =>
        this.#guarded("a close timeout", () => {
          session.closeTimer = undefined;
          if (session !== this.#current) return;
          this.#warnCloseTimedOut();
          this.#onClose(session, code, `${reason}; close timed out`);
        }),
    );
  }

  /** The run has ended: no reconnect; closes the socket, waiting up to `closeTimeoutMs`. */
  async stop(): Promise<void> {
    this.#reconnectTimer?.[Symbol.dispose]();
    this.#reconnectTimer = undefined;
    const session = this.#current;
    this.#current = undefined;
    if (session === undefined) return;
    session.closeTimer?.[Symbol.dispose]();
    session.closeTimer = undefined;
    this.#closeSocket(session, CloseCode.Normal, "source stopped");
    await this.#waitClosed(session);
  }

  #connect(): void {
    const { name, address, log, backoff } = this.#o;
    log.info("Source {source} connecting to {url}", {
      source: name,
      url: address.loggableUrl,
      attempt: backoff.attempts, // the reconnecting line's attempt; 0 for the first connect
    });
    let socket: WebSocket;
    try {
      socket = this.#o.openSocket(address.url, { ...this.#o.headers });
    } catch (error) {
      log.warn("Source {source} cannot connect to {url}: {error}", {
        source: name,
        url: address.loggableUrl,
        error: errorMessage(error),
      });
      this.#scheduleReconnect(`cannot connect: ${errorMessage(error)}`);
      return;
    }
    socket.binaryType = "arraybuffer";
    const session = newSession(socket);
    this.#current = session;
    this.#listen(session);
  }

  /** Wires the socket's events to this connection. */
  #listen(session: Session): void {
    const { socket } = session;
    socket.addEventListener("open", () => this.#guarded("open", () => this.#onOpen(session)));
    socket.addEventListener("message", (event) =>
      this.#guarded("a message", () => {
        if (session !== this.#current || session.ending) return;
        this.#o.events.onMessage(event.data, session.seqs);
      }));
    socket.addEventListener("error", (event) =>
      this.#guarded("an error", () => {
        session.error = event instanceof ErrorEvent && event.message !== ""
          ? event.message
          : "WebSocket error";
      }));
    socket.addEventListener(
      "close",
      (event) => this.#guarded("close", () => this.#onClose(session, event.code, event.reason)),
    );
  }

  #onOpen(session: Session): void {
    if (session !== this.#current || session.ending) return;
    session.openedAt = this.#o.clock.monotonic();
    this.#o.log.info("Source {source} connected to {url}", {
      source: this.#o.name,
      url: this.#o.address.loggableUrl,
      cursor: this.#o.cursor() ?? null,
    });
    this.#o.events.onOpen((text) => session.socket.send(text));
  }

  #onClose(session: Session, code: number, reason: string): void {
    session.markClosed();
    session.closeTimer?.[Symbol.dispose]();
    session.closeTimer = undefined;
    if (session !== this.#current) return;
    this.#current = undefined;
    const { name, log, clock } = this.#o;
    if (session.openedAt === undefined) {
      const message = `cannot connect: ${session.error ?? `closed (${code})`}`;
      log.warn("Source {source} cannot connect to {url}: {error}", {
        source: name,
        url: this.#o.address.loggableUrl,
        error: session.error ?? `closed (${code})`,
      });
      this.#scheduleReconnect(message);
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
    if (openMs >= this.#o.healthyAfterMs) this.#o.backoff.reset();
    const message = `connection closed (${code}${reason === "" ? "" : `: ${reason}`})`;
    this.#scheduleReconnect(message);
  }

  #scheduleReconnect(message: string): void {
    const { runs, backoff, log, name } = this.#o;
    if (!runs.running) return;
    const delayMs = backoff.next();
    log.info("Source {source} reconnecting in {delay_ms} ms (attempt {attempt})", {
      source: name,
      delay_ms: delayMs,
      attempt: backoff.attempts,
      reason: message,
    });
    this.#o.report("reconnecting", message);
    const isCurrentRun = runs.current();
    this.#reconnectTimer = this.#o.clock.setTimer(delayMs, () => {
      this.#reconnectTimer = undefined;
      if (isCurrentRun()) this.#guarded("reconnect", () => this.#connect());
    });
  }

  #closeSocket(session: Session, code: number, reason: string): void {
    session.ending = true;
    try {
      session.socket.close(code, reason);
    } catch (error) {
      this.#o.log.warn("Source {source} could not close the socket: {error}", {
        source: this.#o.name,
        error: errorMessage(error),
      });
      session.markClosed();
    }
  }

  async #waitClosed(session: Session): Promise<void> {
    let timer: Disposable | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = this.#o.clock.setTimer(this.#o.closeTimeoutMs, () => resolve(false));
    });
    const closedInTime = await Promise.race([session.closed.then(() => true), timeout]);
    timer?.[Symbol.dispose]();
    if (!closedInTime) this.#warnCloseTimedOut();
  }

  #warnCloseTimedOut(): void {
    this.#o.log.warn(
      "Source {source}: the upstream did not finish closing within {timeout_ms} ms",
      { source: this.#o.name, timeout_ms: this.#o.closeTimeoutMs },
    );
  }

  /** Runs a socket callback; an exception there would otherwise be uncaught and end the process. */
  #guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#o.log.error("Source {source} failed handling {what}: {error}", {
        source: this.#o.name,
        what,
        error: errorMessage(error),
      });
    }
  }
}
