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
  const transport: Transport = {
    send: (data) => socket.send(data),
    close: (code, reason) => socket.close(code, reason),
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
  };
  socket.onopen = () => events.onOpen(transport);
  socket.onmessage = (event) => events.onMessage(event.data);
  socket.onclose = (event) => events.onClose(event.code, event.reason);
  socket.onerror = (event) => events.onError((event as ErrorEvent).error ?? event);
  return response;
}
