import type { Logger } from "../../log/mod.ts";
import type { Clock } from "../../util/mod.ts";
import type { Batch } from "./body.ts";

/** At most one warning per kind in this many milliseconds; the rest are counted. */
const WARN_INTERVAL_MS = 10_000;

/**
 * The ingest source's lines about its producers. Producers that keep failing would
 * otherwise write one warning per request: each kind of warning is written at most once
 * per {@link WARN_INTERVAL_MS}, the next one saying how many were suppressed.
 */
export class IngestLog {
  readonly #log: Logger;
  readonly #name: string;
  readonly #clock: Clock;
  readonly #lastWarnAt = new Map<string, number>();
  readonly #suppressed = new Map<string, number>();

  constructor(log: Logger, name: string, clock: Clock) {
    this.#log = log;
    this.#name = name;
    this.#clock = clock;
  }

  /** A warning of `kind`, unless one of that kind was written within the interval. */
  warn(kind: string, message: string, properties: Record<string, unknown>): void {
    const now = this.#clock.monotonic();
    const last = this.#lastWarnAt.get(kind);
    if (last !== undefined && now - last < WARN_INTERVAL_MS) {
      this.#suppressed.set(kind, (this.#suppressed.get(kind) ?? 0) + 1);
      return;
    }
    this.#lastWarnAt.set(kind, now);
    const skipped = this.#suppressed.get(kind) ?? 0;
    this.#suppressed.delete(kind);
    this.#log.warn(message, { source: this.#name, ...properties, suppressed: skipped });
  }

  /** One (rate-limited) warning for a batch with bad events, quoting only the first error. */
  rejected(peer: string, batch: Batch): void {
    this.warn(
      "rejected",
      "Ingest from {peer}: {rejected} of {total} events refused, first: {error}",
      {
        peer,
        rejected: batch.rejected,
        total: batch.rejected + batch.events.length,
        error: batch.errors[0]?.error,
      },
    );
  }

  /** The debug line of an accepted request or socket message (one per batch, not per event). */
  accepted(via: "http" | "socket", peer: string, batch: Batch): void {
    if (!this.#log.isEnabledFor("debug")) return;
    this.#log.debug("Ingest from {peer}: {accepted} events accepted", {
      source: this.#name,
      peer,
      via,
      accepted: batch.events.length,
      rejected: batch.rejected,
    });
  }
}
