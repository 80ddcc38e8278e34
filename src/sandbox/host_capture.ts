/**
 * Captures inside the handler host, as the server asks for them (see `protocol.ts`): a CPU
 * profile through the prelude's inspector session, a heap snapshot through `node:v8`. The
 * file is held (one at a time, the newest) until the server has read it chunk by chunk or
 * released it. Runs keep going while a profile samples; starting the profiler and taking
 * a heap snapshot stop the host (V8 does either on its only thread), between two runs.
 */
import v8 from "node:v8";
import type { Clock } from "../util/mod.ts";
import type { InspectorPost } from "./host_inspector.ts";
import type {
  CaptureAnswer,
  CaptureFailedMessage,
  CaptureMessage,
  CaptureRequest,
} from "./protocol.ts";

/** Bytes of the file per `chunk` message (1.4 MB of base64 a line, far below the line limit). */
export const CHUNK_BYTES = 1024 * 1024;
/** The CPU profile's sampling interval, as `--cpu-prof`'s default. */
const SAMPLING_INTERVAL_US = 1000;

/** Options for {@link HostCaptures}. */
export interface HostCapturesOptions {
  /** Writes one message to the server. */
  readonly send: (message: CaptureAnswer) => void;
  /** The prelude's session; undefined when the host may not profile. */
  readonly inspector: InspectorPost | undefined;
  readonly clock: Clock;
}

/** This host cannot take a capture of that kind at all. */
class Unavailable extends Error {
  override readonly name = "Unavailable";
}

/** Takes, holds and hands out the host's captures. */
export class HostCaptures {
  readonly #o: HostCapturesOptions;
  #held: { id: number; bytes: Uint8Array; offset: number } | undefined;
  #profiling = false;

  constructor(options: HostCapturesOptions) {
    this.#o = options;
  }

  /**
   * Handles one request. Resolves once the host may run batches again: a heap snapshot
   * has been taken, a profiler has started (it then samples in the background, and its
   * file follows as `captured`).
   */
  handle(message: CaptureRequest): Promise<void> {
    switch (message.t) {
      case "capture": {
        const started = Promise.withResolvers<void>();
        void this.#take(message, started.resolve);
        return started.promise;
      }
      case "read":
        this.#read(message.id);
        break;
      case "release":
        if (this.#held?.id === message.id) this.#held = undefined;
        break;
    }
    return Promise.resolve();
  }

  /** Takes a capture; calls `started` once the host may run batches again. */
  async #take(message: CaptureMessage, started: () => void): Promise<void> {
    const { id } = message;
    try {
      const bytes = message.what === "heap"
        ? await this.#heap(id, started)
        : await this.#profile(message, started);
      this.#held = { id, bytes, offset: 0 };
      this.#o.send({ t: "captured", id, bytes: bytes.length });
    } catch (error) {
      const failed: CaptureFailedMessage = {
        t: "capture-failed",
        id,
        reason: error instanceof Unavailable ? "unavailable" : "failed",
        message: error instanceof Error ? error.message : String(error),
      };
      this.#o.send(failed);
    } finally {
      started();
    }
  }

  async #heap(id: number, started: () => void): Promise<Uint8Array> {
    this.#held = undefined; // the snapshot needs the room more than a file nobody read
    this.#o.send({ t: "capturing", id });
    // Synchronous: V8 serialises the heap into one buffer outside the JS heap (the host's
    // heap limit does not count it), handed over as a one-chunk stream.
    const snapshot = v8.getHeapSnapshot();
    started();
    const parts: Uint8Array[] = [];
    for await (const part of snapshot) parts.push(part as Uint8Array);
    return parts.length === 1 ? parts[0]! : concat(parts);
  }

  async #profile(message: CaptureMessage, started: () => void): Promise<Uint8Array> {
    const post = this.#o.inspector;
    if (post === undefined) {
      throw new Unavailable(
        "the handler host has no inspector session: it was started without diagnostics " +
          "(PHAROS_ADMIN_TOKEN or PHAROS_ADMIN_PORT), or without the sys permission",
      );
    }
    if (this.#profiling) throw new Error("a CPU profile is already being taken in this host");
    this.#profiling = true;
    try {
      // Starting the profiler stops the thread for about 0.1 s (V8 maps the code already
      // compiled): no batch runs meanwhile, and the server's watchdog waits.
      this.#o.send({ t: "capturing", id: message.id });
      await post("Profiler.enable");
      await post("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
      await post("Profiler.start");
      this.#o.send({ t: "sampling", id: message.id });
      started();
      await new Promise<void>((resolve) => this.#o.clock.setTimer(message.seconds * 1000, resolve));
      const { profile } = await post("Profiler.stop") as { profile: unknown };
      return new TextEncoder().encode(JSON.stringify(profile));
    } finally {
      this.#profiling = false;
      await post("Profiler.disable").catch(() => {}); // the profile is taken; nothing to undo
    }
  }

  #read(id: number): void {
    const held = this.#held;
    if (held === undefined || held.id !== id) {
      this.#o.send({
        t: "capture-failed",
        id,
        reason: "failed",
        message: `capture ${id} is not held by the handler host (released, or replaced)`,
      });
      return;
    }
    const end = Math.min(held.offset + CHUNK_BYTES, held.bytes.length);
    const data = held.bytes.subarray(held.offset, end).toBase64();
    held.offset = end;
    if (end === held.bytes.length) this.#held = undefined;
    this.#o.send({ t: "chunk", id, data });
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
