import { decodeFrame, type SentFrame } from "./memory_transport.ts";

/** A raw WebSocket test client that records every frame it receives. */
export class TestClient implements AsyncDisposable {
  readonly socket: WebSocket;
  readonly frames: SentFrame[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseEvent>;
  #waiters: (() => void)[] = [];
  #pending: Promise<unknown> = Promise.resolve();

  /** `headers` go with the upgrade request (Authorization, Origin). */
  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers });
    this.socket.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      this.socket.addEventListener("open", () => resolve(), { once: true });
      this.socket.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), {
        once: true,
      });
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) =>
      this.socket.addEventListener("close", resolve, { once: true })
    );
    this.socket.addEventListener("message", (event) => {
      const data = typeof event.data === "string"
        ? event.data
        : new Uint8Array(event.data as ArrayBuffer);
      // Decode in arrival order even though gunzip is async.
      this.#pending = this.#pending.then(async () => {
        this.frames.push(await decodeFrame(data));
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  /** Opens a client and waits for the connection. */
  static async connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const client = new TestClient(url, headers);
    await client.opened;
    return client;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Waits until `predicate` holds over the received frames, or fails after `timeoutMs`. */
  async waitFor(
    predicate: (frames: SentFrame[]) => boolean,
    timeoutMs = 5000,
    what = "frames",
  ): Promise<SentFrame[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out waiting for ${what}; got ${
            JSON.stringify(this.frames.map((f) => f.json)).slice(0, 2000)
          }`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.min(left, 50));
      });
      clearTimeout(timer);
    }
    return this.frames;
  }

  /** Frames whose JSON `op` is `op`. */
  ops(op: string): SentFrame[] {
    return this.frames.filter((f) => f.json.op === op);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.socket.readyState === WebSocket.CONNECTING) await this.opened.catch(() => {});
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await this.closed;
    await this.#pending;
  }
}
