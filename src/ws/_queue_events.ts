import type { Logger } from "../log/mod.ts";
import type { WsTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { CloseCode } from "../protocol/mod.ts";
import type { ErrorFrame } from "./codec.ts";
import { MinuteCounter } from "./_minute_counter.ts";
import type { QueueEvents, QueueLimits } from "./_outbound_queue.ts";
import { roundMs } from "./_session_log.ts";

/** The session as its queue's events see it: only its public face. */
export interface QueueOwner {
  readonly id: string;
  readonly closed: boolean;
  sendError(frame: ErrorFrame): void;
  close(code: number, reason: string): void;
}

/** What the events read from the session's options (a `SessionOptions` is one). */
export interface QueueEventsContext {
  readonly clock: Clock;
  readonly log: Logger;
  readonly telemetry: WsTelemetry;
  readonly limits: QueueLimits & { readonly maxBytesPerMinute: number };
}

/**
 * What a session does when its queue reports: counts what was sent against the byte rate
 * limit, logs the spells where the client is not keeping up, and closes it as a slow
 * consumer or on a failed send. One object per session, so the queue costs no closures.
 */
export class SessionQueueEvents implements QueueEvents {
  readonly #session: QueueOwner;
  readonly #o: QueueEventsContext;
  // Made on first use: with a limit of 0 (off) a session never counts.
  #bytesThisMinute: MinuteCounter | undefined;
  #overByteLimit = false;
  /** Monotonic ms since when the client's socket has been over its high-water mark. */
  #blockedSince: number | undefined;

  constructor(session: QueueOwner, context: QueueEventsContext) {
    this.#session = session;
    this.#o = context;
  }

  onSent(frames: number, bytes: number): void {
    this.#o.telemetry.framesSent(frames);
    const limit = this.#o.limits.maxBytesPerMinute;
    if (limit <= 0 || this.#session.closed || this.#overByteLimit) return;
    this.#bytesThisMinute ??= new MinuteCounter();
    if (this.#bytesThisMinute.add(this.#o.clock.monotonic(), bytes) <= limit) return;
    // Set first: sending the error frame below counts its own bytes and comes back here.
    this.#overByteLimit = true;
    this.#o.telemetry.limitExceeded("bytes-per-minute");
    this.#session.sendError({
      code: "rate-limit-exceeded",
      message: `More than ${limit} bytes per minute to this connection`,
      retryable: true,
      fatal: true,
    });
  }

  onOverflow(queued: number, queuedBytes: number): void {
    this.#o.telemetry.slowConsumerDropped();
    const since = this.#blockedSince;
    this.#o.log.warn("Slow consumer dropped: client {client_id} had {queued} frames queued", {
      client_id: this.#session.id,
      queued,
      queued_bytes: queuedBytes,
      max_frames: this.#o.limits.queueMaxFrames,
      max_bytes: this.#o.limits.queueMaxBytes,
      ...(since === undefined ? {} : { blocked_ms: roundMs(this.#o.clock.monotonic() - since) }),
    });
    this.#session.close(
      CloseCode.PolicyViolation,
      `slow-consumer: ${queued} frames queued, client is not reading`,
    );
  }

  onBlocked(unsentBytes: number, frames: number, bytes: number): void {
    this.#blockedSince = this.#o.clock.monotonic();
    this.#o.log.debug(
      "Client {client_id} is not keeping up: {unsent_bytes} bytes unsent, frames wait in its queue",
      () => ({
        client_id: this.#session.id,
        unsent_bytes: unsentBytes,
        high_water_bytes: this.#o.limits.socketHighWaterBytes,
        queued: frames,
        queued_bytes: bytes,
        max_frames: this.#o.limits.queueMaxFrames,
        max_bytes: this.#o.limits.queueMaxBytes,
      }),
    );
  }

  onUnblocked(): void {
    const since = this.#blockedSince;
    this.#blockedSince = undefined;
    if (since === undefined) return;
    this.#o.log.debug("Client {client_id} caught up after {blocked_ms} ms", () => ({
      client_id: this.#session.id,
      blocked_ms: roundMs(this.#o.clock.monotonic() - since),
    }));
  }

  onDelivered(view: string, lagMs: number): void {
    this.#o.telemetry.deliveryLag(view, lagMs / 1000);
  }

  onSendError(error: unknown): void {
    const session = this.#session;
    this.#o.telemetry.connectionError("send-failed");
    this.#o.log.warn("WebSocket connection error: {error}", { client_id: session.id, error });
    session.close(CloseCode.InternalError, "send-failed");
  }
}
