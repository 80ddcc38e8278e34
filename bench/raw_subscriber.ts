/**
 * A lean WebSocket subscriber on a raw TCP connection, for the event-throughput load. The
 * built-in `WebSocket` costs the load generator about as much per frame as the server
 * spends sending it (an event, a `MessageEvent` and an `ArrayBuffer` each); this reads the
 * socket in large chunks and walks the frame headers, so a frame that only needs counting
 * costs a few byte reads. It speaks RFC 6455 as far as a subscriber needs: the upgrade,
 * masked client frames, unmasked (possibly fragmented) server frames, ping → pong, close.
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const OPCODE_CONTINUATION = 0x0;
const OPCODE_TEXT = 0x1;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const NO_STATUS = 1005;
const ABNORMAL = 1006;
const READ_BYTES = 256 * 1024;
const SMALL_READ_BYTES = 16 * 1024;
const CLOSE_WAIT_MS = 1000;

/** Options for {@link openRawSubscriber}. */
export interface RawSubscriberOptions {
  /** `ws://host:port/path` (with `?hs_token=…` for a server that wants a token). */
  readonly url: string;
  /** The view to subscribe to; none: the connection is only held open. */
  readonly view: string | undefined;
  /** The key to subscribe with (a `state` view needs one). */
  readonly key?: string;
  /**
   * Each data message after the `subscribed` acknowledgement. `payload` is only valid
   * during the call; `at` is when its bytes were read (`performance.now()`).
   */
  readonly onMessage: (payload: Uint8Array, at: number) => void;
  /** The server closed the connection (not called after {@link RawSubscriber.close}). */
  readonly onClose: (code: number) => void;
  /**
   * Milliseconds to wait before the next read after a small one (under 16 KB), asked
   * before every read; default none. Frames trickle in a few at a time when a server
   * writes each on its own, and every read costs about as much as the frames it returns:
   * a pause lets them gather. Only for counting, never while timing frames.
   */
  readonly readPauseMs?: () => number;
}

/** A subscribed connection. */
export interface RawSubscriber {
  /** A copy of the last data message read (copied once per read, not per message). */
  lastMessage(): Uint8Array | undefined;
  /** Sends a close frame and closes the connection once the server answers (or 1 s passes). */
  close(): Promise<void>;
}

/**
 * Connects to `options.url`, subscribes to `options.view` and resolves once acknowledged
 * (without a view, once upgraded).
 */
export async function openRawSubscriber(options: RawSubscriberOptions): Promise<RawSubscriber> {
  const url = new URL(options.url);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  conn.setNoDelay(true);
  const reader = new FrameReader(conn, options);
  try {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeAll(
      conn,
      encoder.encode(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    await reader.handshake();
    if (options.view !== undefined) {
      const subscribe = {
        type: "subscribe",
        view: options.view,
        ...(options.key === undefined ? {} : { key: options.key }),
      };
      await writeAll(conn, clientFrame(OPCODE_TEXT, encoder.encode(JSON.stringify(subscribe))));
      await reader.acknowledged;
    }
  } catch (error) {
    reader.abort();
    throw error;
  }
  return {
    lastMessage: () => reader.last,
    close: () => reader.close(),
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

/** A masked client frame (RFC 6455 §5.3: every client frame is masked). */
function clientFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = new Uint8Array(header + 4 + length);
  const view = new DataView(frame.buffer);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65_536) {
    frame[1] = 0x80 | 126;
    view.setUint16(2, length);
  } else {
    frame[1] = 0x80 | 127;
    view.setBigUint64(2, BigInt(length));
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  frame.set(mask, header);
  for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

/** Reads the connection: the handshake response, then frames until it closes. */
class FrameReader {
  readonly #conn: Deno.Conn;
  readonly #options: RawSubscriberOptions;
  #buffer = new Uint8Array(READ_BYTES);
  #start = 0;
  #end = 0;
  #fragments: Uint8Array[] = [];
  #subscribed = false;
  #closing = false;
  #ended = false;
  #onAck!: () => void;
  #onAckFailed!: (error: Error) => void;
  #onEnded!: () => void;
  readonly #endedPromise = new Promise<void>((resolve) => (this.#onEnded = resolve));
  /** Resolves at the `subscribed` frame. */
  readonly acknowledged: Promise<void> = new Promise((resolve, reject) => {
    this.#onAck = resolve;
    this.#onAckFailed = reject;
  });
  last: Uint8Array | undefined;

  constructor(conn: Deno.Conn, options: RawSubscriberOptions) {
    this.#conn = conn;
    this.#options = options;
    this.acknowledged.catch(() => {}); // handled where it is awaited; never unhandled
  }

  /** Reads the HTTP response to the upgrade; throws unless it is 101. Then reads frames. */
  async handshake(): Promise<void> {
    for (;;) {
      const text = decoder.decode(this.#buffer.subarray(0, this.#end));
      const headerEnd = text.indexOf("\r\n\r\n");
      if (headerEnd >= 0) {
        const status = text.slice(0, text.indexOf("\r\n")).split(" ")[1];
        if (status !== "101") throw new Error(`upgrade answered ${status}: ${text.slice(0, 200)}`);
        this.#start = headerEnd + 4; // the header is ASCII: characters are bytes
        break;
      }
      if (this.#end === this.#buffer.length) throw new Error("upgrade response too long");
      const n = await this.#conn.read(this.#buffer.subarray(this.#end));
      if (n === null) throw new Error("connection closed during the upgrade");
      this.#end += n;
    }
    this.#readLoop().catch(() => this.#finish(ABNORMAL));
  }

  async #readLoop(): Promise<void> {
    this.#parse(performance.now());
    while (!this.#ended) {
      this.#makeRoom(READ_BYTES / 4);
      const n = await this.#conn.read(this.#buffer.subarray(this.#end));
      if (n === null) return this.#finish(ABNORMAL);
      this.#end += n;
      this.#parse(performance.now());
      const pauseMs = n < SMALL_READ_BYTES ? this.#options.readPauseMs?.() ?? 0 : 0;
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  /** Makes at least `bytes` free after `#end`, moving the unread bytes to the front. */
  #makeRoom(bytes: number): void {
    if (this.#buffer.length - this.#end >= bytes) return;
    const live = this.#end - this.#start;
    if (live + bytes > this.#buffer.length) {
      const next = new Uint8Array(Math.max(this.#buffer.length * 2, live + bytes));
      next.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = next;
    } else this.#buffer.copyWithin(0, this.#start, this.#end);
    this.#start = 0;
    this.#end = live;
  }

  /** Handles every complete frame in the buffer. */
  #parse(at: number): void {
    const b = this.#buffer;
    let lastData: Uint8Array | undefined;
    while (this.#end - this.#start >= 2) {
      const s = this.#start;
      const available = this.#end - s;
      let length = b[s + 1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (available < 4) break;
        length = (b[s + 2]! << 8) | b[s + 3]!;
        offset = 4;
      } else if (length === 127) {
        if (available < 10) break;
        const view = new DataView(b.buffer, b.byteOffset + s + 2, 8);
        length = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
        offset = 10;
      }
      if (b[s + 1]! & 0x80) throw new Error("the server masked a frame");
      if (available < offset + length) {
        if (lastData !== undefined) this.last = lastData.slice(); // before the bytes move
        lastData = undefined;
        this.#makeRoom(offset + length - available);
        break;
      }
      const payload = b.subarray(s + offset, s + offset + length);
      this.#start = s + offset + length;
      const fin = (b[s]! & 0x80) !== 0;
      const opcode = b[s]! & 0x0f;
      if (opcode >= OPCODE_CLOSE) this.#control(opcode, payload);
      else if (!fin || opcode === OPCODE_CONTINUATION && this.#fragments.length > 0) {
        this.#fragments.push(payload.slice());
        if (fin) lastData = this.#message(joined(this.#fragments.splice(0)), at);
      } else lastData = this.#message(payload, at);
      if (this.#ended) return;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (lastData !== undefined) this.last = lastData.slice();
  }

  #message(payload: Uint8Array, at: number): Uint8Array {
    if (this.#subscribed) {
      this.#options.onMessage(payload, at);
      return payload;
    }
    const text = decoder.decode(payload);
    if (text.includes('"subscribed"')) {
      this.#subscribed = true;
      this.#onAck();
    } else if (text.includes('"error"')) {
      this.#onAckFailed(new Error(`subscription refused: ${text.slice(0, 200)}`));
    }
    return payload;
  }

  #control(opcode: number, payload: Uint8Array): void {
    if (opcode === OPCODE_PING) {
      writeAll(this.#conn, clientFrame(0xa, payload.slice())).catch(() => {});
    } else if (opcode === OPCODE_CLOSE) {
      const code = payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : NO_STATUS;
      if (!this.#closing) {
        writeAll(this.#conn, clientFrame(OPCODE_CLOSE, payload.slice(0, 2))).catch(() => {});
      }
      this.#finish(code);
    }
  }

  #finish(code: number): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#onAckFailed(new Error(`connection closed (${code}) before the subscription`));
    if (!this.#closing && this.#subscribed) this.#options.onClose(code);
    this.#onEnded();
  }

  async close(): Promise<void> {
    if (this.#ended) return;
    this.#closing = true;
    const payload = new Uint8Array([0x03, 0xe8]); // 1000
    await writeAll(this.#conn, clientFrame(OPCODE_CLOSE, payload)).catch(() => {});
    const timer = setTimeout(() => this.#finish(ABNORMAL), CLOSE_WAIT_MS);
    await this.#endedPromise;
    clearTimeout(timer);
  }

  abort(): void {
    this.#closing = true;
    this.#finish(ABNORMAL);
  }
}

function joined(parts: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}
