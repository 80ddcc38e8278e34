import type { Clock } from "../../util/mod.ts";

/**
 * The `recorded` pace of one run: events keep the spacing of their timestamps, measured
 * from the first timed event delivered (lines without one follow the previous line at once).
 */
export class RecordedPace {
  readonly #clock: Clock;
  /** Monotonic time and timestamp of the first timed event delivered. */
  #anchor: { at: number; timestamp: number } | undefined;
  /** Ends the current sleep early (stop). */
  #wake: (() => void) | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** How long to wait before delivering the event stamped `timestamp`; 0 or less: none. */
  delayBefore(timestamp: number): number {
    if (this.#anchor === undefined) this.#anchor = { at: this.#clock.monotonic(), timestamp };
    return this.#anchor.at + (timestamp - this.#anchor.timestamp) - this.#clock.monotonic();
  }

  /** Waits `ms`, or until {@link wake}. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#clock.setTimer(ms, () => {
        this.#wake = undefined;
        resolve();
      });
      this.#wake = () => {
        this.#wake = undefined;
        timer[Symbol.dispose]();
        resolve();
      };
    });
  }

  /** Ends the current sleep now (the run is stopping). */
  wake(): void {
    this.#wake?.();
  }
}
