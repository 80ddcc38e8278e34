/**
 * Captures of a handler host, from the server's side: the request, the host's answers,
 * the file read chunk by chunk as its reader pulls (so the server holds one chunk, and a
 * slow HTTP client slows only the reads), and a timeout on every step, so that a host that
 * never answers fails the capture instead of hanging it.
 */
import type { Clock } from "../util/mod.ts";
import type { CaptureAnswer, CaptureKind, ServerMessage } from "./protocol.ts";

/** Longest a heap snapshot may take in the host, from the request to the file held. */
export const HEAP_TIMEOUT_MS = 60_000;
/** How much longer than its seconds a CPU profile may take, from the request to the file held. */
export const PROFILE_GRACE_MS = 10_000;
/** Longest the host may take to send one chunk of a held file. */
export const READ_TIMEOUT_MS = 10_000;

/**
 * Why a capture of a handler host failed: `unavailable` (no host right now, or it cannot
 * take that kind), `died` (the host ended first, e.g. killed by the watchdog in a runaway
 * handler), `timeout` (it did not answer in time), `failed` (it tried and failed).
 */
export type HostCaptureFailure = "unavailable" | "died" | "timeout" | "failed";

/** A capture of a handler host failed; `reason` says how (callers answer by it). */
export class HostCaptureError extends Error {
  override readonly name = "HostCaptureError";
  constructor(readonly reason: HostCaptureFailure, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A capture a handler host has taken: its length, and its bytes as they are read. */
export interface HostCapture {
  readonly bytes: number;
  /** Read it to the end, or cancel it: either way the host lets the file go. */
  readonly body: ReadableStream<Uint8Array>;
}

/** What takes captures of the active handler host (`HostPool`). */
export interface HostCaptures {
  /** A CPU profile of the next `seconds`, or a heap snapshot; rejects with {@link HostCaptureError}. */
  capture(what: CaptureKind, seconds: number): Promise<HostCapture>;
}

/** Options for {@link CaptureChannel}. */
export interface CaptureChannelOptions {
  /** Writes a message to the host (a failed write shows as the host ending). */
  readonly send: (message: ServerMessage) => Promise<void>;
  readonly clock: Clock;
}

interface Pending {
  readonly id: number;
  readonly what: CaptureKind;
  /**
   * `asked`: sent; `taking`: the host has begun and runs nothing else; `sampling`: a CPU
   * profile samples while the host runs; `held`: the host holds the file.
   */
  state: "asked" | "taking" | "sampling" | "held";
  bytes: number;
  received: number;
  timer: Disposable | undefined;
  taken: { resolve(capture: HostCapture): void; reject(error: HostCaptureError): void } | undefined;
  /** The chunk asked for and not yet sent. */
  read: { resolve(chunk: Uint8Array): void; reject(error: HostCaptureError): void } | undefined;
}

const LABELS: Record<CaptureKind, string> = { profile: "CPU profile", heap: "heap snapshot" };

/** The server's end of one host's captures. */
export class CaptureChannel {
  readonly #o: CaptureChannelOptions;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;

  constructor(options: CaptureChannelOptions) {
    this.#o = options;
  }

  /**
   * True while the host starts a profiler or takes a heap snapshot: it runs nothing else
   * until it is done (bounded by the capture's timeout).
   */
  get blocking(): boolean {
    for (const entry of this.#pending.values()) {
      if (entry.state === "taking") return true;
    }
    return false;
  }

  /** Asks for a capture; resolves once the host holds the file. */
  take(what: CaptureKind, seconds: number): Promise<HostCapture> {
    const id = ++this.#nextId;
    const entry: Pending = {
      id,
      what,
      state: "asked",
      bytes: 0,
      received: 0,
      timer: undefined,
      taken: undefined,
      read: undefined,
    };
    this.#pending.set(id, entry);
    const taken = new Promise<HostCapture>((resolve, reject) => {
      entry.taken = { resolve, reject };
    });
    const limitMs = what === "heap" ? HEAP_TIMEOUT_MS : seconds * 1000 + PROFILE_GRACE_MS;
    this.#arm(entry, limitMs, `the handler host did not take the ${LABELS[what]} within`);
    this.#send({ t: "capture", id, what, seconds });
    return taken;
  }

  /** Takes one of the host's answers. */
  onMessage(message: CaptureAnswer): void {
    const entry = this.#pending.get(message.id);
    if (entry === undefined) {
      // Late, after a timeout or a cancel: let the host drop what it took.
      if (message.t === "captured") this.#send({ t: "release", id: message.id });
      return;
    }
    switch (message.t) {
      case "capturing":
        entry.state = "taking";
        return;
      case "sampling":
        entry.state = "sampling";
        return;
      case "captured":
        this.#disarm(entry);
        entry.state = "held";
        entry.bytes = message.bytes;
        entry.taken?.resolve({ bytes: message.bytes, body: this.#body(entry) });
        entry.taken = undefined;
        return;
      case "chunk":
        this.#onChunk(entry, message.data);
        return;
      case "capture-failed": {
        const reason = message.reason === "unavailable" ? "unavailable" : "failed";
        this.#fail(entry, new HostCaptureError(reason, message.message));
        return;
      }
    }
  }

  /** The host ended: every capture under way fails with `error`. */
  failAll(error: HostCaptureError): void {
    for (const entry of [...this.#pending.values()]) this.#fail(entry, error);
  }

  #onChunk(entry: Pending, data: string): void {
    const read = entry.read;
    if (read === undefined) return; // a chunk nobody asked for: its read timed out
    this.#disarm(entry);
    entry.read = undefined;
    let chunk: Uint8Array;
    try {
      chunk = Uint8Array.fromBase64(data);
    } catch (error) {
      this.#fail(
        entry,
        new HostCaptureError("failed", "the handler host sent a bad chunk", {
          cause: error,
        }),
      );
      return;
    }
    read.resolve(chunk);
  }

  /** The file as a stream that reads a chunk from the host each time its reader pulls. */
  #body(entry: Pending): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (entry.received >= entry.bytes) {
          this.#pending.delete(entry.id);
          controller.close();
          return;
        }
        const chunk = await this.#read(entry);
        entry.received += chunk.length;
        if (chunk.length === 0 || entry.received > entry.bytes) {
          const error = new HostCaptureError("failed", "the handler host sent a chunk too many");
          this.#fail(entry, error);
          throw error;
        }
        controller.enqueue(chunk);
        if (entry.received === entry.bytes) {
          this.#pending.delete(entry.id);
          controller.close();
        }
      },
      cancel: () => {
        if (!this.#pending.has(entry.id)) return;
        this.#drop(entry);
      },
    }, { highWaterMark: 0 });
  }

  #read(entry: Pending): Promise<Uint8Array> {
    const chunk = new Promise<Uint8Array>((resolve, reject) => {
      entry.read = { resolve, reject };
    });
    this.#arm(entry, READ_TIMEOUT_MS, `the handler host did not send the next chunk within`);
    this.#send({ t: "read", id: entry.id });
    return chunk;
  }

  #arm(entry: Pending, ms: number, what: string): void {
    this.#disarm(entry);
    entry.timer = this.#o.clock.setTimer(ms, () => {
      entry.timer = undefined;
      this.#fail(entry, new HostCaptureError("timeout", `${what} ${ms / 1000} s`));
    });
  }

  #disarm(entry: Pending): void {
    entry.timer?.[Symbol.dispose]();
    entry.timer = undefined;
  }

  #fail(entry: Pending, error: HostCaptureError): void {
    this.#drop(entry);
    entry.taken?.reject(error);
    entry.read?.reject(error);
    entry.taken = undefined;
    entry.read = undefined;
  }

  /** Forgets a capture and tells the host to let it go (a host that is gone ignores it). */
  #drop(entry: Pending): void {
    this.#disarm(entry);
    if (!this.#pending.delete(entry.id)) return;
    this.#send({ t: "release", id: entry.id });
  }

  #send(message: ServerMessage): void {
    this.#o.send(message).catch(() => {}); // a dead pipe shows as the host ending
  }
}
