import { type ErrorAnswer, toErrorResponse } from "../protocol/mod.ts";
import { type Admission, type Admitted, ipOf, type Refusal } from "./admission.ts";
import { Connection, type ConnectionContext } from "./_connection.ts";
import type { SocketEvents } from "./deno_socket.ts";
import {
  atCapacity,
  AUTHORIZATION_FAILED,
  checkHandshakeHeaders,
  SHUTTING_DOWN,
} from "./_handshake.ts";

/**
 * Decides an upgrade before it happens: a rejection refuses it (docs/protocol.md §6), an
 * {@link Admitted} lets it in with its credentials' subject, expiry and limits, and
 * undefined lets it in anonymously. The seam for authentication.
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

/** What {@link UpgradeHandler} needs besides what its connections share. */
export interface UpgradeContext extends ConnectionContext {
  readonly admission: Admission;
  readonly upgrade: Upgrader;
  /** Undefined: allow everyone. */
  readonly authorize: Authorize | undefined;
}

/**
 * Takes an upgrade request through the server's checks, cheapest first: shutdown, the
 * handshake's headers, the upgrade rate of its address, the client limit; then its
 * credentials (the {@link Authorize} hook) and the admission slot they fall under. A
 * request that passes them all becomes a {@link Connection}. Every refusal is an HTTP
 * error answer, counted and logged.
 */
export class UpgradeHandler {
  readonly #c: UpgradeContext;

  constructor(context: UpgradeContext) {
    this.#c = context;
  }

  async handle(request: Request, peer: string): Promise<Response> {
    const { registry, admission } = this.#c;
    if (!registry.accepting) return this.#reject(SHUTTING_DOWN, peer);
    const malformed = checkHandshakeHeaders(request);
    if (malformed !== undefined) {
      const response = this.#reject(malformed, peer);
      if (malformed.status === 426) response.headers.set("sec-websocket-version", "13");
      return response;
    }
    const ip = ipOf(peer);
    const rateRefusal = admission.checkHandshakeRate(ip);
    if (rateRefusal !== undefined) return this.#refuse(rateRefusal, peer);
    if (registry.isFull) return this.#rejectAtCapacity(peer);
    registry.reserve();
    const connection = new Connection(peer, this.#c);
    const unauthorized = await this.#authorize(request, peer, connection);
    if (unauthorized !== undefined) return unauthorized;
    const slot = admission.acquire(
      ip,
      connection.admitted?.subject,
      request.headers.get("origin") ?? undefined,
      connection.admitted?.limits?.maxConnections,
    );
    if ("rejection" in slot) {
      connection.release();
      return this.#refuse(slot, peer);
    }
    connection.slot = slot;
    return this.#upgrade(request, connection);
  }

  /**
   * Asks the {@link Authorize} hook and keeps its credentials on `connection`; a refusal
   * (the hook's, or a 500 when it threw) gives back the connection's reservation.
   */
  async #authorize(
    request: Request,
    peer: string,
    connection: Connection,
  ): Promise<Response | undefined> {
    try {
      const decision = await this.#c.authorize?.(request, peer);
      if (decision !== undefined && !("kind" in decision)) {
        connection.release();
        return this.#reject(decision, peer);
      }
      connection.admitted = decision;
      return undefined;
    } catch (error) {
      connection.release();
      this.#c.log.error("Authorization of {peer} failed: {error}", { peer, error });
      return this.#reject(AUTHORIZATION_FAILED, peer);
    }
  }

  #upgrade(request: Request, connection: Connection): Response {
    const { tracing, upgrade } = this.#c;
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
  }

  #rejectAtCapacity(peer: string): Response {
    const { registry } = this.#c;
    this.#c.log.warn("Refused WebSocket connection from {peer}: {count}/{max} clients", {
      peer,
      count: registry.clientCount,
      max: registry.maxClients,
    });
    return this.#reject(atCapacity(registry.maxClients), peer);
  }

  #refuse(refusal: Refusal, peer: string): Response {
    this.#c.telemetry.limitExceeded(refusal.limit);
    this.#c.log.warn("Refused WebSocket connection from {peer}: {limit} ({code})", {
      peer,
      limit: refusal.limit,
      code: refusal.rejection.code,
    });
    return this.#reject(refusal.rejection, peer);
  }

  #reject(rejection: ErrorAnswer, peer: string): Response {
    this.#c.telemetry.handshakeRejected(rejection.code);
    this.#c.serverLog.debug("Refused WebSocket upgrade from {peer}: {status} {code}", () => ({
      peer,
      status: rejection.status,
      code: rejection.code,
      message: rejection.message,
    }));
    return toErrorResponse(rejection);
  }
}
