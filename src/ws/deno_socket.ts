import type { Transport } from "./transport.ts";

/** Socket events a session adapter reacts to. */
export interface SocketEvents {
  onOpen(transport: Transport): void;
  onMessage(data: string | ArrayBuffer): void;
  onClose(code: number, reason: string): void;
  onError(error: unknown): void;
}

/**
 * Upgrades `request` with `Deno.upgradeWebSocket`: the one place that touches a real
 * WebSocket. Returns the 101 response to hand back to `Deno.serve`.
 */
export function upgradeToSocket(request: Request, events: SocketEvents): Response {
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.binaryType = "arraybuffer";
  const adapter = new DenoSocket(socket, events);
  // One listener object for all four events: no per-connection closures and no
  // `on*` wrapper functions.
  socket.addEventListener("open", adapter);
  socket.addEventListener("message", adapter);
  socket.addEventListener("close", adapter);
  socket.addEventListener("error", adapter);
  return response;
}

/** The transport over one socket, and the socket's single event listener. */
class DenoSocket implements Transport, EventListenerObject {
  readonly #socket: WebSocket;
  readonly #events: SocketEvents;
  constructor(socket: WebSocket, events: SocketEvents) {
    this.#socket = socket;
    this.#events = events;
  }
  send(data: string | Uint8Array): void {
    this.#socket.send(data);
  }
  close(code?: number, reason?: string): void {
    this.#socket.close(code, reason);
  }
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }
  handleEvent(event: Event): void {
    switch (event.type) {
      case "open":
        // Fires once: dropping the listener frees its entry for the socket's lifetime.
        this.#socket.removeEventListener("open", this);
        return this.#events.onOpen(this);
      case "message":
        return this.#events.onMessage((event as MessageEvent).data);
      case "close":
        return this.#events.onClose((event as CloseEvent).code, (event as CloseEvent).reason);
      case "error":
        return this.#events.onError((event as ErrorEvent).error ?? event);
    }
  }
}
