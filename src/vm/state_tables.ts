import {
  HANDLER_CANCEL_REASONS,
  type HandlerCancelReason,
  type VmTelemetry,
} from "../telemetry/mod.ts";
import { LruMap } from "../util/mod.ts";
import {
  createSeqCounter,
  type EntityDefinition,
  type Patch,
  type PharosEvent,
  type SeqCounterState,
  type Stack,
} from "../stack/mod.ts";
import { toErrorCode } from "./handler_run.ts";
import { appendPathsIn, mergePatch } from "./merge.ts";
import { toWireValue } from "./wire_value.ts";

/** One entity change produced by a handler run, in wire form. */
export interface Mutation {
  readonly entity: string;
  readonly key: string;
  /** JSON-safe partial entity; carries `_seq` when the event had a slot. */
  readonly patch: Readonly<Record<string, unknown>>;
  /** Append paths present in `patch`. */
  readonly append: readonly string[];
  readonly seq?: string;
}

/**
 * The state tables as a checkpoint holds them: every entity type's entries, least recently
 * used first (so loading them in order rebuilds the same LRU order), in the JSON-safe
 * encoding of `encodeRaw`, and where `_seq` numbering stands.
 */
export interface VmState {
  readonly tables: Readonly<Record<string, readonly (readonly [string, unknown])[]>>;
  /** The slot of the last event with one, and the next arrival index within it. */
  readonly seq: SeqCounterState;
}

/** A handler run that did not produce a mutation. */
export interface HandlerFailure {
  readonly entity: string;
  readonly handler: string;
  /**
   * Bounded error code: the thrown error's code or name, `timeout` for a run over its
   * budget, `memory` or `crash` for a run that took its handler host down.
   */
  readonly code: string;
  readonly error: unknown;
}

/** A failed handler run within a batch, with the index of its event. */
export interface BatchFailure extends HandlerFailure {
  readonly event: number;
}

/** One round trip of a batch to the handler host (see `vm.handler_host` spans). */
export interface HostRun {
  /** Monotonic ms when the batch was sent, and when its answer (or the host's end) came. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly pid: number;
  /** Events sent (from the batch's `from` on). */
  readonly events: number;
  /** `ok`, or how the host ended before answering. */
  readonly outcome: "ok" | HandlerCancelReason;
}

/** One handler run, recorded when a batch asks for `runs` (trace logging). */
export interface HandlerRunRecord {
  readonly entity: string;
  /** The handler's name: the event type. */
  readonly handler: string;
  /** Index (in the batch) of the event it ran for. */
  readonly event: number;
  readonly key: string;
  /** Wall time of the run, ms (an async run's includes its waits). */
  readonly durationMs: number;
}

/** What one batch produced, in event order. */
export interface VmBatchResult {
  /** Index of the first event not run (the events' length when all ran). */
  readonly next: number;
  readonly mutations: readonly Mutation[];
  /** `mutationEvents[i]` is the index (in the batch) of the event behind `mutations[i]`. */
  readonly mutationEvents: readonly number[];
  readonly failures: readonly BatchFailure[];
  /**
   * With `timings`: `endedAt[j]` is the clock's monotonic time when the handlers of event
   * `from + j` finished (so it ran from `endedAt[j - 1]`, or the batch's start, to
   * `endedAt[j]`).
   */
  readonly endedAt: readonly number[] | undefined;
  /** With `timings`, when the batch ran in a handler host: each round trip to it. */
  readonly hostRuns?: readonly HostRun[] | undefined;
  /** With `runs`: every handler run whose key resolved, in the order they ended. */
  readonly runs?: readonly HandlerRunRecord[] | undefined;
}

/** Collects one batch's output. */
export class BatchOutput implements VmBatchResult {
  next = 0;
  readonly mutations: Mutation[] = [];
  readonly mutationEvents: number[] = [];
  readonly failures: BatchFailure[] = [];
  readonly endedAt: number[] | undefined;
  hostRuns: HostRun[] | undefined;
  readonly runs: HandlerRunRecord[] | undefined;
  constructor(timings: boolean, runs = false) {
    this.endedAt = timings ? [] : undefined;
    this.runs = runs ? [] : undefined;
  }
}

/** Runtime state of one entity type. */
export interface EntityRuntime {
  readonly name: string;
  readonly definition: EntityDefinition;
  readonly table: LruMap<string, Record<string, unknown>>;
  readonly appendPaths: readonly string[];
  readonly appendSet: ReadonlySet<string>;
  /** Error codes seen so far: labels stay bounded (see `toErrorCode`). */
  readonly codes: Set<string>;
  atCapacity: boolean;
}

/** Options for {@link createStateTables}. */
export interface StateTablesOptions {
  readonly stack: Stack;
  readonly telemetry: VmTelemetry;
  readonly stateTableSize: number;
  /**
   * `"wire"` (default): mutations carry JSON-safe patches with `_seq`. `"raw"`: they carry
   * the handler's own patch (bigints and all) and no `_seq`: a handler host's output,
   * which the server turns into wire form itself.
   */
  readonly output?: "wire" | "raw";
  /**
   * Turns a patch into its wire form; default `toWireValue`. The server side of a handler
   * host keeps its tables in the host's encoding and passes the matching converter.
   */
  readonly toWire?: (patch: Patch) => unknown;
}

/**
 * The per-entity state tables (LRU) and what changes them: patches merged, failures
 * counted, `_seq` cursors numbered. Shared by the in-process VM, the handler host (which
 * keeps a mirror) and the server side of a host (which keeps the authoritative tables).
 */
export interface StateTables {
  readonly entities: readonly EntityRuntime[];
  runtime(entity: string): EntityRuntime | undefined;
  /** The `_seq` cursor of `event`; call once per event, in order (slot-local numbering). */
  seqFor(event: PharosEvent): string | undefined;
  /** The tables and `_seq` numbering, each state passed through `encode`. */
  exportState(encode: (state: Record<string, unknown>) => unknown): VmState;
  /**
   * Replaces every table and the `_seq` numbering with `state`'s (entity types it does not
   * name end empty), each state passed through `decode`.
   */
  importState(state: VmState, decode: (encoded: unknown) => Record<string, unknown>): void;
  /** Records a failed run of event `at` and counts it (a cancellation for {@link CANCEL_CODES}). */
  fail(
    out: BatchOutput,
    at: number,
    runtime: EntityRuntime,
    handler: string,
    code: string,
    error: unknown,
  ): void;
  /** {@link StateTables.fail} with the code taken from the error (bounded per entity). */
  failWith(
    out: BatchOutput,
    at: number,
    runtime: EntityRuntime,
    handler: string,
    error: unknown,
  ): void;
  /** Validates `patch`, merges it into the state table and records the mutation. */
  commit(
    out: BatchOutput,
    at: number,
    runtime: EntityRuntime,
    key: string,
    patch: Patch | undefined,
    seq: string | undefined,
    type: string,
  ): void;
}

/** Failure codes of cancelled runs (`handler_cancellations_total{reason}`), not errors. */
export const CANCEL_CODES: ReadonlySet<string> = new Set<string>(HANDLER_CANCEL_REASONS);

function isPatch(value: unknown): value is Patch {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Creates the state tables of one stack. */
export function createStateTables(options: StateTablesOptions): StateTables {
  const { telemetry } = options;
  const raw = options.output === "raw";
  const wireOf = options.toWire ?? toWireValue;
  const entities: EntityRuntime[] = Object.entries(options.stack.entities).map((
    [name, definition],
  ) => {
    const appendPaths = [...(definition.append ?? [])];
    return {
      name,
      definition,
      table: new LruMap(options.stateTableSize, () => telemetry.stateTableEviction(name)),
      appendPaths,
      appendSet: new Set(appendPaths),
      codes: new Set<string>(),
      atCapacity: false,
    };
  });
  const byName = new Map(entities.map((runtime) => [runtime.name, runtime]));
  const seqs = createSeqCounter();

  const fail: StateTables["fail"] = (out, at, runtime, handler, code, error) => {
    out.failures.push({ entity: runtime.name, handler, code, error, event: at });
    if (CANCEL_CODES.has(code)) {
      telemetry.handlerCancelled(runtime.name, code as HandlerCancelReason);
    } else telemetry.handlerError(runtime.name, code);
  };

  return {
    entities,
    runtime: (entity) => byName.get(entity),
    seqFor: (event) => seqs.next(event)?.seq,
    exportState(encode) {
      const tables: Record<string, (readonly [string, unknown])[]> = {};
      for (const runtime of entities) {
        tables[runtime.name] = [...runtime.table.entries()].map(([key, state]) =>
          [key, encode(state)] as const
        );
      }
      return { tables, seq: seqs.state() };
    },
    importState(state, decode) {
      for (const runtime of entities) {
        for (const key of [...runtime.table.keys()]) runtime.table.delete(key);
        for (const [key, encoded] of state.tables[runtime.name] ?? []) {
          runtime.table.set(key, decode(encoded));
        }
        if (runtime.table.full !== runtime.atCapacity) {
          runtime.atCapacity = runtime.table.full;
          telemetry.stateTableAtCapacity(runtime.name, runtime.atCapacity);
        }
      }
      seqs.restore(state.seq);
    },
    fail,
    failWith(out, at, runtime, handler, error) {
      fail(out, at, runtime, handler, toErrorCode(runtime.codes, error), error);
    },
    commit(out, at, runtime, key, patch, seq, type) {
      if (patch === undefined) return;
      let wire: Record<string, unknown>;
      try {
        if (!isPatch(patch)) {
          throw new TypeError("Handler must return an object patch or undefined");
        }
        wire = raw ? patch : wireOf(patch) as Record<string, unknown>;
      } catch (error) {
        fail(out, at, runtime, type, "invalid_patch", error);
        return;
      }
      const table = runtime.table;
      table.set(key, mergePatch(table.get(key) ?? {}, patch, runtime.appendSet));
      if (table.full !== runtime.atCapacity) {
        runtime.atCapacity = table.full;
        telemetry.stateTableAtCapacity(runtime.name, runtime.atCapacity);
      }
      if (raw) {
        out.mutations.push({ entity: runtime.name, key, patch, append: runtime.appendPaths });
        out.mutationEvents.push(at);
        return;
      }
      if (seq !== undefined) wire._seq = seq;
      const append = runtime.appendPaths.length === 0
        ? runtime.appendPaths
        : appendPathsIn(wire, runtime.appendPaths);
      out.mutations.push(
        seq === undefined
          ? { entity: runtime.name, key, patch: wire, append }
          : { entity: runtime.name, key, patch: wire, append, seq },
      );
      out.mutationEvents.push(at);
    },
  };
}
