const MINUTE_MS = 60_000;

/** Counts events in fixed one-minute windows (a session's message and byte rate limits). */
export class MinuteCounter {
  #start = -Infinity;
  #count = 0;
  /** Adds `amount` at `now`; returns the window's total. */
  add(now: number, amount: number): number {
    if (now - this.#start >= MINUTE_MS) {
      this.#start = now;
      this.#count = 0;
    }
    this.#count += amount;
    return this.#count;
  }
}
