/**
 * A fixed-memory latency histogram: 10 µs buckets up to 100 ms, then 1 ms buckets up to
 * 60 s. Millions of deliveries cost a few hundred kilobytes instead of an array each.
 * @module
 */

const FINE_STEP_MS = 0.01;
const FINE_LIMIT_MS = 100;
const COARSE_STEP_MS = 1;
const COARSE_LIMIT_MS = 60_000;
const FINE_BUCKETS = FINE_LIMIT_MS / FINE_STEP_MS;
const COARSE_BUCKETS = (COARSE_LIMIT_MS - FINE_LIMIT_MS) / COARSE_STEP_MS;

/** Latency summary in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Records latencies in milliseconds; quantiles are upper bucket bounds. */
export class Histogram {
  readonly #buckets = new Float64Array(FINE_BUCKETS + COARSE_BUCKETS + 1);
  #count = 0;
  #max = 0;

  /** Adds one observation (negative values count as 0). */
  record(ms: number): void {
    const value = ms < 0 ? 0 : ms;
    this.#buckets[bucketOf(value)]!++;
    this.#count++;
    if (value > this.#max) this.#max = value;
  }

  /** Number of observations. */
  get count(): number {
    return this.#count;
  }

  /** The value at quantile `q` (0..1), as the upper bound of its bucket. */
  quantile(q: number): number {
    if (this.#count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i]!;
      if (seen >= rank) return Math.min(upperBoundOf(i), this.#max);
    }
    return this.#max;
  }

  /** p50, p99 and max. */
  summary(): LatencySummary {
    return {
      count: this.#count,
      p50: round(this.quantile(0.5)),
      p99: round(this.quantile(0.99)),
      max: round(this.#count === 0 ? NaN : this.#max),
    };
  }
}

function bucketOf(ms: number): number {
  if (ms < FINE_LIMIT_MS) return Math.floor(ms / FINE_STEP_MS);
  if (ms < COARSE_LIMIT_MS) return FINE_BUCKETS + Math.floor((ms - FINE_LIMIT_MS) / COARSE_STEP_MS);
  return FINE_BUCKETS + COARSE_BUCKETS;
}

function upperBoundOf(bucket: number): number {
  if (bucket < FINE_BUCKETS) return (bucket + 1) * FINE_STEP_MS;
  if (bucket < FINE_BUCKETS + COARSE_BUCKETS) {
    return FINE_LIMIT_MS + (bucket - FINE_BUCKETS + 1) * COARSE_STEP_MS;
  }
  return Infinity;
}

function round(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms * 100) / 100 : ms;
}
