import type { Bus, ViewDirectory } from "../bus/mod.ts";
import { WS_DEFAULTS } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { noopTracing, type OpenSpan, type Tracing, type WsTelemetry } from "../telemetry/mod.ts";
import type { Clock, Ids } from "../util/mod.ts";
import { CloseCode, type ErrorAnswer, toErrorResponse } from "../protocol/mod.ts";
import { type SocketEvents, upgradeToSocket } from "./deno_socket.ts";
import type { SendScheduler } from "./send_scheduler.ts";
import {
  Admission,
  type AdmissionLimits,
  type Admitted,
  ipOf,
  type Refusal,
  type Slot,
} from "./admission.ts";
import { Session, type SessionLimits } from "./session.ts";
import type { Transport } from "./transport.ts";
import { errorMessage } from "../util/mod.ts";

/** Decides whether an upgrade may proceed; the seam for authentication. */
/**
 * Decides an upgrade before it happens: a rejection refuses it (docs/protocol.md §6), an
 * {@link Admitted} lets it in with its credentials' subject, expiry and limits, and
 * undefined lets it in anonymously.
 */
export type Authorize = (
  request: Request,
  peer: string,
) =>
  | ErrorAnswer
  | Admitted
  | undefined
  | Promise<ErrorAnswer | Admitted | undefined>;

/** Turns a request into socket events; defaults to the real Deno upgrade. */
export type Upgrader = (request: Request, events: SocketEvents) => Response;

/** Options for {@link createWsServer}. */
export interface WsServerOptions {
  readonly directory: ViewDirectory;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly log: Logger;
  readonly telemetry: WsTelemetry;
  /** Spans: one `ws.connection` trace per connection, `bus.cleanup` per idle sweep. */
  readonly tracing?: Tracing;
  /** Default {@link WS_DEFAULTS}. */
  readonly maxClients?: number;
  /** Close clients silent this long, ms; default {@link WS_DEFAULTS}. */
  readonly idleTimeoutMs?: number;
  readonly limits?: Partial<SessionLimits>;
  /** Default: allow everyone. */
  readonly authorize?: Authorize;
  readonly upgrade?: Upgrader;
  /** Paces fan-out sends across clients (see {@link SendScheduler}); default: send at once. */
  readonly scheduler?: SendScheduler;
  /** Connections per IP, subject, origin; upgrades per IP a minute. Default {@link WS_DEFAULTS}. */
  readonly admission?: AdmissionLimits;
}

/** The WebSocket part of `GET /status`. */
export interface WsStatus {
  readonly connections: number;
  readonly connections_closing: number;
  readonly max_connections: number;
  /** The busiest client addresses (at most 10) and their open connections. */
  readonly client_addresses: readonly { address: string; connections: number }[];
}

/** The WebSocket side of the server. */
export interface WsServer {
  /** Handles a request carrying `Upgrade: websocket`. */
  handleUpgrade(request: Request, peer: string): Promise<Response>;
  /** Connected (or connecting) clients, including those still closing. */
  readonly clientCount: number;
  /**
   * Clients closed by the server whose socket has not finished closing: usually peers
   * that stopped reading, whose close frame waits behind unread data. They keep their
   * client slot until the peer reads or disconnects.
   */
  readonly closingCount: number;
  /** Live sessions. */
  sessions(): Iterable<Session>;
  /** The WebSocket part of `GET /status`. */
  status(): WsStatus;
  /** Stops accepting, closes every session with `code`, and waits (up to `timeoutMs`) for them to end. */
  shutdown(options: { code?: number; reason?: string; timeoutMs: number }): Promise<void>;
}

/** Default session limits (docs/protocol.md §5): the config's `ws.limits`, and the socket bound. */
export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({
  ...WS_DEFAULTS.limits,
  // Kept small because it is also what a peer that stopped reading can pin: Deno offers
  // no way to cut a socket whose writes are blocked, so the close frame waits behind it.
  socketHighWaterBytes: 256 * 1024,
});

/** Client addresses `/status` lists, the busiest first. */
const STATUS_ADDRESSES = 10;

/** A `Sec-WebSocket-Key`: base64 of 16 bytes (RFC 6455 §4.1). */
const WEBSOCKET_KEY = /^[A-Za-z0-9+/]{22}==$/;

/**
 * RFC 6455 §4.2.1 checks the runtime does not make: a request without a well-formed key
 * gets 400, one for another protocol version 426 (with the version we speak).
 */
function checkHandshakeHeaders(request: Request): ErrorAnswer | undefined {
  if (request.headers.get("sec-websocket-version")?.trim() !== "13") {
    return {
      status: 426,
      code: "bad-upgrade",
      message: "Only WebSocket version 13 is supported",
      retryable: false,
    };
  }
  if (!WEBSOCKET_KEY.test(request.headers.get("sec-websocket-key")?.trim() ?? "")) {
    return {
      status: 400,
      code: "bad-upgrade",
      message: "Sec-WebSocket-Key must be 16 bytes in base64",
      retryable: false,
    };
  }
  return undefined;
}

/**
 * True for a socket error that only means the peer went away (its TCP connection ended or
 * was reset without a close frame), as opposed to a protocol error. The runtime's wording.
 */
function isConnectionDrop(message: string): boolean {
  return /unexpected eof|connection reset|broken pipe|connection closed|os error (32|54|104)\b/i
    .test(message);
}

/** Creates the WebSocket server: upgrades, client limit, sessions and the idle sweep. */
export function createWsServer(options: WsServerOptions): WsServer {
  const { clock, log, telemetry } = options;
  // Sessions log under `pharos.ws`; what concerns the listener (handshakes refused, the idle
  // sweep, shutdown) under `pharos.ws.server`, as main.ts's "listening" line.
  const serverLog = log.getChild("server");
  const maxClients = options.maxClients ?? WS_DEFAULTS.maxClients;
  const idleTimeoutMs = options.idleTimeoutMs ?? WS_DEFAULTS.idleTimeoutMs;
  const limits: SessionLimits = { ...DEFAULT_SESSION_LIMITS, ...options.limits };
  const upgrade = options.upgrade ?? upgradeToSocket;
  const tracing = options.tracing ?? noopTracing;
  const sessions = new Set<Session>();
  const endWaiters = new Set<() => void>();
  let reserved = 0; // upgrades answered but not yet open
  let accepting = true;
  let sweepTimer: Disposable | undefined;

  const admission = new Admission(options.admission ?? WS_DEFAULTS.admission, clock);

  function reject(rejection: ErrorAnswer, peer: string): Response {
    telemetry.handshakeRejected(rejection.code);
    serverLog.debug("Refused WebSocket upgrade from {peer}: {status} {code}", () => ({
      peer,
      status: rejection.status,
      code: rejection.code,
      message: rejection.message,
    }));
    return toErrorResponse(rejection);
  }

  function refuse(refusal: Refusal, peer: string): Response {
    telemetry.limitExceeded(refusal.limit);
    log.warn("Refused WebSocket connection from {peer}: {limit} ({code})", {
      peer,
      limit: refusal.limit,
      code: refusal.rejection.code,
    });
    return reject(refusal.rejection, peer);
  }

  function scheduleSweep(): void {
    if (sweepTimer !== undefined || sessions.size === 0) return;
    const everyMs = Math.max(250, Math.min(30_000, Math.floor(idleTimeoutMs / 4)));
    sweepTimer = clock.setTimer(everyMs, () => {
      sweepTimer = undefined;
      tracing.inSpan("bus.cleanup", {}, (span) => {
        const now = clock.monotonic();
        let removed = 0;
        const checked = sessions.size;
        for (const session of sessions) {
          if (now - session.lastSeen > idleTimeoutMs) {
            log.info("Closing idle client {client_id}", { client_id: session.id });
            session.close(
              CloseCode.Normal,
              `idle-timeout: no message for ${Math.round(idleTimeoutMs / 1000)} s`,
            );
            removed++;
          }
        }
        span.setAttribute("removed", removed);
        serverLog.debug("Idle sweep: {removed} of {checked} clients closed", () => ({
          checked,
          removed,
          idle_timeout_ms: idleTimeoutMs,
        }));
      }, { root: true });
      scheduleSweep();
    });
  }

  function onEnded(session: Session, code: number, reason: string): void {
    if (!sessions.delete(session)) return;
    const durationSeconds = (clock.monotonic() - session.openedAt) / 1000;
    telemetry.connectionClosed(durationSeconds);
    // `code` is a string on every line (README, Logging): close codes, error codes alike.
    log.info("Client {client_id} disconnected", {
      client_id: session.id,
      code: String(code),
      reason,
      duration_s: Number(durationSeconds.toFixed(3)),
    });
    for (const wake of endWaiters) wake();
    if (sessions.size === 0) {
      sweepTimer?.[Symbol.dispose]();
      sweepTimer = undefined;
    }
  }

  /** One connection's socket events; a class, so its handlers are shared, not closures. */
  class Connection implements SocketEvents {
    readonly #peer: string;
    #session: Session | undefined;
    #span: OpenSpan | undefined;
    #released = false;
    /** Why the socket failed, when it was the peer dropping the connection (not an error). */
    #dropped: string | undefined;
    /** The per-IP/subject/origin slot, held until the socket ends. */
    slot: Slot | undefined;
    admitted: Admitted | undefined;
    constructor(peer: string) {
      this.#peer = peer;
    }
    /** Gives back the reservation taken at the upgrade (the session now counts instead). */
    release(): void {
      if (!this.#released) {
        this.#released = true;
        reserved--;
      }
    }
    /** Gives back everything: reservation and slot. */
    releaseAll(): void {
      this.release();
      this.slot?.release();
    }
    onOpen(transport: Transport): void {
      this.release();
      if (!accepting) {
        this.slot?.release();
        transport.close(CloseCode.GoingAway, "server shutting down");
        return;
      }
      const peer = this.#peer;
      const id = options.ids.next();
      // One trace per connection, lasting the connection; its subscribe spans are children.
      // Only when spans leave the process: an open span costs about 1.2 KB per idle
      // connection, and nobody could look up one that is never exported.
      if (tracing.exporting) {
        this.#span = tracing.startSpan("ws.connection", {
          "client.id": id,
          // The client's address: a trusted proxy's forwarded one (PHAROS_TRUSTED_PROXIES).
          "client.address": peer,
        }, { root: true, kind: "server" });
      }
      const session = new Session({
        id,
        peer,
        transport,
        directory: options.directory,
        bus: options.bus,
        clock,
        log,
        telemetry,
        tracing,
        limits: sessionLimitsFor(this.admitted),
        ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
        ...(this.admitted === undefined ? {} : { auth: this.admitted }),
      });
      this.#session = session;
      sessions.add(session);
      telemetry.connectionOpened();
      log.info("New WebSocket connection from {peer} ({count}/{max} clients)", {
        peer,
        count: sessions.size,
        max: maxClients,
      });
      log.info("WebSocket connection established for client {client_id}", {
        client_id: session.id,
      });
      scheduleSweep();
    }
    onMessage(data: string | ArrayBuffer): void {
      const session = this.#session;
      if (session === undefined) return;
      if (this.#span === undefined) session.receive(data);
      else this.#span.run(() => session.receive(data));
    }
    onClose(code: number, reason: string): void {
      this.releaseAll();
      const session = this.#session;
      if (session === undefined) return;
      session.ended();
      // A connection dropped without a close frame ends with no code (the runtime reports
      // 0, or 1005/1006): report it as RFC 6455's 1006, with why it dropped.
      const dropped = this.#dropped !== undefined && (code === 0 || code === 1005 || code === 1006);
      onEnded(
        session,
        dropped || code === 0 ? 1006 : code,
        dropped ? `connection dropped without a close frame: ${this.#dropped}` : reason,
      );
      this.#span?.setAttribute("websocket.close.code", code);
      this.#span?.end();
    }
    onError(error: unknown): void {
      const message = errorMessage(error);
      telemetry.connectionError("socket");
      if (isConnectionDrop(message)) {
        // The peer went away (closed its TCP connection, reset it): ordinary client life,
        // not a fault. The disconnect line that follows says so, at info.
        this.#dropped = message;
        serverLog.debug("Client {client_id} dropped its connection: {error}", () => ({
          client_id: this.#session?.id,
          error: message,
        }));
        return;
      }
      this.#span?.recordError(error);
      log.warn("WebSocket connection error: {error}", {
        client_id: this.#session?.id,
        error: message,
      });
    }
  }

  /** Session limits: the server's, with what the client's token sets instead. */
  function sessionLimitsFor(admitted: Admitted | undefined): SessionLimits {
    const own = admitted?.limits;
    if (own === undefined) return limits;
    return {
      ...limits,
      ...(own.maxSubscriptions === undefined ? {} : { maxSubscriptions: own.maxSubscriptions }),
      ...(own.maxSnapshotRows === undefined ? {} : { maxSnapshotRows: own.maxSnapshotRows }),
      ...(own.maxMessagesPerMinute === undefined
        ? {}
        : { maxMessagesPerMinute: own.maxMessagesPerMinute }),
      ...(own.maxBytesPerMinute === undefined ? {} : { maxBytesPerMinute: own.maxBytesPerMinute }),
    };
  }

  return {
    async handleUpgrade(request, peer) {
      if (!accepting) {
        return reject({
          status: 503,
          code: "server-at-capacity",
          message: "Server is shutting down",
          retryable: true,
          retryAfterSeconds: 5,
        }, peer);
      }
      const malformed = checkHandshakeHeaders(request);
      if (malformed !== undefined) {
        const response = reject(malformed, peer);
        if (malformed.status === 426) response.headers.set("sec-websocket-version", "13");
        return response;
      }
      const ip = ipOf(peer);
      const rateRefusal = admission.checkHandshakeRate(ip);
      if (rateRefusal !== undefined) return refuse(rateRefusal, peer);
      if (sessions.size + reserved >= maxClients) {
        log.warn("Refused WebSocket connection from {peer}: {count}/{max} clients", {
          peer,
          count: sessions.size + reserved,
          max: maxClients,
        });
        return reject({
          status: 503,
          code: "server-at-capacity",
          message: `Server is at its limit of ${maxClients} clients`,
          retryable: true,
          retryAfterSeconds: 5,
          suggestedAction: "retry later or connect to another instance",
        }, peer);
      }
      reserved++;
      const connection = new Connection(peer);
      try {
        const decision = await options.authorize?.(request, peer);
        if (decision !== undefined && !("kind" in decision)) {
          connection.release();
          return reject(decision, peer);
        }
        connection.admitted = decision;
      } catch (error) {
        connection.release();
        log.error("Authorization of {peer} failed: {error}", { peer, error });
        return reject({
          status: 500,
          code: "internal-error",
          message: "Authorization failed on the server",
          retryable: true,
          retryAfterSeconds: 5,
        }, peer);
      }
      const slot = admission.acquire(
        ip,
        connection.admitted?.subject,
        request.headers.get("origin") ?? undefined,
        connection.admitted?.limits?.maxConnections,
      );
      if ("rejection" in slot) {
        connection.release();
        return refuse(slot, peer);
      }
      connection.slot = slot;
      try {
        // Outside the HTTP request's span: the socket's callbacks would otherwise keep that
        // ended span and its context alive for the whole connection (~1.3 KB each).
        // Detaching costs a context record per socket; without an exported request span
        // there is no span for the socket's callbacks to keep alive.
        return tracing.exporting
          ? tracing.detached(() => upgrade(request, connection))
          : upgrade(request, connection);
      } catch (error) {
        connection.releaseAll();
        throw error;
      }
    },
    get clientCount() {
      return sessions.size + reserved;
    },
    status() {
      return {
        connections: this.clientCount,
        connections_closing: this.closingCount,
        max_connections: maxClients,
        // The client addresses the per-IP limit counts (behind trusted proxies, the
        // forwarded ones), the busiest first.
        client_addresses: admission.busiestAddresses(STATUS_ADDRESSES),
      };
    },
    get closingCount() {
      let closing = 0;
      for (const session of sessions) if (session.closed) closing++;
      return closing;
    },
    sessions: () => sessions.values(),
    async shutdown(shutdownOptions) {
      accepting = false;
      // Sessions already closed but not yet ended belong to peers that stopped reading:
      // their close frame cannot be written, so waiting for them would only stall.
      const awaited = [...sessions].filter((session) => !session.closed);
      if (sessions.size > 0) {
        serverLog.debug(
          "Shutting down: closing {clients} clients ({closing} already closing)",
          () => ({
            clients: awaited.length,
            closing: sessions.size - awaited.length,
            code: String(shutdownOptions.code ?? CloseCode.GoingAway),
          }),
        );
      }
      for (const session of awaited) {
        session.close(
          shutdownOptions.code ?? CloseCode.GoingAway,
          shutdownOptions.reason ?? "server shutting down",
        );
      }
      if (awaited.some((session) => sessions.has(session))) {
        let timer: Disposable | undefined;
        await new Promise<void>((resolve) => {
          endWaiters.add(() => {
            if (!awaited.some((session) => sessions.has(session))) resolve();
          });
          timer = clock.setTimer(shutdownOptions.timeoutMs, resolve);
        });
        timer?.[Symbol.dispose]();
        endWaiters.clear();
        const left = awaited.filter((session) => sessions.has(session)).length;
        if (left > 0) {
          serverLog.debug("Shutdown went on with {left} clients still closing", () => ({ left }));
        }
      }
      sweepTimer?.[Symbol.dispose]();
      sweepTimer = undefined;
    },
  };
}
