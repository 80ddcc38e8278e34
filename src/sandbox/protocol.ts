/**
 * The IPC between the server and its handler host: JSON lines on the host's stdin and
 * stdout, one message per batch each way. The host also writes one {@link MARK} byte on
 * stdout just before each handler run: a host that dies or hangs mid-batch has said
 * exactly how far it got (the run that took it down is the last one marked), without a
 * message per event. JSON text never contains a raw control byte, so marks and messages
 * cannot be confused.
 */
import type { SourceSpec, StackPermissions } from "../stack/mod.ts";

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

/** Any message the host writes. */
export type HostMessage = ReadyMessage | FatalMessage | DoneMessage | UsageMessage;
/** Any message the server writes. */
export type ServerMessage = SeedMessage | RunMessage | UsageRequest;
