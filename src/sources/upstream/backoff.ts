/** Options for {@link createBackoff}. */
export interface BackoffOptions {
  /** First delay, before jitter; default 100 ms. */
  readonly initialMs?: number;
  /** Largest delay, after jitter; default 60 000 ms. */
  readonly maxMs?: number;
  /** Uniform in [0, 1), for jitter; default `Math.random`. 0.5 gives the nominal delay. */
  readonly random?: () => number;
}

/** Exponential backoff with jitter, for reconnect loops. */
export interface Backoff {
  /**
   * The delay before the next attempt, in milliseconds: attempt n (from 0) waits
   * `min(maxMs, initialMs × 2ⁿ × (0.8 + 0.4 × random()))`, i.e. the nominal delay ±20 %,
   * never more than `maxMs`.
   */
  next(): number;
  /** Starts over at `initialMs` (after a healthy session). */
  reset(): void;
  /** Delays handed out since the last reset. */
  readonly attempts: number;
}

/** Spread of the jitter: the nominal delay is multiplied by a factor in [1 − J, 1 + J). */
const JITTER = 0.2;

/**
 * Creates an exponential backoff. Pure apart from `random`: a fixed `random` gives a fixed
 * sequence. Jitter is ±20 % around the nominal delay rather than "full jitter", so a
 * reconnect never comes much sooner than planned yet many clients still spread out.
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initialMs = options.initialMs ?? 100;
  const maxMs = options.maxMs ?? 60_000;
  const random = options.random ?? Math.random;
  if (!Number.isFinite(initialMs) || initialMs <= 0) {
    throw new RangeError(`Backoff initialMs must be a positive number, got ${initialMs}`);
  }
  if (!Number.isFinite(maxMs) || maxMs < initialMs) {
    throw new RangeError(`Backoff maxMs must be at least initialMs (${initialMs}), got ${maxMs}`);
  }
  let attempts = 0;
  // Kept separately so the doubling stops at the cap instead of overflowing to Infinity.
  let nominalMs = initialMs;

  return {
    next() {
      const factor = 1 - JITTER + 2 * JITTER * Math.min(1, Math.max(0, random()));
      const delay = Math.min(maxMs, Math.round(nominalMs * factor));
      attempts++;
      nominalMs = Math.min(maxMs, nominalMs * 2);
      return delay;
    },
    reset() {
      attempts = 0;
      nominalMs = initialMs;
    },
    get attempts() {
      return attempts;
    },
  };
}
