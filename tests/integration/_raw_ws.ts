/**
 * A WebSocket client written directly on a TCP connection, for tests that need what the
 * built-in `WebSocket` hides: a client that never reads, the raw HTTP handshake response,
 * and frames as they sit on the wire.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The HTTP response to the upgrade request. */
export interface HandshakeResponse {
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** One server frame as read off the wire. */
export interface WireFrame {
  /** 1 text, 2 binary, 8 close, 9 ping, 10 pong. */
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/** Close code and reason of a close frame. */
export function toClose(frame: WireFrame): { code: number; reason: string } {
  const view = new DataView(frame.payload.buffer, frame.payload.byteOffset);
  return {
    code: frame.payload.length >= 2 ? view.getUint16(0) : 1005,
    reason: decoder.decode(frame.payload.subarray(2)),
  };
}

/** A raw WebSocket connection on 127.0.0.1. Dispose to close the TCP connection. */
export class RawWebSocket implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #closed = false;
  /** Bytes received so far (handshake included). */
  bytesRead = 0;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /**
   * Connects and sends an upgrade request to `path`; returns the socket and the
   * server's HTTP response (101 on success, or the rejection with its body).
   */
  static async open(
    port: number,
    path = "/",
    timeoutMs = 5000,
  ): Promise<{ socket: RawWebSocket; response: HandshakeResponse }> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const socket = new RawWebSocket(conn);
    try {
      const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
      await socket.#write(encoder.encode(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ));
      const response = await socket.#readHttpResponse(Date.now() + timeoutMs);
      return { socket, response };
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.conn.write(bytes.subarray(written));
  }

  /** Reads more bytes into the buffer; false at end of stream. Fails after `deadline`. */
  async #fill(deadline: number): Promise<boolean> {
    if (this.#end === this.#buffer.length) {
      const live = this.#end - this.#start;
      if (live * 2 > this.#buffer.length) {
        const next = new Uint8Array(this.#buffer.length * 2);
        next.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = next;
      } else {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = live;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error("timed out reading from the raw socket");
    // A read cannot be cancelled; closing the connection makes it fail instead.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close();
    }, left);
    try {
      const n = await this.conn.read(this.#buffer.subarray(this.#end));
      if (n === null) return false;
      this.#end += n;
      this.bytesRead += n;
      return true;
    } catch (error) {
      if (timedOut) throw new Error("timed out reading from the raw socket");
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #readHttpResponse(deadline: number): Promise<HandshakeResponse> {
    let headerEnd = -1;
    while (headerEnd < 0) {
      const text = decoder.decode(this.#buffer.subarray(this.#start, this.#end));
      headerEnd = text.indexOf("\r\n\r\n");
      if (headerEnd >= 0) break;
      if (!await this.#fill(deadline)) throw new Error("connection closed during handshake");
    }
    const head = decoder.decode(this.#buffer.subarray(this.#start, this.#start + headerEnd));
    this.#start += headerEnd + 4; // header bytes are ASCII: chars = bytes
    const [statusLine = "", ...lines] = head.split("\r\n");
    const status = Number(statusLine.split(" ")[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body = "";
    if (status !== 101) {
      const length = Number(headers["content-length"] ?? 0);
      while (this.#end - this.#start < length) {
        if (!await this.#fill(deadline)) break;
      }
      body = decoder.decode(this.#buffer.subarray(this.#start, this.#start + length));
      this.#start += length;
    }
    return { status, headers, body };
  }

  /** Sends one masked client frame. */
  async send(opcode: number, payload: Uint8Array): Promise<void> {
    const length = payload.length;
    const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
    const frame = new Uint8Array(header + 4 + length);
    frame[0] = 0x80 | opcode;
    if (length < 126) frame[1] = 0x80 | length;
    else if (length < 65_536) {
      frame[1] = 0x80 | 126;
      new DataView(frame.buffer).setUint16(2, length);
    } else {
      frame[1] = 0x80 | 127;
      new DataView(frame.buffer).setBigUint64(2, BigInt(length));
    }
    const mask = crypto.getRandomValues(new Uint8Array(4));
    frame.set(mask, header);
    for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i]! ^ mask[i % 4]!;
    await this.#write(frame);
  }

  /** Sends a text message (JSON-encoded unless already a string). */
  sendText(message: unknown): Promise<void> {
    return this.send(
      1,
      encoder.encode(typeof message === "string" ? message : JSON.stringify(message)),
    );
  }

  /** Answers a close frame with `code`. */
  sendClose(code: number): Promise<void> {
    const payload = new Uint8Array(2);
    new DataView(payload.buffer).setUint16(0, code);
    return this.send(8, payload);
  }

  /** Reads the next server frame; `undefined` when the server closed the TCP connection. */
  async readFrame(timeoutMs = 5000): Promise<WireFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.#parseFrame();
      if (frame !== undefined) return frame;
      if (!await this.#fill(deadline)) return undefined;
    }
  }

  #parseFrame(): WireFrame | undefined {
    const available = this.#end - this.#start;
    if (available < 2) return undefined;
    const b = this.#buffer;
    const s = this.#start;
    const opcode = b[s]! & 0x0f;
    let length = b[s + 1]! & 0x7f;
    let offset = 2;
    const view = new DataView(b.buffer, b.byteOffset + s);
    if (length === 126) {
      if (available < 4) return undefined;
      length = view.getUint16(2);
      offset = 4;
    } else if (length === 127) {
      if (available < 10) return undefined;
      length = Number(view.getBigUint64(2));
      offset = 10;
    }
    if (available < offset + length) return undefined;
    const payload = b.slice(s + offset, s + offset + length);
    this.#start += offset + length;
    return { opcode, payload };
  }

  /** Closes the TCP connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
