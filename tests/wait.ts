/**
 * The suite's one home for waiting. Tests wait on conditions, never on time:
 *
 * - {@link until} / {@link eventually} poll a condition until it holds (or yields a value);
 *   {@link holdsWithin} says whether it did, for reports that record outcomes;
 * - {@link within} bounds a promise, so a stuck wait fails with a name instead of hanging;
 * - {@link nextTurn} lets queued work run (microtasks, due timers and I/O callbacks): the
 *   barrier after advancing a `FakeClock` whose timers start async work.
 *
 * Time that must really pass (a real external process that only acts on its own clock)
 * goes through {@link realTime}, which takes the reason, so every such wait says why.
 * @module
 */

/** How long a wait may take and how often it looks. */
export interface WaitOptions {
  /** Fail after this long. Default 5 000 ms. */
  readonly timeoutMs?: number;
  /** Look again after this long. Default 10 ms. */
  readonly everyMs?: number;
  /** More to say when the wait fails (what was seen instead). */
  readonly detail?: () => string;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_EVERY_MS = 10;

function toOptions(options: number | WaitOptions | undefined): WaitOptions {
  return typeof options === "number" ? { timeoutMs: options } : options ?? {};
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `attempt` until it returns something other than `undefined` or `false`, and returns
 * that. An attempt that throws counts as "not yet" (a process still starting refuses
 * connections); the last error is the failure's cause. Fails with `timed out waiting for
 * <what>` after the timeout (a number is the timeout in ms).
 */
export async function eventually<T>(
  attempt: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  options?: number | WaitOptions,
): Promise<T> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, everyMs = DEFAULT_EVERY_MS, detail } = toOptions(
    options,
  );
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await attempt();
      if (result !== undefined && result !== false) return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const more = detail === undefined ? "" : `\n${detail()}`;
      const cause = lastError === undefined ? "" : ` (last error: ${lastError})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}${more}`, {
        cause: lastError,
      });
    }
    await pause(everyMs);
  }
}

/** Polls `check` until it holds; see {@link eventually} for errors and the timeout. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  options?: number | WaitOptions,
): Promise<void> {
  await eventually(async () => (await check()) || undefined, what, options);
}

/**
 * Polls `check` like {@link until}, but answers instead of failing: true once it holds,
 * false when the timeout passed first. For reports that record an outcome and go on.
 */
export async function holdsWithin(
  check: () => boolean | Promise<boolean>,
  options?: number | WaitOptions,
): Promise<boolean> {
  return await until(check, "a condition", options).then(() => true, () => false);
}

/**
 * Resolves as `body` does, or fails with `timed out after <ms> ms: <what>` (a stuck
 * `for await` or a reply that never comes would otherwise hang the test).
 */
export async function within<T>(
  ms: number,
  what: string,
  body: Promise<T> | (() => Promise<T>),
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([typeof body === "function" ? body() : body, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One turn of the event loop: every microtask queued so far has run, and so have timers
 * and I/O callbacks already due. After `FakeClock.advance`, it lets the async work the
 * fired timers started reach its next real wait.
 */
export function nextTurn(): Promise<void> {
  return pause(0);
}

/**
 * Lets `ms` of real time pass. Only for what a real external process does on its own clock
 * (a CPU profile needs samples, a resident-set reading needs the process to settle); `why`
 * says which, so the reason sits at every call.
 */
export function realTime(ms: number, why: string): Promise<void> {
  if (why.trim() === "") throw new TypeError("realTime needs a reason");
  return pause(ms);
}
