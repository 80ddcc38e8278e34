import { type HostMessage, MARK } from "./protocol.ts";

const NEWLINE = 0x0a;
/** Longest message a host may send: far above any batch's answer, far below harm. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * Splits a host's stdout into progress marks (counted) and JSON-line messages (handed on).
 * Marks only ever come between messages; a mark or any other stray byte inside a line
 * makes the line invalid JSON, which is a protocol error.
 */
export class StdoutParser {
  /** Marks seen so far. */
  marks = 0;
  /** Why the last {@link StdoutParser.feed} returned false. */
  error: string | undefined;
  readonly #onMessage: (message: HostMessage) => void;
  readonly #decoder = new TextDecoder();
  #pieces: Uint8Array[] = [];
  #pieceBytes = 0;

  constructor(onMessage: (message: HostMessage) => void) {
    this.#onMessage = onMessage;
  }

  /** Takes one chunk; false on a protocol error (the host must then be stopped). */
  feed(chunk: Uint8Array): boolean {
    let at = 0;
    while (at < chunk.length) {
      if (this.#pieceBytes === 0) {
        while (at < chunk.length && chunk[at] === MARK) {
          this.marks++;
          at++;
        }
        if (at === chunk.length) return true;
      }
      const newline = chunk.indexOf(NEWLINE, at);
      if (newline === -1) {
        this.#pieces.push(chunk.subarray(at));
        this.#pieceBytes += chunk.length - at;
        if (this.#pieceBytes > MAX_LINE_BYTES) return this.#fail("a message over 64 MiB");
        return true;
      }
      if (!this.#line(chunk.subarray(at, newline))) return false;
      at = newline + 1;
    }
    return true;
  }

  #line(end: Uint8Array): boolean {
    let bytes = end;
    if (this.#pieces.length > 0) {
      bytes = new Uint8Array(this.#pieceBytes + end.length);
      let offset = 0;
      for (const piece of this.#pieces) {
        bytes.set(piece, offset);
        offset += piece.length;
      }
      bytes.set(end, offset);
      this.#pieces = [];
      this.#pieceBytes = 0;
    }
    let message: unknown;
    try {
      message = JSON.parse(this.#decoder.decode(bytes));
    } catch {
      return this.#fail("output that is not a JSON message (guest code writing to stdout?)");
    }
    if (
      typeof message !== "object" || message === null ||
      typeof (message as HostMessage).t !== "string"
    ) {
      return this.#fail("a JSON value that is not a message");
    }
    this.#onMessage(message as HostMessage);
    return true;
  }

  #fail(error: string): false {
    this.error = error;
    return false;
  }
}
