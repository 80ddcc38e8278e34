import type { Bus, ViewDirectory } from "../bus/mod.ts";
import type { Logger } from "../log/mod.ts";
import { CloseCode } from "../protocol/mod.ts";
import type { OpenSpan, Tracing, WsTelemetry } from "../telemetry/mod.ts";
import { type Clock, errorMessage, type Ids } from "../util/mod.ts";
import { type Access, type Admitted, OPEN_ACCESS, type Slot } from "./admission.ts";
import type { SocketEvents } from "./deno_socket.ts";
import type { IdleSweep } from "./_idle_sweep.ts";
import type { SendScheduler } from "./send_scheduler.ts";
import { Session, type SessionLimits } from "./session.ts";
import type { SessionRegistry } from "./_session_registry.ts";
import type { Transport } from "./transport.ts";

/** What every {@link Connection} of a server shares: the server's parts and settings. */
export interface ConnectionContext {
  readonly registry: SessionRegistry;
  readonly sweep: IdleSweep;
  readonly directory: ViewDirectory;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly ids: Ids;
  /** Sessions and their connections log here (`pharos.ws`). */
  readonly log: Logger;
  /** What concerns the listener (`pharos.ws.server`). */
  readonly serverLog: Logger;
  readonly telemetry: WsTelemetry;
  readonly tracing: Tracing;
  /** The server's session limits, before a token's own. */
  readonly limits: SessionLimits;
  readonly scheduler: SendScheduler | undefined;
  /** The access of clients whose credentials carry none; default {@link OPEN_ACCESS}. */
  readonly defaultAccess?: Access;
}

/**
 * True for a socket error that only means the peer went away (its TCP connection ended or
 * was reset without a close frame), as opposed to a protocol error. The runtime's wording.
 */
function isConnectionDrop(message: string): boolean {
  return /unexpected eof|connection reset|broken pipe|connection closed|os error (32|54|104)\b/i
    .test(message);
}

/** Session limits: the server's, with what the client's token sets instead. */
function sessionLimitsFor(limits: SessionLimits, admitted: Admitted | undefined): SessionLimits {
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

/**
 * One connection's socket events, from the upgrade to the socket's end: it holds the
 * place reserved at the upgrade until the socket opens, then a {@link Session}, and the
 * admission slot until the socket ends. A class, so its handlers are shared, not closures.
 */
export class Connection implements SocketEvents {
  readonly #peer: string;
  readonly #c: ConnectionContext;
  #session: Session | undefined;
  #span: OpenSpan | undefined;
  #released = false;
  /** Why the socket failed, when it was the peer dropping the connection (not an error). */
  #dropped: string | undefined;
  /** The per-IP/subject/origin slot, held until the socket ends. */
  slot: Slot | undefined;
  admitted: Admitted | undefined;

  constructor(peer: string, context: ConnectionContext) {
    this.#peer = peer;
    this.#c = context;
  }

  /** Gives back the reservation taken at the upgrade (the session now counts instead). */
  release(): void {
    if (!this.#released) {
      this.#released = true;
      this.#c.registry.unreserve();
    }
  }

  /** Gives back everything: reservation and slot. */
  releaseAll(): void {
    this.release();
    this.slot?.release();
  }

  onOpen(transport: Transport): void {
    this.release();
    const { registry } = this.#c;
    if (!registry.accepting) {
      this.slot?.release();
      transport.close(CloseCode.GoingAway, "server shutting down");
      return;
    }
    const id = this.#c.ids.next();
    this.#span = this.#startSpan(id);
    const session = this.#newSession(id, transport);
    this.#session = session;
    registry.opened(session);
    this.#c.sweep.schedule();
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
    const { registry, sweep } = this.#c;
    const forgotten = registry.ended(
      session,
      dropped || code === 0 ? 1006 : code,
      dropped ? `connection dropped without a close frame: ${this.#dropped}` : reason,
    );
    if (forgotten && registry.size === 0) sweep.stop();
    this.#span?.setAttribute("websocket.close.code", code);
    this.#span?.end();
  }

  onError(error: unknown): void {
    const message = errorMessage(error);
    this.#c.telemetry.connectionError("socket");
    if (isConnectionDrop(message)) {
      // The peer went away (closed its TCP connection, reset it): ordinary client life,
      // not a fault. The disconnect line that follows says so, at info.
      this.#dropped = message;
      this.#c.serverLog.debug("Client {client_id} dropped its connection: {error}", () => ({
        client_id: this.#session?.id,
        error: message,
      }));
      return;
    }
    this.#span?.recordError(error);
    this.#c.log.warn("WebSocket connection error: {error}", {
      client_id: this.#session?.id,
      error: message,
    });
  }

  /**
   * One trace per connection, lasting the connection; its subscribe spans are children.
   * Only when spans leave the process: an open span costs about 1.2 KB per idle
   * connection, and nobody could look up one that is never exported.
   */
  #startSpan(id: string): OpenSpan | undefined {
    const { tracing } = this.#c;
    if (!tracing.exporting) return undefined;
    return tracing.startSpan("ws.connection", {
      "client.id": id,
      // The client's address: a trusted proxy's forwarded one (PHAROS_TRUSTED_PROXIES).
      "client.address": this.#peer,
    }, { root: true, kind: "server" });
  }

  #newSession(id: string, transport: Transport): Session {
    const c = this.#c;
    return new Session({
      id,
      peer: this.#peer,
      transport,
      directory: c.directory,
      bus: c.bus,
      clock: c.clock,
      log: c.log,
      telemetry: c.telemetry,
      tracing: c.tracing,
      limits: sessionLimitsFor(c.limits, this.admitted),
      ...(c.scheduler === undefined ? {} : { scheduler: c.scheduler }),
      ...(this.admitted === undefined ? {} : { auth: this.admitted }),
      access: this.admitted?.access ?? c.defaultAccess ?? OPEN_ACCESS,
    });
  }
}
