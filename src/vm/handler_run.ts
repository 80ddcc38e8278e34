import type { Handler, Patch, PharosEvent } from "../stack/mod.ts";
import type { Clock } from "../util/mod.ts";

/** A handler run cancelled for exceeding its time budget. */
export class HandlerTimeoutError extends Error {
  override readonly name = "HandlerTimeoutError";
}

const CODE = /^[A-Za-z0-9_.-]{1,48}$/;
/** Distinct error codes kept per entity before the rest count as `other`: labels stay bounded. */
const MAX_CODES_PER_ENTITY = 32;

/** The bounded error code of a failed run: the error's `code`, else its name, else `unknown`. */
export function toErrorCode(seen: Set<string>, error: unknown): string {
  if (error instanceof HandlerTimeoutError) return "timeout";
  const raw = (error as { code?: unknown })?.code;
  const candidate = typeof raw === "string" && CODE.test(raw)
    ? raw
    : error instanceof Error && CODE.test(error.name)
    ? error.name
    : "unknown";
  if (seen.has(candidate)) return candidate;
  if (seen.size >= MAX_CODES_PER_ENTITY) return "other";
  seen.add(candidate);
  return candidate;
}

/**
 * The third argument a handler receives. The abort signal is made only when a handler
 * reads it: most never do, and an AbortController per run was a measurable share of the
 * event path.
 */
class HandlerContext {
  readonly key: string;
  #controller: AbortController | undefined;
  constructor(key: string) {
    this.key = key;
  }
  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }
  abort(reason: unknown): void {
    (this.#controller ??= new AbortController()).abort(reason);
  }
}

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === "function";
}

/** What one handler run needs besides the handler. */
export interface HandlerRun {
  readonly clock: Clock;
  readonly budgetMs: number;
  /** `Entity.handler`, for messages. */
  readonly label: string;
  /** Told the run's duration in seconds (`functionCallMetrics`), when set. */
  readonly onDuration: ((seconds: number) => void) | undefined;
}

/**
 * Runs one handler within its budget. A synchronous handler returns synchronously (no
 * promise, no microtask turn); an async one races a budget timer. A synchronous handler
 * cannot be pre-empted in-process: one that overran its budget has its result discarded,
 * so slow handlers are visible, not silent.
 */
export function runHandler(
  handler: Handler,
  state: Readonly<Record<string, unknown>> | undefined,
  event: PharosEvent,
  key: string,
  run: HandlerRun,
): Patch | undefined | Promise<Patch | undefined> {
  const started = run.clock.monotonic();
  const context = new HandlerContext(key);
  let result: unknown;
  try {
    result = handler(state, event, context);
  } catch (error) {
    run.onDuration?.((run.clock.monotonic() - started) / 1000);
    throw error;
  }
  if (!isThenable<Patch | undefined>(result)) {
    finish(run, started);
    return result as Patch | undefined;
  }
  return raceBudget(result, context, run, started);
}

async function raceBudget(
  result: PromiseLike<Patch | undefined>,
  context: HandlerContext,
  run: HandlerRun,
  started: number,
): Promise<Patch | undefined> {
  let timer: Disposable | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = run.clock.setTimer(run.budgetMs, () => {
        const error = new HandlerTimeoutError(
          `Handler ${run.label} exceeded its ${run.budgetMs} ms budget`,
        );
        context.abort(error);
        reject(error);
      });
    });
    const patch = await Promise.race([result, timeout]);
    checkBudget(run, started);
    return patch;
  } finally {
    timer?.[Symbol.dispose]();
    run.onDuration?.((run.clock.monotonic() - started) / 1000);
  }
}

function finish(run: HandlerRun, started: number): void {
  run.onDuration?.((run.clock.monotonic() - started) / 1000);
  checkBudget(run, started);
}

function checkBudget(run: HandlerRun, started: number): void {
  const elapsedMs = run.clock.monotonic() - started;
  if (elapsedMs > run.budgetMs) {
    throw new HandlerTimeoutError(
      `Handler ${run.label} took ${elapsedMs.toFixed(1)} ms, over its ${run.budgetMs} ms budget`,
    );
  }
}
