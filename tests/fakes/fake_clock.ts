import type { Clock } from "../../src/util/mod.ts";

/** A clock that only moves when told to: `advance(ms)` fires due timers in order. */
export class FakeClock implements Clock {
  #now: number;
  #mono = 0;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now + this.#mono;
  }

  monotonic(): number {
    return this.#mono;
  }

  setTimer(ms: number, fn: () => void): Disposable {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#mono + Math.max(0, ms), fn });
    return { [Symbol.dispose]: () => this.#timers.delete(id) };
  }

  /** Timers still pending. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms` without running any timer, as a busy thread would: the
   * timers that fall due run at the next `advance`.
   */
  busy(ms: number): void {
    this.#mono += ms;
  }

  /** Moves time forward by `ms`, running each timer that falls due, earliest first. */
  advance(ms: number): void {
    const target = this.#mono + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= target && (next === undefined || entry[1].at < next[1].at)) next = entry;
      }
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#mono = Math.max(this.#mono, next[1].at);
      next[1].fn();
    }
    this.#mono = target;
  }
}
