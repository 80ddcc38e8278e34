import type { Transport } from "../../src/ws/mod.ts";

/** A frame the server sent, decoded for assertions. */
export interface SentFrame {
  readonly binary: boolean;
  readonly bytes: Uint8Array;
  /** Parsed JSON (gunzipped first when gzip). */
  readonly json: Record<string, unknown>;
  readonly gzip: boolean;
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Decodes one server message the way HyperStack's client does. */
export async function decodeFrame(data: string | Uint8Array): Promise<SentFrame> {
  if (typeof data === "string") {
    const bytes = new TextEncoder().encode(data);
    return { binary: false, bytes, json: JSON.parse(data), gzip: false };
  }
  const gzip = data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
  const plain = gzip ? await gunzip(data) : data;
  return { binary: true, bytes: data, json: JSON.parse(new TextDecoder().decode(plain)), gzip };
}

/**
 * An in-memory transport. `stalled = true` makes it behave like a client that stopped
 * reading: everything sent piles up in `bufferedAmount`.
 */
export class MemoryTransport implements Transport {
  readonly sent: (string | Uint8Array)[] = [];
  closedWith: { code: number; reason: string } | undefined;
  stalled = false;
  #buffered = 0;

  get bufferedAmount(): number {
    return this.#buffered;
  }

  send(data: string | Uint8Array): void {
    if (this.closedWith) throw new Error("send after close");
    this.sent.push(data);
    if (this.stalled) this.#buffered += typeof data === "string" ? data.length : data.length;
  }

  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
  }

  /** The client caught up: its buffer empties. */
  drain(): void {
    this.#buffered = 0;
  }

  /** Every sent message, decoded. */
  frames(): Promise<SentFrame[]> {
    return Promise.all(this.sent.map(decodeFrame));
  }
}
