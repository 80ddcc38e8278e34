/**
 * The narrow view of a socket a session needs. Only `deno_socket.ts` adapts a real
 * WebSocket to it; tests use an in-memory transport that can play a slow consumer.
 */
export interface Transport {
  /** Sends a text (string) or binary (bytes) message. */
  send(data: string | Uint8Array): void;
  /** Starts the closing handshake. */
  close(code: number, reason: string): void;
  /** Bytes handed to `send` but not yet written to the network. */
  readonly bufferedAmount: number;
}
