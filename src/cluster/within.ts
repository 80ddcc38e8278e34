import type { Clock } from "../util/mod.ts";

/**
 * `promise`, or a rejection (`what timed out`) once `ms` have passed on `clock`: a Redis
 * that stopped answering must not hold a probe or a `/status` request for long.
 */
export function withinMs<T>(
  clock: Clock,
  ms: number,
  promise: Promise<T>,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timeout = clock.setTimer(ms, () => reject(new Error(`${what} timed out`)));
    promise.then(resolve, reject).finally(() => timeout[Symbol.dispose]());
  });
}
