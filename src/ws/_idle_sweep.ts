import type { Logger } from "../log/mod.ts";
import { CloseCode } from "../protocol/mod.ts";
import type { Tracing } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { Session } from "./session.ts";

/** The sessions a sweep looks over. */
export interface SweptSessions {
  readonly size: number;
  values(): Iterable<Session>;
}

/** Options for {@link IdleSweep}. */
export interface IdleSweepOptions {
  readonly clock: Clock;
  /** `bus.cleanup` spans, one per sweep. */
  readonly tracing: Tracing;
  /** Where each idle client closed is told (`pharos.ws`). */
  readonly log: Logger;
  /** Where each sweep's summary goes, at debug (`pharos.ws.server`). */
  readonly serverLog: Logger;
  /** Clients silent this long, ms, are closed. */
  readonly idleTimeoutMs: number;
}

/**
 * Closes clients silent past `idleTimeoutMs`. Its timer runs only while there are
 * sessions: {@link schedule} when one opens, {@link stop} when the last ends.
 */
export class IdleSweep {
  readonly #sessions: SweptSessions;
  readonly #o: IdleSweepOptions;
  readonly #everyMs: number;
  #timer: Disposable | undefined;

  constructor(sessions: SweptSessions, options: IdleSweepOptions) {
    this.#sessions = sessions;
    this.#o = options;
    this.#everyMs = Math.max(250, Math.min(30_000, Math.floor(options.idleTimeoutMs / 4)));
  }

  /** Arms the next sweep, unless one is armed or there is nobody to sweep. */
  schedule(): void {
    if (this.#timer !== undefined || this.#sessions.size === 0) return;
    this.#timer = this.#o.clock.setTimer(this.#everyMs, () => {
      this.#timer = undefined;
      this.#o.tracing.inSpan("bus.cleanup", {}, (span) => {
        const checked = this.#sessions.size;
        const removed = this.#closeIdle();
        span.setAttribute("removed", removed);
        this.#o.serverLog.debug("Idle sweep: {removed} of {checked} clients closed", () => ({
          checked,
          removed,
          idle_timeout_ms: this.#o.idleTimeoutMs,
        }));
      }, { root: true });
      this.schedule();
    });
  }

  stop(): void {
    this.#timer?.[Symbol.dispose]();
    this.#timer = undefined;
  }

  /** Closes the idle sessions; returns how many. */
  #closeIdle(): number {
    const { clock, idleTimeoutMs } = this.#o;
    const now = clock.monotonic();
    let removed = 0;
    for (const session of this.#sessions.values()) {
      if (now - session.lastSeen > idleTimeoutMs) {
        this.#o.log.info("Closing idle client {client_id}", { client_id: session.id });
        session.close(
          CloseCode.Normal,
          `idle-timeout: no message for ${Math.round(idleTimeoutMs / 1000)} s`,
        );
        removed++;
      }
    }
    return removed;
  }
}
