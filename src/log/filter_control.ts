import type { Logger } from "@logtape/logtape";
import type { Clock } from "../util/mod.ts";
import type { LogFilter } from "./filter.ts";
import type { LoggingHandle } from "./setup.ts";

/** Bounds and default of how long a filter set while running stays in force, seconds. */
export const LOG_FILTER_TTL_S = Object.freeze({ min: 1, default: 600, max: 86_400 });

/** The JSON body of `GET /debug/log` (and of a change's answer). */
export interface LogFilterStatus {
  /** The filter in force, normalised. */
  readonly filter: string;
  /** The filter the process started with, which comes back when the TTL ends. */
  readonly startup_filter: string;
  /** The TTL the filter in force was set with; null while the start-up filter is in force. */
  readonly ttl_s: number | null;
  /** Seconds until the start-up filter comes back (rounded up); null when it is in force. */
  readonly remaining_s: number | null;
  /** When the start-up filter comes back (ISO 8601, UTC); null when it is in force. */
  readonly expires_at: string | null;
}

/** Options of {@link createLogFilterControl}. */
export interface LogFilterControlOptions {
  /** The logging whose filter changes (`configureLogging`'s handle). */
  readonly logging: Pick<LoggingHandle, "filter" | "setFilter">;
  /** Times the TTL. */
  readonly clock: Clock;
  /** Where each change is logged at WARN (the server's `pharos.log`). */
  readonly log: Logger;
}

/** The log filter while the process runs: set for a while, then the start-up one again. */
export interface LogFilterControl extends Disposable {
  /** The filter in force, the start-up one, and how long the one in force has left. */
  status(): LogFilterStatus;
  /**
   * Puts `filter` in force for `ttlSeconds` (an integer within {@link LOG_FILTER_TTL_S}, else
   * a RangeError), replacing an earlier change and its TTL. `by` (the client's address) is
   * logged with the change.
   */
  set(filter: LogFilter, ttlSeconds: number, by: string): LogFilterStatus;
  /** Puts the start-up filter back now; nothing happens (nor is logged) when it is in force. */
  reset(by: string): LogFilterStatus;
}

/** A filter set while running, and when it ends. */
interface Override {
  readonly ttlSeconds: number;
  readonly endsAtMs: number;
  readonly expiresAt: string;
  readonly timer: Disposable;
}

/**
 * The run-time log filter of `PUT /debug/log`. Each change, and each return to the start-up
 * filter (when the TTL ends, or on `reset`), is logged at WARN, under whichever of the two
 * filters lets the line through: logged before the change when the new filter hides it, after
 * the change otherwise. Dispose to cancel the TTL timer (the filter in force stays).
 */
export function createLogFilterControl(options: LogFilterControlOptions): LogFilterControl {
  const { logging, clock, log } = options;
  const startup = logging.filter;
  let override: Override | undefined;

  /** Changes to `next`, with its WARN line where it is seen. */
  function change(next: LogFilter, line: () => void): void {
    if (next.allows(log.category, "warning")) {
      logging.setFilter(next);
      line();
    } else {
      line();
      logging.setFilter(next);
    }
  }

  function end(): void {
    override?.timer[Symbol.dispose]();
    override = undefined;
  }

  function expire(ttlSeconds: number): void {
    const filter = logging.filter.spec;
    override = undefined;
    change(
      startup,
      () =>
        log.warn("Log filter {filter} expired after {ttl_s} s: back to {startup_filter}", {
          filter,
          ttl_s: ttlSeconds,
          startup_filter: startup.spec,
        }),
    );
  }

  function status(): LogFilterStatus {
    const base = { filter: logging.filter.spec, startup_filter: startup.spec };
    if (override === undefined) {
      return { ...base, ttl_s: null, remaining_s: null, expires_at: null };
    }
    const remainingMs = Math.max(0, override.endsAtMs - clock.monotonic());
    return {
      ...base,
      ttl_s: override.ttlSeconds,
      remaining_s: Math.ceil(remainingMs / 1000),
      expires_at: override.expiresAt,
    };
  }

  return {
    status,
    set(filter, ttlSeconds, by) {
      const { min, max } = LOG_FILTER_TTL_S;
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < min || ttlSeconds > max) {
        throw new RangeError(
          `ttl_s must be a whole number of seconds from ${min} to ${max} (default ${LOG_FILTER_TTL_S.default})`,
        );
      }
      const previous = logging.filter.spec;
      end();
      change(
        filter,
        () =>
          log.warn("Log filter set to {filter} by {peer} for {ttl_s} s, then {startup_filter}", {
            filter: filter.spec,
            previous,
            peer: by,
            ttl_s: ttlSeconds,
            startup_filter: startup.spec,
          }),
      );
      // Timed once the filter is in force: a change that failed leaves no timer behind.
      const ttlMs = ttlSeconds * 1000;
      override = {
        ttlSeconds,
        endsAtMs: clock.monotonic() + ttlMs,
        expiresAt: new Date(clock.now() + ttlMs).toISOString(),
        timer: clock.setTimer(ttlMs, () => expire(ttlSeconds)),
      };
      return status();
    },
    reset(by) {
      if (override === undefined) return status();
      const filter = logging.filter.spec;
      end();
      change(
        startup,
        () =>
          log.warn("Log filter {filter} reset by {peer}: back to {startup_filter}", {
            filter,
            peer: by,
            startup_filter: startup.spec,
          }),
      );
      return status();
    },
    [Symbol.dispose]: end,
  };
}
