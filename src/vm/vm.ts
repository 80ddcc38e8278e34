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

/** Runs stack handlers over events and keeps per-entity state. */
export interface Vm {
  /** Runs every handler registered for `event.type`; never rejects for handler faults. */
  process(event: PharosEvent): Promise<VmResult>;
  /** Current state of one entity (for tests and diagnostics). */
  state(entity: string, key: string): Readonly<Record<string, unknown>> | undefined;
}

/** Options for {@link createVm}. */
export interface VmOptions {
  readonly stack: Stack;
  readonly clock: Clock;
  readonly telemetry: VmTelemetry;
  /** Entities kept per entity type; default 2500. */
  readonly stateTableSize?: number;
  /** Time budget of one handler run; default 250 ms. */
  readonly handlerTimeoutMs?: number;
  /** Record per-handler call durations (`functionCallMetrics`); default false. */
  readonly functionCallMetrics?: boolean;
}

/** A handler run cancelled for exceeding its time budget. */
export class HandlerTimeoutError extends Error {
  override readonly name = "HandlerTimeoutError";
}

const CODE = /^[A-Za-z0-9_.-]{1,48}$/;
/** Distinct error codes kept per entity before the rest count as `other`: labels stay bounded. */
const MAX_CODES_PER_ENTITY = 32;

interface EntityRuntime {
  readonly name: string;
  readonly definition: EntityDefinition;
  readonly table: LruMap<string, Record<string, unknown>>;
  readonly appendPaths: readonly string[];
  readonly appendSet: ReadonlySet<string>;
  readonly codes: Set<string>;
  atCapacity: boolean;
}

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === "function";
}

function isPatch(value: unknown): value is Patch {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Creates the VM for one stack. */
export function createVm(options: VmOptions): Vm {
  const { clock, telemetry } = options;
  const budgetMs = options.handlerTimeoutMs ?? 250;
  const entities = new Map<string, EntityRuntime>();
  for (const [name, definition] of Object.entries(options.stack.entities)) {
    const appendPaths = [...(definition.append ?? [])];
    entities.set(name, {
      name,
      definition,
      table: new LruMap(options.stateTableSize ?? 2500, () => telemetry.stateTableEviction(name)),
      appendPaths,
      appendSet: new Set(appendPaths),
      codes: new Set(),
      atCapacity: false,
    });
  }
  // Per-slot arrival counter for events without an explicit index.
  let lastSlot: number | undefined;
  let nextIndex = 0;

  function codeOf(runtime: EntityRuntime, error: unknown): string {
    const raw = (error as { code?: unknown })?.code;
    const candidate = typeof raw === "string" && CODE.test(raw)
      ? raw
      : error instanceof Error && CODE.test(error.name)
      ? error.name
      : "unknown";
    if (runtime.codes.has(candidate)) return candidate;
    if (runtime.codes.size >= MAX_CODES_PER_ENTITY) return "other";
    runtime.codes.add(candidate);
    return candidate;
  }

  async function runHandler(
    handler: Handler,
    handlerName: string,
    runtime: EntityRuntime,
    key: string,
    event: PharosEvent,
  ): Promise<Patch | undefined> {
    const controller = new AbortController();
    const started = clock.monotonic();
    let timer: Disposable | undefined;
    try {
      let result = handler(runtime.table.get(key), event, { key, signal: controller.signal });
      if (isThenable<Patch | undefined>(result)) {
        const timeout = new Promise<never>((_, reject) => {
          timer = clock.setTimer(budgetMs, () => {
            const error = new HandlerTimeoutError(
              `Handler ${runtime.name}.${handlerName} exceeded its ${budgetMs} ms budget`,
            );
            controller.abort(error);
            reject(error);
          });
        });
        result = await Promise.race([result, timeout]);
      }
      const elapsedMs = clock.monotonic() - started;
      // A synchronous handler cannot be pre-empted in-process; one that overran its
      // budget still has its result discarded so slow handlers are visible, not silent.
      if (elapsedMs > budgetMs) {
        throw new HandlerTimeoutError(
          `Handler ${runtime.name}.${handlerName} took ${
            elapsedMs.toFixed(1)
          } ms, over its ${budgetMs} ms budget`,
        );
      }
      return result;
    } finally {
      timer?.[Symbol.dispose]();
      if (options.functionCallMetrics) {
        telemetry.handlerDuration(runtime.name, handlerName, (clock.monotonic() - started) / 1000);
      }
    }
  }

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

  return {
    async process(event) {
      const mutations: Mutation[] = [];
      const failures: HandlerFailure[] = [];
      const seq = seqFor(event);
      for (const runtime of entities.values()) {
        const handler = runtime.definition.handlers[event.type];
        if (handler === undefined) continue;
        const fail = (code: string, error: unknown) => {
          failures.push({ entity: runtime.name, handler: event.type, code, error });
          if (code === "timeout") telemetry.handlerCancelled(runtime.name);
          else telemetry.handlerError(runtime.name, code);
        };
        let key: string | undefined;
        try {
          key = runtime.definition.key ? runtime.definition.key(event) : event.key;
        } catch (error) {
          fail("key_error", error);
          continue;
        }
        if (key === undefined) continue;
        if (typeof key !== "string" || key === "" || key.includes(":")) {
          fail("invalid_key", new TypeError(`Entity key must be a non-empty string without ":"`));
          continue;
        }
        let patch: Patch | undefined;
        try {
          patch = await runHandler(handler, event.type, runtime, key, event);
        } catch (error) {
          fail(error instanceof HandlerTimeoutError ? "timeout" : codeOf(runtime, error), error);
          continue;
        }
        if (patch === undefined) continue;
        let wire: Record<string, unknown>;
        try {
          if (!isPatch(patch)) {
            throw new TypeError("Handler must return an object patch or undefined");
          }
          wire = toWireValue(patch) as Record<string, unknown>;
        } catch (error) {
          fail("invalid_patch", error);
          continue;
        }
        if (seq !== undefined) wire._seq = seq;
        const state = runtime.table.get(key) ?? {};
        runtime.table.set(key, mergePatch(state, patch, runtime.appendSet));
        if (runtime.table.full !== runtime.atCapacity) {
          runtime.atCapacity = runtime.table.full;
          telemetry.stateTableAtCapacity(runtime.name, runtime.atCapacity);
        }
        mutations.push({
          entity: runtime.name,
          key,
          patch: wire,
          append: appendPathsIn(wire, runtime.appendPaths),
          ...(seq === undefined ? {} : { seq }),
        });
      }
      return { mutations, failures };
    },
    state(entity, key) {
      return entities.get(entity)?.table.get(key);
    },
  };
}
