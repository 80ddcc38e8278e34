import { VM_DEFAULTS } from "../config/mod.ts";
import type { Clock } from "../util/mod.ts";
import { LruMap } from "../util/mod.ts";
import type { VmTelemetry } from "../telemetry/mod.ts";
import {
  type EntityDefinition,
  type Handler,
  type Patch,
  type PharosEvent,
  type Stack,
  toSeq,
} from "../stack/mod.ts";
import { type HandlerRun, runHandler, toErrorCode } from "./handler_run.ts";
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

/** A handler run that did not produce a mutation. */
export interface HandlerFailure {
  readonly entity: string;
  readonly handler: string;
  /** Bounded error code (`timeout` for cancelled runs). */
  readonly code: string;
  readonly error: unknown;
}

/** What one event produced. */
export interface VmResult {
  readonly mutations: readonly Mutation[];
  readonly failures: readonly HandlerFailure[];
}

/** A failed handler run within a batch, with the index of its event. */
export interface BatchFailure extends HandlerFailure {
  readonly event: number;
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
}

/** Options of one batch. */
export interface BatchOptions {
  /** Record when each event finished (for per-event spans); default false. */
  readonly timings?: boolean;
  /** Index of the first event to run; default 0. */
  readonly from?: number;
  /**
   * Stop after the event during which this much time (ms) has passed since the batch
   * began, leaving the rest for the caller to run after yielding; default no limit. At
   * least one event always runs.
   */
  readonly budgetMs?: number;
}

/** Runs stack handlers over events and keeps per-entity state. */
export interface Vm {
  /**
   * Runs every handler registered for each event's type, in order; handlers that
   * return synchronously run without a promise turn. Never rejects for handler faults.
   */
  processBatch(events: readonly PharosEvent[], options?: BatchOptions): Promise<VmBatchResult>;
  /** One event: {@link Vm.processBatch} of a batch of one. */
  process(event: PharosEvent): Promise<VmResult>;
  /** Current state of one entity (for tests and diagnostics). */
  state(entity: string, key: string): Readonly<Record<string, unknown>> | undefined;
}

/** Options for {@link createVm}. */
export interface VmOptions {
  readonly stack: Stack;
  readonly clock: Clock;
  readonly telemetry: VmTelemetry;
  /** Entities kept per entity type; default {@link VM_DEFAULTS}. */
  readonly stateTableSize?: number;
  /** Time budget of one handler run, ms; default {@link VM_DEFAULTS}. */
  readonly handlerTimeoutMs?: number;
  /** Record per-handler call durations; default {@link VM_DEFAULTS}. */
  readonly functionCallMetrics?: boolean;
}

/** Entity runtime state, plus one prepared {@link HandlerRun} per event type. */
interface EntityRuntime {
  readonly name: string;
  readonly definition: EntityDefinition;
  readonly table: LruMap<string, Record<string, unknown>>;
  readonly appendPaths: readonly string[];
  readonly appendSet: ReadonlySet<string>;
  readonly codes: Set<string>;
  readonly runs: Map<string, HandlerRun>;
  atCapacity: boolean;
}

function isPatch(value: unknown): value is Patch {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Collects one batch's output. */
class BatchOutput implements VmBatchResult {
  next = 0;
  readonly mutations: Mutation[] = [];
  readonly mutationEvents: number[] = [];
  readonly failures: BatchFailure[] = [];
  readonly endedAt: number[] | undefined;
  constructor(timings: boolean) {
    this.endedAt = timings ? [] : undefined;
  }
}

/** Creates the VM for one stack. */
export function createVm(options: VmOptions): Vm {
  const { clock, telemetry } = options;
  const budgetMs = options.handlerTimeoutMs ?? VM_DEFAULTS.handlerTimeoutMs;
  const stateTableSize = options.stateTableSize ?? VM_DEFAULTS.stateTableSize;
  const functionCallMetrics = options.functionCallMetrics ?? VM_DEFAULTS.functionCallMetrics;
  const entities: EntityRuntime[] = [];
  for (const [name, definition] of Object.entries(options.stack.entities)) {
    const appendPaths = [...(definition.append ?? [])];
    const runs = new Map<string, HandlerRun>();
    for (const type of Object.keys(definition.handlers)) {
      runs.set(type, {
        clock,
        budgetMs,
        label: `${name}.${type}`,
        onDuration: functionCallMetrics
          ? (seconds) => telemetry.handlerDuration(name, type, seconds)
          : undefined,
      });
    }
    entities.push({
      name,
      definition,
      table: new LruMap(stateTableSize, () => telemetry.stateTableEviction(name)),
      appendPaths,
      appendSet: new Set(appendPaths),
      codes: new Set(),
      runs,
      atCapacity: false,
    });
  }
  const byName = new Map(entities.map((runtime) => [runtime.name, runtime]));
  // Per-slot arrival counter for events without an explicit index.
  let lastSlot: number | undefined;
  let nextIndex = 0;

  function seqFor(event: PharosEvent): string | undefined {
    if (typeof event.slot !== "number" || !Number.isSafeInteger(event.slot) || event.slot < 0) {
      return undefined;
    }
    if (event.slot !== lastSlot) {
      lastSlot = event.slot;
      nextIndex = 0;
    }
    const index = typeof event.index === "number" && Number.isSafeInteger(event.index) &&
        event.index >= 0
      ? event.index
      : nextIndex;
    nextIndex = Math.max(nextIndex, index + 1);
    return toSeq(event.slot, index);
  }

  function fail(
    out: BatchOutput,
    at: number,
    runtime: EntityRuntime,
    handler: string,
    code: string,
    error: unknown,
  ): void {
    out.failures.push({ entity: runtime.name, handler, code, error, event: at });
    if (code === "timeout") telemetry.handlerCancelled(runtime.name);
    else telemetry.handlerError(runtime.name, code);
  }

  /** The entity key `event` addresses, or undefined to skip (a failure is recorded). */
  function keyOf(out: BatchOutput, at: number, runtime: EntityRuntime, event: PharosEvent) {
    let key: string | undefined;
    try {
      key = runtime.definition.key ? runtime.definition.key(event) : event.key;
    } catch (error) {
      fail(out, at, runtime, event.type, "key_error", error);
      return undefined;
    }
    if (key === undefined) return undefined;
    if (typeof key !== "string" || key === "" || key.includes(":")) {
      const error = new TypeError(`Entity key must be a non-empty string without ":"`);
      fail(out, at, runtime, event.type, "invalid_key", error);
      return undefined;
    }
    return key;
  }

  /** Validates `patch`, merges it into the state table and records the mutation. */
  function commit(
    out: BatchOutput,
    at: number,
    runtime: EntityRuntime,
    key: string,
    patch: Patch | undefined,
    seq: string | undefined,
    type: string,
  ): void {
    if (patch === undefined) return;
    let wire: Record<string, unknown>;
    try {
      if (!isPatch(patch)) throw new TypeError("Handler must return an object patch or undefined");
      wire = toWireValue(patch) as Record<string, unknown>;
    } catch (error) {
      fail(out, at, runtime, type, "invalid_patch", error);
      return;
    }
    if (seq !== undefined) wire._seq = seq;
    const table = runtime.table;
    table.set(key, mergePatch(table.get(key) ?? {}, patch, runtime.appendSet));
    if (table.full !== runtime.atCapacity) {
      runtime.atCapacity = table.full;
      telemetry.stateTableAtCapacity(runtime.name, runtime.atCapacity);
    }
    const append = runtime.appendPaths.length === 0
      ? runtime.appendPaths
      : appendPathsIn(wire, runtime.appendPaths);
    out.mutations.push(
      seq === undefined
        ? { entity: runtime.name, key, patch: wire, append }
        : { entity: runtime.name, key, patch: wire, append, seq },
    );
    out.mutationEvents.push(at);
  }

  /** Runs one entity's handler for the event at `at`; a promise only for async handlers. */
  function runOne(
    out: BatchOutput,
    at: number,
    runtime: EntityRuntime,
    handler: Handler,
    event: PharosEvent,
    seq: string | undefined,
  ): Promise<void> | undefined {
    const key = keyOf(out, at, runtime, event);
    if (key === undefined) return undefined;
    const run = runtime.runs.get(event.type)!;
    const onError = (error: unknown) =>
      fail(out, at, runtime, event.type, toErrorCode(runtime.codes, error), error);
    let result: Patch | undefined | Promise<Patch | undefined>;
    try {
      result = runHandler(handler, runtime.table.get(key), event, key, run);
    } catch (error) {
      onError(error);
      return undefined;
    }
    if (!(result instanceof Promise)) {
      commit(out, at, runtime, key, result, seq, event.type);
      return undefined;
    }
    return result.then((patch) => commit(out, at, runtime, key, patch, seq, event.type), onError);
  }

  async function processBatch(
    events: readonly PharosEvent[],
    batchOptions?: BatchOptions,
  ): Promise<VmBatchResult> {
    const out = new BatchOutput(batchOptions?.timings === true);
    const from = batchOptions?.from ?? 0;
    const deadline = batchOptions?.budgetMs === undefined
      ? Infinity
      : clock.monotonic() + batchOptions.budgetMs;
    let at = from;
    for (; at < events.length; at++) {
      const event = events[at]!;
      const seq = seqFor(event);
      for (const runtime of entities) {
        const handler = runtime.definition.handlers[event.type];
        if (handler === undefined) continue;
        // Entities run in order, each seeing the state the previous events left.
        const pending = runOne(out, at, runtime, handler, event, seq);
        if (pending !== undefined) await pending;
      }
      const now = out.endedAt === undefined && deadline === Infinity ? 0 : clock.monotonic();
      out.endedAt?.push(now);
      if (now >= deadline) {
        at++;
        break;
      }
    }
    out.next = at;
    return out;
  }

  return {
    processBatch,
    async process(event) {
      const { mutations, failures } = await processBatch([event]);
      return { mutations, failures };
    },
    state(entity, key) {
      return byName.get(entity)?.table.get(key);
    },
  };
}
