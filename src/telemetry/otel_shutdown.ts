import { getLogger } from "../log/mod.ts";
import type { Clock } from "../util/mod.ts";

/** One step of shutting OpenTelemetry down: its name (for the warnings) and its work. */
export type ShutdownStep = readonly [string, () => Promise<void>];

/**
 * Runs `steps` in order within `timeoutMs` in all: a step still running at the deadline is
 * abandoned with a warning, and what it had not exported is dropped (a collector that is
 * down must not hold the process). Never rejects.
 */
export async function runShutdownSteps(
  steps: readonly ShutdownStep[],
  options: { readonly timeoutMs: number; readonly clock: Clock },
): Promise<void> {
  const { clock } = options;
  const deadline = clock.monotonic() + options.timeoutMs;
  for (const [name, work] of steps) {
    await withDeadline(name, work, deadline - clock.monotonic(), clock);
  }
}

/** Runs one shutdown step, giving up (with a warning) after `budgetMs`; never rejects. */
async function withDeadline(
  name: string,
  work: () => Promise<void>,
  budgetMs: number,
  clock: Clock,
): Promise<void> {
  const log = getLogger(["pharos", "telemetry"]);
  let timer: Disposable | undefined;
  try {
    const outcome = await Promise.race([
      // The step keeps running if abandoned; its failure must not surface as unhandled.
      work().then(() => "done" as const, (error: unknown) => ({ error })),
      new Promise<"timeout">((resolve) => {
        timer = clock.setTimer(Math.max(0, budgetMs), () => resolve("timeout"));
      }),
    ]);
    if (outcome === "timeout") {
      log.warn("OpenTelemetry shutdown: {step} did not finish in time; dropping what is left", {
        step: name,
      });
    } else if (outcome !== "done") {
      log.warn("OpenTelemetry shutdown: {step} failed: {error}", {
        step: name,
        error: outcome.error,
      });
    }
  } finally {
    timer?.[Symbol.dispose]();
  }
}
