import type { Clock } from "./clock.ts";

/**
 * A token bucket on the injected clock: `perSecond` tokens a second, refilled continuously,
 * holding at most `burst` (default one second's worth). What bounds a rate whatever the load:
 * the spans the event path and the HTTP requests make.
 */
export class TokenBucket {
  readonly #clock: Clock;
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #refilledAt: number;

  constructor(clock: Clock, perSecond: number, burst = perSecond) {
    this.#clock = clock;
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#refilledAt = clock.monotonic();
  }

  /** Whether a token is there now (without taking it). */
  hasToken(): boolean {
    this.#refill();
    return this.#tokens >= 1;
  }

  /** Takes a token if there is one (refilling first); false when the bucket is empty. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  /**
   * Takes a token without refilling (after {@link hasToken} in the same turn: one clock
   * read per batch, not per event).
   */
  takeRefilled(): boolean {
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  #refill(): void {
    const now = this.#clock.monotonic();
    const earned = ((now - this.#refilledAt) / 1000) * this.#perSecond;
    this.#refilledAt = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + earned);
  }
}
