import { Session } from "node:inspector";
import v8 from "node:v8";
import type { CaptureKind } from "../sandbox/mod.ts";
import type { Clock } from "../util/mod.ts";

/** A capture ready to send: its length and its bytes. */
export interface CaptureFile {
  readonly bytes: number;
  /** Read it to the end or cancel it: either way whoever holds the file lets it go. */
  readonly body: ReadableStream<Uint8Array>;
}

/**
 * What takes captures of one process: the server's own ({@link createServerCaptures}), or
 * the active handler host's (`Handlers.captures`).
 */
export interface CaptureTarget {
  /** A CPU profile of the next `seconds`, or a heap snapshot (`seconds` is then unused). */
  capture(what: CaptureKind, seconds: number): Promise<CaptureFile>;
}

/** This server cannot take CPU profiles of itself: it was not granted the inspector. */
export class ProfilerUnavailableError extends Error {
  override readonly name = "ProfilerUnavailableError";
}

/** The CPU profile's sampling interval, as `--cpu-prof`'s default. */
const SAMPLING_INTERVAL_US = 1000;
/** Bytes handed to the response at a time. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Captures of this process, as Deno 2.9.6 allows them from inside: a CPU profile through a
 * `node:inspector` session (which needs `sys` "inspector": the `server` permission set
 * grants it, `--allow-sys` does too), sampled while the server goes on serving; a heap
 * snapshot through `node:v8` `getHeapSnapshot` (no permission, no temporary file), which
 * stops the server's only thread while V8 writes it.
 */
export function createServerCaptures(clock: Clock): CaptureTarget {
  return {
    async capture(what, seconds) {
      const bytes = what === "heap" ? await heapSnapshot() : await cpuProfile(clock, seconds);
      return { bytes: bytes.length, body: chunked(bytes) };
    },
  };
}

async function heapSnapshot(): Promise<Uint8Array> {
  // V8 writes the whole snapshot into one buffer (outside the JS heap), handed over as a
  // one-chunk stream.
  const parts: Uint8Array[] = [];
  for await (const part of v8.getHeapSnapshot()) parts.push(part as Uint8Array);
  if (parts.length === 1) return parts[0]!;
  return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
}

async function cpuProfile(clock: Clock, seconds: number): Promise<Uint8Array> {
  const session = new Session();
  try {
    session.connect();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    throw new ProfilerUnavailableError(
      "CPU profiles of the server need the inspector, which Deno grants with the sys " +
        'permission ("sys": ["inspector"] in the server permission set, which deno task start ' +
        "uses, or --allow-sys)",
      { cause: error },
    );
  }
  const post = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      session.post(method, params, (error, result) => error ? reject(error) : resolve(result));
    });
  try {
    await post("Profiler.enable");
    await post("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
    await post("Profiler.start");
    await new Promise<void>((resolve) => clock.setTimer(seconds * 1000, resolve));
    const { profile } = await post("Profiler.stop") as { profile: unknown };
    return new TextEncoder().encode(JSON.stringify(profile));
  } finally {
    session.disconnect();
  }
}

/** `bytes` as a stream of slices, each made when the reader pulls. */
export function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const end = Math.min(offset + CHUNK_BYTES, bytes.length);
      if (end > offset) controller.enqueue(bytes.subarray(offset, end));
      offset = end;
      if (offset >= bytes.length) controller.close();
    },
  }, { highWaterMark: 0 });
}
