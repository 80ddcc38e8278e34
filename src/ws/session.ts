import type { Bus, ViewDirectory } from "../bus/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Tracing, WsTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { CloseCode, CloseReason, toCloseReason } from "../protocol/mod.ts";
import {
  type ClientMessage,
  encodeErrorFrame,
  type ErrorFrame,
  parseClientMessage,
  ProtocolError,
} from "./codec.ts";
import type { Transport } from "./transport.ts";
import { OutboundQueue, type QueueLimits } from "./_outbound_queue.ts";
import type { SendScheduler } from "./send_scheduler.ts";
import { type Access, type Admitted, OPEN_ACCESS } from "./admission.ts";
import { MinuteCounter } from "./_minute_counter.ts";
import { SessionQueueEvents } from "./_queue_events.ts";
import { SessionLog } from "./_session_log.ts";
import { Subscriptions } from "./_subscriptions.ts";

/** Per-session limits. */
export interface SessionLimits extends QueueLimits {
  readonly maxSubscriptions: number;
  readonly maxMessageBytes: number;
  /** Entities one subscription's snapshot sends at most. */
  readonly maxSnapshotRows: number;
  /** Client messages per minute before the session ends with `rate-limit-exceeded`; 0: none. */
  readonly maxMessagesPerMinute: number;
  /** Bytes sent per minute before the session ends with `rate-limit-exceeded`; 0: none. */
  readonly maxBytesPerMinute: number;
}

/** Options for {@link Session}. */
export interface SessionOptions {
  readonly id: string;
  readonly peer: string;
  readonly transport: Transport;
  readonly directory: ViewDirectory;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly log: Logger;
  readonly telemetry: WsTelemetry;
  /** `ws.subscribe.*` spans; default none. */
  readonly tracing?: Tracing;
  readonly limits: SessionLimits;
  /** Paces sends across clients; without one, frames are sent as they are queued. */
  readonly scheduler?: SendScheduler;
  /** The client's credentials: expiry (the session ends then) and in-band refresh. */
  readonly auth?: Admitted;
  /** What the client may see (views, and the claims row rules read); default all. */
  readonly access?: Access;
}

/** Longest timer the runtime takes (setTimeout overflows past 2^31-1 ms); longer waits re-arm. */
const MAX_TIMER_MS = 2_000_000_000;

const encoder = new TextEncoder();

/**
 * One client connection: decodes its messages, holds its subscriptions, and owns a
 * bounded outbound queue. Fan-out never waits on a session: a live frame that does not
 * fit the queue closes the client as a slow consumer instead. Its parts, one file each:
 * the subscriptions and their snapshots (`_subscriptions.ts`, `_snapshot.ts`), what it
 * does on its queue's events, slow consumers among them (`_queue_events.ts`), and its
 * trace lines (`_session_log.ts`).
 */
export class Session {
  readonly id: string;
  readonly peer: string;
  readonly openedAt: number;
  #lastSeen: number;
  readonly #o: SessionOptions;
  readonly #subscriptions: Subscriptions;
  readonly #queue: OutboundQueue;
  readonly #lines: SessionLog;
  #closed = false;
  #ended = false;
  #access: Access;
  // Made on first use: with a limit of 0 (off) a session never counts.
  #messagesThisMinute: MinuteCounter | undefined;
  #expiryTimer: Disposable | undefined;
  /** The id of the token in force: the one admitted, then each one `refresh_auth` took. */
  #tokenId: string | undefined;
  /**
   * Whether frames are logged at trace, read once per session: LogTape is configured once
   * at start-up, before any connection, so the answer cannot change for a session's life,
   * and the send path (the subscriptions hold a copy) then costs one field read per frame
   * when trace is off.
   */
  readonly #traceFrames: boolean;

  constructor(options: SessionOptions) {
    this.#o = options;
    this.id = options.id;
    this.peer = options.peer;
    this.openedAt = options.clock.monotonic();
    this.#lastSeen = this.openedAt;
    this.#access = options.access ?? OPEN_ACCESS;
    this.#traceFrames = options.log.isEnabledFor("trace");
    this.#lines = new SessionLog(options.log, options.id);
    this.#queue = new OutboundQueue({
      transport: options.transport,
      clock: options.clock,
      limits: options.limits,
      scheduler: options.scheduler,
      events: new SessionQueueEvents(this, options),
    });
    this.#subscriptions = new Subscriptions({
      session: this,
      context: options,
      queue: this.#queue,
      traceFrames: this.#traceFrames,
      lines: this.#lines,
    });
    this.#tokenId = options.auth?.tokenId;
    if (options.auth?.expiresAt !== undefined) this.#armExpiry(options.auth.expiresAt);
  }

  /** The id (JWT `jti`) of the token in force, which changes with `refresh_auth`. */
  get tokenId(): string | undefined {
    return this.#tokenId;
  }

  #armExpiry(expiresAt: number | undefined): void {
    this.#expiryTimer?.[Symbol.dispose]();
    this.#expiryTimer = undefined;
    if (expiresAt === undefined || this.#closed) return;
    const remaining = expiresAt * 1000 - this.#o.clock.now();
    this.#expiryTimer = this.#o.clock.setTimer(
      Math.max(0, Math.min(remaining, MAX_TIMER_MS)),
      () => {
        this.#expiryTimer = undefined;
        if (remaining > MAX_TIMER_MS) return this.#armExpiry(expiresAt);
        this.#o.log.info("Client {client_id}'s token expired", { client_id: this.id });
        this.sendError({
          code: "token-expired",
          message: "The session's token expired; reconnect with a fresh token",
          retryable: true,
          fatal: true,
        });
      },
    );
  }

  /** What the client may see now (its token's grant and claims; a refresh replaces it). */
  get access(): Access {
    return this.#access;
  }

  /**
   * Who the client's credentials belong to, for logs and the revocation list; undefined
   * when anonymous (or a JWT without `sub`).
   */
  get subject(): string | undefined {
    return this.#o.auth?.subject;
  }

  /** Monotonic time of the last message from the client. */
  get lastSeen(): number {
    return this.#lastSeen;
  }

  /** Number of active subscriptions. */
  get subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  /** Frames waiting in the session queue. */
  get queuedFrames(): number {
    return this.#queue.frames;
  }

  /** True once closing has started. */
  /**
   * Resolves once no snapshot batch of this session is still compressing (closed or not):
   * after it, the session sends nothing more that it had under way.
   */
  compressed(): Promise<void> {
    return this.#queue.filled();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Handles one message from the client. */
  receive(data: string | ArrayBuffer | Uint8Array): void {
    if (this.#closed) return;
    this.#lastSeen = this.#o.clock.monotonic();
    this.#o.telemetry.messageReceived();
    const rate = this.#o.limits.maxMessagesPerMinute;
    if (
      rate > 0 && (this.#messagesThisMinute ??= new MinuteCounter()).add(this.#lastSeen, 1) > rate
    ) {
      this.#o.telemetry.limitExceeded("messages-per-minute");
      this.sendError({
        code: "rate-limit-exceeded",
        message: `More than ${rate} messages per minute`,
        retryable: true,
        fatal: true,
      });
      return;
    }
    const size = typeof data === "string"
      ? utf8Length(data, this.#o.limits.maxMessageBytes)
      : data.byteLength;
    if (size > this.#o.limits.maxMessageBytes) {
      this.#o.telemetry.connectionError("message-too-big");
      this.#o.log.debug("Client {client_id} sent {size} bytes, over the {max} byte limit", {
        client_id: this.id,
        size,
        max: this.#o.limits.maxMessageBytes,
      });
      this.close(
        CloseCode.MessageTooBig,
        `message-too-big: over ${this.#o.limits.maxMessageBytes} bytes`,
      );
      return;
    }
    if (typeof data !== "string") {
      this.#rejectInput(
        new ProtocolError(
          "binary-message",
          "Cannot decode message: binary messages are not part of the protocol",
        ),
      );
      return;
    }
    let message: ClientMessage;
    try {
      message = parseClientMessage(data);
    } catch (error) {
      this.#rejectInput(error as ProtocolError);
      return;
    }
    this.#dispatch(message);
  }

  #rejectInput(error: ProtocolError): void {
    this.#o.telemetry.connectionError(error.kind);
    this.#o.log.debug("Ignored message from client {client_id}: {reason}", {
      client_id: this.id,
      reason: error.message,
    });
  }

  #dispatch(message: ClientMessage): void {
    switch (message.type) {
      case "subscribe":
        return this.#subscriptions.subscribe(message);
      case "unsubscribe":
        return this.#subscriptions.unsubscribe(message.view, message.key);
      case "ping":
        return;
      case "refresh_auth":
        return this.#refreshAuth(message.token);
    }
  }

  #refreshAuth(token: string): void {
    const refresh = this.#o.auth?.refresh;
    if (refresh === undefined) {
      // No credentials that can be refreshed (auth off, or static tokens): say so.
      this.#sendText(JSON.stringify({ success: false, error: "token-invalid" }), "auth");
      return;
    }
    refresh(token).then((refreshed) => {
      if (this.#closed) return;
      const access = refreshed.access ?? this.#access;
      const moved = this.#subscriptions.groupChangedFor(access);
      if (moved !== undefined) {
        // Its rows would change under the client's feet: it reconnects for fresh snapshots.
        this.#o.log.info(
          "Client {client_id} sent a refresh_auth token whose {claim} claim moves it to other rows of {view}: refused",
          { client_id: this.id, claim: moved.claim, view: moved.view },
        );
        this.#sendText(JSON.stringify({ success: false, error: "token-invalid" }), "auth");
        return;
      }
      // From here on, a revocation list is checked against the new token's id.
      this.#tokenId = refreshed.tokenId;
      this.#armExpiry(refreshed.expiresAt);
      this.#access = access;
      this.#o.log.info("Client {client_id} refreshed its token", { client_id: this.id });
      this.#sendText(
        JSON.stringify(
          refreshed.expiresAt === undefined
            ? { success: true }
            : { success: true, expiresAt: refreshed.expiresAt },
        ),
        "auth",
      );
      // After the answer: the subscriptions the new grant no longer covers end, each told.
      this.#subscriptions.enforceGrant();
    }, (error: unknown) => {
      if (this.#closed) return;
      const code = typeof (error as { code?: unknown })?.code === "string"
        ? (error as { code: string }).code
        : "token-invalid";
      this.#o.log.info("Client {client_id} sent a refresh_auth token that was refused: {code}", {
        client_id: this.id,
        code,
      });
      this.#sendText(JSON.stringify({ success: false, error: code }), "auth");
    });
  }

  /** Sends an in-session error frame (text); fatal ones then close with 1008. */
  sendError(frame: ErrorFrame): void {
    this.#sendText(encodeErrorFrame(frame));
    if (frame.fatal) this.#closeAfterError(`${frame.code}: ${frame.message}`);
  }

  /**
   * Ends the session because its token was revoked: the fatal error frame `token-revoked`,
   * then 1008 with {@link CloseReason.TokenRevoked}, a reason on which HyperStack's client
   * drops its token and connects with a fresh one. Does nothing once closing has started.
   */
  revoke(): void {
    if (this.#closed) return;
    this.#o.log.info("Client {client_id}'s token was revoked: closing the session", {
      client_id: this.id,
      ...(this.subject === undefined ? {} : { subject: this.subject }),
    });
    this.#sendText(encodeErrorFrame({
      code: "token-revoked",
      message: "The session's token was revoked; reconnect with a new token",
      retryable: true,
      fatal: true,
    }));
    this.#closeAfterError(CloseReason.TokenRevoked);
  }

  /** Closes with 1008 once a fatal error frame is queued. */
  #closeAfterError(reason: string): void {
    // Hand the frame (and what is queued before it) to the socket now: closing drops the
    // queue, and the send scheduler would only have sent it on its next slice.
    this.#queue.pump();
    this.close(CloseCode.PolicyViolation, reason);
  }

  /** Queues a reply, with its trace line. */
  #sendText(text: string, op = "error"): void {
    if (this.#queue.pushReply(text) && this.#traceFrames) this.#lines.traceReply(op, text);
  }

  /** Closes the connection: subscriptions end now, the socket closes with `code`. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    const log = this.#o.log;
    if (log.isEnabledFor("debug")) {
      log.debug("Closing client {client_id}: {code} {reason}", {
        client_id: this.id,
        code: String(code),
        reason: toCloseReason(reason),
        subscriptions: this.#subscriptions.size,
        queued: this.#queue.frames,
        queued_bytes: this.#queue.bytes,
      });
    }
    this.#release();
    try {
      this.#o.transport.close(code, toCloseReason(reason));
    } catch (error) {
      log.debug("Close of client {client_id} failed: {error}", { client_id: this.id, error });
    }
  }

  /** Called by the server when the socket has closed (either side); idempotent. */
  ended(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#closed = true;
    this.#release();
  }

  #release(): void {
    this.#expiryTimer?.[Symbol.dispose]();
    this.#expiryTimer = undefined;
    this.#queue.close();
    this.#subscriptions.releaseAll();
  }
}

/** UTF-8 length of `text`, computed exactly only when it could exceed `limit`. */
function utf8Length(text: string, limit: number): number {
  if (text.length > limit) return text.length; // at least one byte per UTF-16 unit: over
  if (text.length * 3 <= limit) return text.length;
  return encoder.encode(text).length;
}
