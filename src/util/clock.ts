/** Time, injected so staleness, batching and timeouts can be tested deterministically. */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  now(): number;
  /** Monotonic milliseconds, for measuring durations. */
  monotonic(): number;
  /** Runs `fn` once after `ms`; dispose to cancel. */
  setTimer(ms: number, fn: () => void): Disposable;
}

/** The real clock: the only place in `src/` that touches `Date.now`, `performance.now` and timers. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(ms: number, fn: () => void): Disposable {
    const id = setTimeout(fn, ms);
    return { [Symbol.dispose]: () => clearTimeout(id) };
  },
});
