/**
 * The IPC between the server and its handler host: JSON lines on the host's stdin and
 * stdout, one message per batch each way (and a few per capture, `/debug/…?target=host`).
 * The host also writes one {@link MARK} byte on stdout just before each handler run: a
 * host that dies or hangs mid-batch has said exactly how far it got (the run that took it
 * down is the last one marked), without a message per event. JSON text never contains a raw control byte, so marks and messages
 * cannot be confused.
 */
import type { RowRule, SourceSpec, StackPermissions } from "../stack/mod.ts";

/** The progress byte written before each handler run. */
export const MARK = 0x01;
/** First argument of a `deno compile` executable that is to run as a handler host. */
export const HOST_FLAG = "--pharos-handler-host";

/** What the host needs besides the stack module. */
export interface HostSettings {
  readonly stateTableSize: number;
  readonly handlerTimeoutMs: number;
  readonly functionCallMetrics: boolean;
}

/** A stack as the server sees it from outside the host: its shape, no functions. */
export interface StackManifest {
  readonly name: string;
  readonly entities: Readonly<
    Record<string, {
      readonly handlers: readonly string[];
      readonly append?: readonly string[];
      readonly views?: Readonly<
        Record<string, { sortBy: string; order?: "asc" | "desc"; take?: number }>
      >;
      readonly rows?: RowRule | readonly RowRule[];
    }>
  >;
  readonly sources?: readonly SourceSpec[];
  readonly permissions?: StackPermissions;
}

/** Server → host: replace the host's state tables (a fresh host, before its first run). */
export interface SeedMessage {
  readonly t: "seed";
  /** Per entity, `[key, encoded state]` from least to most recently written. */
  readonly tables: Readonly<Record<string, readonly (readonly [string, unknown])[]>>;
}

/** Server → host: run events `from`… of a batch. */
export interface RunMessage {
  readonly t: "run";
  readonly id: number;
  /** The batch; omitted when it is the one the previous run message carried. */
  readonly events?: readonly unknown[];
  readonly from: number;
  /** Stop after the event during which this much time has passed (ms); null for no limit. */
  readonly budgetMs: number | null;
  readonly timings: boolean;
  /** Report every handler run (`r` in the answer), for trace logs; absent means no. */
  readonly runs?: boolean;
  /** Events not to run (they took a host down). */
  readonly skip: readonly number[];
}

/**
 * Server → host: report your memory and CPU time now (answered with a {@link UsageMessage}
 * once the host reaches it, after the runs sent before it).
 */
export interface UsageRequest {
  readonly t: "usage";
}

/** Host → server, first line: the host has loaded the stack. */
export interface ReadyMessage {
  readonly t: "ready";
  readonly pid: number;
  readonly manifest: StackManifest;
  /** Console output of the module's top-level code. */
  readonly log?: readonly ConsoleLine[];
}

/** Host → server: the stack module could not be loaded (the host exits next). */
export interface FatalMessage {
  readonly t: "fatal";
  readonly message: string;
}

/** `[level, text]` of one `console.*` call inside the host. */
export type ConsoleLine = readonly ["debug" | "info" | "warn" | "error", string];

/** `[entity, key, encoded raw patch, event index]`. */
export type WireMutation = readonly [string, string, unknown, number];
/** `[entity, handler, code, error name, message, event index]`. */
export type WireFailure = readonly [string, string, string, string, string, number];

/** `[entity, handler, event index, key, ms]` of one handler run. */
export type WireRun = readonly [string, string, number, string, number];

/** Host → server: what a run produced. */
export interface DoneMessage {
  readonly t: "done";
  readonly id: number;
  readonly next: number;
  readonly m: readonly WireMutation[];
  readonly f: readonly WireFailure[];
  /** With `functionCallMetrics`: `[entity, handler, seconds]` per run. */
  readonly d?: readonly (readonly [string, string, number])[];
  /** With `timings`: ms from the run message's arrival to the end of each event's handlers. */
  readonly e?: readonly number[];
  /** With `runs`: every handler run, in the order they ended. */
  readonly r?: readonly WireRun[];
  readonly log?: readonly ConsoleLine[];
  /** `[rss, heapUsed]` bytes, at most once a second. */
  readonly mem?: readonly [number, number];
}

/** What a capture takes: a CPU profile (`.cpuprofile`) or a heap snapshot (`.heapsnapshot`). */
export type CaptureKind = "profile" | "heap";

/**
 * Server → host: take a capture of the host (`seconds` of CPU profile; a heap snapshot
 * ignores it). The host answers `capturing`, then (a profile) `sampling`, then `captured`
 * or `capture-failed`; the server then reads the file chunk by chunk (`read`), so neither
 * side holds more than the file and one chunk, and a slow reader slows only the reads.
 */
export interface CaptureMessage {
  readonly t: "capture";
  readonly id: number;
  readonly what: CaptureKind;
  readonly seconds: number;
}

/** Server → host: send the next chunk of capture `id` (the host drops it after the last). */
export interface ReadMessage {
  readonly t: "read";
  readonly id: number;
}

/** Server → host: capture `id` is no longer wanted (its reader went away, or timed out). */
export interface ReleaseMessage {
  readonly t: "release";
  readonly id: number;
}

/**
 * Host → server: capture `id` has begun, and the host runs nothing else until its next
 * message about it (V8 stops the thread to start a profiler or take a snapshot, for
 * 0.1 s to seconds): the watchdog must not take that for a stuck run.
 */
export interface CapturingMessage {
  readonly t: "capturing";
  readonly id: number;
}

/** Host → server: the CPU profile of capture `id` samples; the host runs batches again. */
export interface SamplingMessage {
  readonly t: "sampling";
  readonly id: number;
}

/** Host → server: capture `id` is taken and held, `bytes` long, ready to `read`. */
export interface CapturedMessage {
  readonly t: "captured";
  readonly id: number;
  readonly bytes: number;
}

/** Host → server: the next piece of capture `id`, base64 (the file is UTF-8 JSON). */
export interface ChunkMessage {
  readonly t: "chunk";
  readonly id: number;
  readonly data: string;
}

/**
 * Host → server: capture `id` could not be taken or read. `unavailable`: this host cannot
 * take that kind at all (no inspector); `failed`: this attempt failed.
 */
export interface CaptureFailedMessage {
  readonly t: "capture-failed";
  readonly id: number;
  readonly reason: "unavailable" | "failed";
  readonly message: string;
}

/** The host's answers about captures. */
export type CaptureAnswer =
  | CapturingMessage
  | SamplingMessage
  | CapturedMessage
  | ChunkMessage
  | CaptureFailedMessage;
/** The server's requests about captures. */
export type CaptureRequest = CaptureMessage | ReadMessage | ReleaseMessage;

/** Any message the host writes. */
export type HostMessage =
  | ReadyMessage
  | FatalMessage
  | DoneMessage
  | UsageMessage
  | CaptureAnswer;
/** Any message the server writes. */
export type ServerMessage = SeedMessage | RunMessage | UsageRequest | CaptureRequest;
/** Host → server: the answer to a {@link UsageRequest}. */
export interface UsageMessage {
  readonly t: "usage";
  /** Resident set size, bytes. */
  readonly rss: number;
  /** V8 heap in use, bytes. */
  readonly heapUsed: number;
  /** User plus system CPU time of the host process so far, seconds. */
  readonly cpu: number;
}
