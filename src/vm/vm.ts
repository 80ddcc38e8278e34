import { type IsolationMode, VM_DEFAULTS } from "../config/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { VmTelemetry } from "../telemetry/mod.ts";
import type { Handler, Patch, PharosEvent, Stack } from "../stack/mod.ts";
import { type HandlerRun, runHandler } from "./handler_run.ts";
import {
  BatchOutput,
  createStateTables,
  type EntityRuntime,
  type HandlerFailure,
  type Mutation,
  type VmBatchResult,
  type VmState,
} from "./state_tables.ts";
import { decodeRaw, encodeRaw } from "./raw_value.ts";

/** What one event produced. */
export interface VmResult {
  readonly mutations: readonly Mutation[];
  readonly failures: readonly HandlerFailure[];
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
  /** Indexes of events not to run at all (events that took a handler host down). */
  readonly skip?: ReadonlySet<number>;
  /**
   * Record every handler run (entity, handler, key, duration) in `result.runs`, for trace
   * logs; default false, and then nothing is timed or kept per run.
   */
  readonly runs?: boolean;
}

/** Options of a batch sent ahead ({@link Vm.prefetch}). */
export type PrefetchOptions = Pick<BatchOptions, "timings" | "runs">;

/**
 * What `/status` shows under `handlers`: where handlers run. A VM that runs them elsewhere
 * adds what it knows of that place (the handler hosts: pid, restarts, memory, …).
 */
export interface HandlersStatus {
  /** `inline`: in this process; `process`: in a handler host process. */
  readonly isolation: IsolationMode;
}

/** Runs stack handlers over events and keeps per-entity state. */
export interface Vm {
  /**
   * Runs every handler registered for each event's type, in order; handlers that
   * return synchronously run without a promise turn. Never rejects for handler faults.
   */
  processBatch(events: readonly PharosEvent[], options?: BatchOptions): Promise<VmBatchResult>;
  /**
   * Optional: starts running `events` (from its first event) ahead of the
   * `processBatch` call for the same array, so handlers run while the caller publishes
   * the batch before. The handler host does; the in-process VM has nothing to overlap.
   */
  prefetch?(events: readonly PharosEvent[], options?: PrefetchOptions): void;
  /**
   * Optional: false while handlers cannot run at all (no handler host can be started);
   * `/ready` turns 503 meanwhile. The in-process VM is always available.
   */
  available?(): boolean;
  /** One event: {@link Vm.processBatch} of a batch of one. */
  process(event: PharosEvent): Promise<VmResult>;
  /** Current state of one entity (for tests and diagnostics). */
  state(entity: string, key: string): Readonly<Record<string, unknown>> | undefined;
  /** Writes an entity's state as its most recent entry (a handler host's seed). */
  seed(entity: string, key: string, state: Record<string, unknown>): void;
  /** Every state table and the `_seq` numbering, JSON-safe: a cluster checkpoint's part. */
  exportState(): VmState;
  /** Replaces all state with a checkpoint's ({@link Vm.exportState}); between batches only. */
  importState(state: VmState): void;
  /** The handlers' part of `/status`, read when asked. */
  handlersStatus(): HandlersStatus;
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
  /** `"wire"` (default) or `"raw"` mutations: see `StateTablesOptions.output`. */
  readonly output?: "wire" | "raw";
  /**
   * Called just before each handler run (key function included): the handler host marks
   * progress with it, so the run that took the host down is known.
   */
  readonly onRunStart?: () => void;
}

/** Creates the VM for one stack: handlers run in this process. */
export function createVm(options: VmOptions): Vm {
  const { clock, telemetry } = options;
  const budgetMs = options.handlerTimeoutMs ?? VM_DEFAULTS.handlerTimeoutMs;
  const functionCallMetrics = options.functionCallMetrics ?? VM_DEFAULTS.functionCallMetrics;
  const onRunStart = options.onRunStart;
  const tables = createStateTables({
    stack: options.stack,
    telemetry,
    stateTableSize: options.stateTableSize ?? VM_DEFAULTS.stateTableSize,
    ...(options.output === undefined ? {} : { output: options.output }),
  });
  const sequence = options.output !== "raw";
  /** One prepared {@link HandlerRun} per entity and event type. */
  const runs = new Map<EntityRuntime, Map<string, HandlerRun>>();
  for (const runtime of tables.entities) {
    const byType = new Map<string, HandlerRun>();
    for (const type of Object.keys(runtime.definition.handlers)) {
      byType.set(type, {
        clock,
        budgetMs,
        label: `${runtime.name}.${type}`,
        onDuration: functionCallMetrics
          ? (seconds) => telemetry.handlerDuration(runtime.name, type, seconds)
          : undefined,
      });
    }
    runs.set(runtime, byType);
  }

  /** The entity key `event` addresses, or undefined to skip (a failure is recorded). */
  function keyOf(out: BatchOutput, at: number, runtime: EntityRuntime, event: PharosEvent) {
    let key: string | undefined;
    try {
      key = runtime.definition.key ? runtime.definition.key(event) : event.key;
    } catch (error) {
      tables.fail(out, at, runtime, event.type, "key_error", error);
      return undefined;
    }
    if (key === undefined) return undefined;
    if (typeof key !== "string" || key === "" || key.includes(":")) {
      const error = new TypeError(`Entity key must be a non-empty string without ":"`);
      tables.fail(out, at, runtime, event.type, "invalid_key", error);
      return undefined;
    }
    return key;
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
    onRunStart?.();
    const key = keyOf(out, at, runtime, event);
    if (key === undefined) return undefined;
    const run = runs.get(runtime)!.get(event.type)!;
    const records = out.runs;
    const startedAt = records === undefined ? 0 : clock.monotonic();
    const ended = records === undefined ? undefined : () =>
      records.push({
        entity: runtime.name,
        handler: event.type,
        event: at,
        key,
        durationMs: clock.monotonic() - startedAt,
      });
    const onError = (error: unknown) => {
      ended?.();
      tables.failWith(out, at, runtime, event.type, error);
    };
    let result: Patch | undefined | Promise<Patch | undefined>;
    try {
      result = runHandler(handler, runtime.table.get(key), event, key, run);
    } catch (error) {
      onError(error);
      return undefined;
    }
    if (!(result instanceof Promise)) {
      ended?.();
      tables.commit(out, at, runtime, key, result, seq, event.type);
      return undefined;
    }
    return result.then(
      (patch) => {
        ended?.();
        tables.commit(out, at, runtime, key, patch, seq, event.type);
      },
      onError,
    );
  }

  async function processBatch(
    events: readonly PharosEvent[],
    batchOptions?: BatchOptions,
  ): Promise<VmBatchResult> {
    const out = new BatchOutput(batchOptions?.timings === true, batchOptions?.runs === true);
    const from = batchOptions?.from ?? 0;
    const deadline = batchOptions?.budgetMs === undefined
      ? Infinity
      : clock.monotonic() + batchOptions.budgetMs;
    const skip = batchOptions?.skip;
    let at = from;
    for (; at < events.length; at++) {
      const event = events[at]!;
      const seq = sequence ? tables.seqFor(event) : undefined;
      for (const runtime of skip?.has(at) === true ? [] : tables.entities) {
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
      return tables.runtime(entity)?.table.get(key);
    },
    seed(entity, key, state) {
      tables.runtime(entity)?.table.set(key, state);
    },
    // Handler state may hold bigints and Dates: a checkpoint keeps them tagged (encodeRaw).
    exportState: () => tables.exportState(encodeRaw),
    importState: (state) =>
      tables.importState(state, (encoded) => decodeRaw(encoded) as Record<string, unknown>),
    handlersStatus: () => ({ isolation: "inline" }),
  };
}
