import type { PharosEvent } from "../../src/stack/mod.ts";

/** Orders events of the feed's log by (slot, index); both must be set on logged events. */
function compareToCursor(event: PharosEvent, cursor: string): number {
  const [slot, index] = cursor.split(":").map(Number) as [number, number];
  return (event.slot ?? 0) !== slot ? (event.slot ?? 0) - slot : (event.index ?? 0) - index;
}

/**
 * A real upstream event feed on 127.0.0.1 for the upstream source. It keeps a log of
 * published events (each with `slot` and `index`); a client that sends
 * `{"type":"subscribe","from":"<_seq>"}` gets the log replayed from that cursor
 * *inclusive* (all of it without `from`) as one array message, then live events.
 * `kill()` stops it like a dying upstream (connections get 1001); `revive()` listens
 * again on the same port with the same log.
 */
export class UpstreamFeed implements AsyncDisposable {
  /** Handshake headers of every connection, in order. */
  readonly requests: Headers[] = [];
  /** Every message clients sent, parsed. */
  readonly subscribes: Record<string, unknown>[] = [];
  /** Close codes of finished connections, as the feed saw them. */
  readonly closeCodes: number[] = [];
  /** Open connections. */
  readonly sockets = new Set<WebSocket>();
  /** Published events; push to it to have them replayed without sending them live. */
  readonly log: PharosEvent[] = [];
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #port: number;

  constructor(port = 0) {
    this.#port = port;
    this.revive();
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.#port}/feed`;
  }

  /** Listens (again) on the feed's port. */
  revive(): void {
    if (this.#server !== undefined) throw new Error("the feed is already running");
    this.#server = Deno.serve(
      { port: this.#port, hostname: "127.0.0.1", onListen() {} },
      (request) => this.#accept(request),
    );
    this.#port = this.#server.addr.port;
  }

  /** Stops listening and closes every connection (1001), like an upstream going down. */
  async kill(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.shutdown();
  }

  /** Appends to the log and sends each event as its own message to every live client. */
  publish(...events: PharosEvent[]): void {
    this.log.push(...events);
    for (const event of events) this.send(JSON.stringify(event));
  }

  /** Sends a raw message to every live client. */
  send(data: string | Uint8Array): void {
    for (const socket of this.sockets) socket.send(data);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }

  #accept(request: Request): Response {
    this.requests.push(new Headers(request.headers));
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () => this.sockets.add(socket);
    socket.onclose = (event) => {
      this.sockets.delete(socket);
      this.closeCodes.push(event.code);
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as Record<string, unknown>;
      this.subscribes.push(message);
      if (message.type !== "subscribe") return;
      const from = typeof message.from === "string" ? message.from : undefined;
      const replay = this.log.filter((e) => from === undefined || compareToCursor(e, from) >= 0);
      if (replay.length > 0) socket.send(JSON.stringify(replay));
    };
    return response;
  }
}
