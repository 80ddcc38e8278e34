import type { Bus, BusMessage, ViewDirectory, ViewInfo } from "../bus/mod.ts";
import type { Logger } from "../log/mod.ts";
import { noopTracing, type Tracing, type WsTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { CloseCode, toCloseReason } from "./close_codes.ts";
import {
  type ClientMessage,
  encodeErrorFrame,
  encodeSnapshotBatches,
  encodeSubscribedFrame,
  type ErrorFrame,
  FIRST_SNAPSHOT_BATCH,
  maybeGzip,
  parseClientMessage,
  ProtocolError,
  SNAPSHOT_BATCH,
  type SubscribeMessage,
} from "./codec.ts";
import type { Transport } from "./transport.ts";
import { OutboundQueue, type QueueEvents, type QueueLimits } from "./_outbound_queue.ts";
import type { SendScheduler } from "./send_scheduler.ts";
import type { Admitted } from "./admission.ts";

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
}

const MINUTE_MS = 60_000;
/** Longest timer the runtime takes (setTimeout overflows past 2^31-1 ms); longer waits re-arm. */
const MAX_TIMER_MS = 2_000_000_000;

/** Counts events in fixed one-minute windows. */
class MinuteCounter {
  #start = -Infinity;
  #count = 0;
  /** Adds `amount` at `now`; returns the window's total. */
  add(now: number, amount: number): number {
    if (now - this.#start >= MINUTE_MS) {
      this.#start = now;
      this.#count = 0;
    }
    this.#count += amount;
    return this.#count;
  }
}

/** One subscription: its bus listener, and the derived view's window it reads, if any. */
class ActiveSubscription implements Disposable {
  readonly view: string;
  readonly key: string | undefined;
  /** Monotonic ms when it opened, for the debug lines' `duration_s`. */
  readonly openedAt: number;
  readonly #listener: Disposable;
  readonly #window: Disposable | undefined;
  constructor(
    view: string,
    key: string | undefined,
    openedAt: number,
    listener: Disposable,
    window?: Disposable,
  ) {
    this.view = view;
    this.key = key;
    this.openedAt = openedAt;
    this.#listener = listener;
    this.#window = window;
  }
  [Symbol.dispose](): void {
    this.#listener[Symbol.dispose]();
    this.#window?.[Symbol.dispose]();
  }
}

const encoder = new TextEncoder();

/** Span per subscription kind, as OBSERVABILITY.md names them. */
const SUBSCRIBE_SPANS: Readonly<Record<ViewInfo["kind"], string>> = Object.freeze({
  state: "ws.subscribe.state",
  list: "ws.subscribe.list",
  append: "ws.subscribe.list",
  derived: "ws.subscribe.derived",
});

/**
 * One client connection: decodes its messages, holds its subscriptions, and owns a
 * bounded outbound queue. Fan-out never waits on a session: a live frame that does not
 * fit the queue closes the client as a slow consumer instead.
 */
export class Session {
  readonly id: string;
  readonly peer: string;
  readonly openedAt: number;
  #lastSeen: number;
  readonly #o: SessionOptions;
  readonly #subscriptions = new Map<string, ActiveSubscription>();
  readonly #queue: OutboundQueue;
  #closed = false;
  #ended = false;
  // Made on first use: with a limit of 0 (off) a session never counts.
  #messagesThisMinute: MinuteCounter | undefined;
  #bytesThisMinute: MinuteCounter | undefined;
  #overByteLimit = false;
  #expiryTimer: Disposable | undefined;
  /**
   * Whether frames are logged at trace, read once per session: LogTape is configured once
   * at start-up, before any connection, so the answer cannot change for a session's life,
   * and the send path then costs one field read per frame when trace is off.
   */
  readonly #traceFrames: boolean;
  /** Monotonic ms since when the client's socket has been over its high-water mark. */
  #blockedSince: number | undefined;

  /** The queue's events, as one small object with methods that reach the session. */
  static readonly #QueueEvents = class implements QueueEvents {
    readonly #session: Session;
    constructor(session: Session) {
      this.#session = session;
    }
    onSent(frames: number, bytes: number): void {
      this.#session.#o.telemetry.framesSent(frames);
      this.#session.#countSentBytes(bytes);
    }
    onOverflow(frames: number, bytes: number): void {
      this.#session.#dropSlowConsumer(frames, bytes);
    }
    onBlocked(unsentBytes: number, frames: number, bytes: number): void {
      this.#session.#blocked(unsentBytes, frames, bytes);
    }
    onUnblocked(): void {
      this.#session.#unblocked();
    }
    onSendError(error: unknown): void {
      const session = this.#session;
      session.#o.telemetry.connectionError("send-failed");
      session.#o.log.warn("WebSocket connection error: {error}", { client_id: session.id, error });
      session.close(CloseCode.InternalError, "send-failed");
    }
  };

  constructor(options: SessionOptions) {
    this.#o = options;
    this.id = options.id;
    this.peer = options.peer;
    this.openedAt = options.clock.monotonic();
    this.#lastSeen = this.openedAt;
    this.#traceFrames = options.log.isEnabledFor("trace");
    this.#queue = new OutboundQueue({
      transport: options.transport,
      clock: options.clock,
      limits: options.limits,
      scheduler: options.scheduler,
      events: new Session.#QueueEvents(this),
    });
    if (options.auth?.expiresAt !== undefined) this.#armExpiry(options.auth.expiresAt);
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

  #countSentBytes(bytes: number): void {
    const limit = this.#o.limits.maxBytesPerMinute;
    if (limit <= 0 || this.#closed || this.#overByteLimit) return;
    this.#bytesThisMinute ??= new MinuteCounter();
    if (this.#bytesThisMinute.add(this.#o.clock.monotonic(), bytes) <= limit) return;
    // Set first: sending the error frame below counts its own bytes and comes back here.
    this.#overByteLimit = true;
    this.#o.telemetry.limitExceeded("bytes-per-minute");
    this.sendError({
      code: "rate-limit-exceeded",
      message: `More than ${limit} bytes per minute to this connection`,
      retryable: true,
      fatal: true,
    });
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
        return this.#subscribe(message);
      case "unsubscribe":
        return this.#unsubscribe(message.view, message.key);
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
      this.#armExpiry(refreshed.expiresAt);
      this.#o.log.info("Client {client_id} refreshed its token", { client_id: this.id });
      this.#sendText(
        JSON.stringify(
          refreshed.expiresAt === undefined
            ? { success: true }
            : { success: true, expiresAt: refreshed.expiresAt },
        ),
        "auth",
      );
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

  #subscribe(message: SubscribeMessage): void {
    const log = this.#o.log;
    if (log.isEnabledFor("debug")) {
      log.debug("Client {client_id} asked to subscribe to {view}", {
        client_id: this.id,
        ...subscribeParameters(message),
      });
    }
    const identity = subscriptionIdentity(message.view, message.key);
    // A duplicate subscribe sends nothing and leaves the running stream alone.
    if (this.#subscriptions.has(identity)) {
      log.debug("Client {client_id} is already subscribed to {view}: nothing changes", () => ({
        client_id: this.id,
        view: message.view,
        ...(message.key === undefined ? {} : { key: message.key }),
      }));
      return;
    }
    const info = this.#o.directory.describe(message.view);
    if (info === undefined) {
      this.#o.telemetry.unknownView();
      this.#o.log.debug("Client {client_id} subscribed to unknown view {view}", {
        client_id: this.id,
        view: message.view,
      });
      return;
    }
    if (info.kind === "state" && message.key === undefined) {
      this.#o.telemetry.connectionError("missing-key");
      log.debug("Client {client_id} subscribed to {view} without the key it needs", () => ({
        client_id: this.id,
        view: info.id,
      }));
      this.sendError({
        code: "invalid-subscription",
        message: `${info.id} needs a key`,
        retryable: false,
        fatal: false,
      });
      return;
    }
    if (this.#subscriptions.size >= this.#o.limits.maxSubscriptions) {
      log.debug("Client {client_id} is at its {max} subscriptions: {view} refused", () => ({
        client_id: this.id,
        view: info.id,
        max: this.#o.limits.maxSubscriptions,
      }));
      this.sendError({
        code: "subscription-limit-exceeded",
        message: `At most ${this.#o.limits.maxSubscriptions} subscriptions per connection`,
        retryable: false,
        fatal: false,
      });
      return;
    }
    const tracing = this.#o.tracing ?? noopTracing;
    if (!tracing.exporting) return this.#open(identity, info, message);
    tracing.inSpan(SUBSCRIBE_SPANS[info.kind], {
      view: info.id,
      mode: info.mode,
      ...(message.key === undefined ? {} : { key: message.key }),
    }, () => this.#open(identity, info, message));
  }

  #open(identity: string, info: ViewInfo, message: SubscribeMessage): void {
    this.#pushReply(encodeSubscribedFrame(info), "subscribed", info.id, message.key);
    if (this.#closed) return; // dropped as a slow consumer
    const subscription = info.kind === "derived"
      ? this.#openDerived(info, message)
      : this.#openBase(info, message);
    if (this.#closed) {
      // The snapshot overflowed the queue: the session is gone, release what was opened.
      subscription[Symbol.dispose]();
      return;
    }
    this.#subscriptions.set(identity, subscription);
    this.#o.telemetry.subscriptionCreated(info.id);
    this.#o.log.info("Client {client_id} subscribed to {view} (mode: {mode})", {
      client_id: this.id,
      view: info.id,
      mode: info.mode,
      ...(message.key === undefined ? {} : { key: message.key }),
    });
  }

  #openBase(info: ViewInfo, message: SubscribeMessage): ActiveSubscription {
    const openedAt = this.#o.clock.monotonic();
    if (message.withSnapshot !== false) {
      const entities = this.#o.directory.snapshot(info.id, {
        ...(message.key === undefined ? {} : { key: message.key }),
        ...(message.after === undefined ? {} : { after: message.after }),
        ...(message.snapshotLimit === undefined ? {} : { snapshotLimit: message.snapshotLimit }),
      });
      this.#enqueueSnapshot(info, this.#capSnapshot(entities), openedAt);
    }
    const key = message.key;
    const listener = this.#o.bus.subscribe(info.id, (frame) => {
      if (key !== undefined && frame.key !== key) return;
      if (this.#queue.pushLive(frame.bytes) && this.#traceFrames) this.#traceFrame(info.id, frame);
    });
    return new ActiveSubscription(info.id, key, openedAt, listener);
  }

  #openDerived(info: ViewInfo, message: SubscribeMessage): ActiveSubscription {
    const openedAt = this.#o.clock.monotonic();
    const window = this.#o.directory.openWindow(info.id, {
      skip: message.skip ?? 0,
      take: message.take ?? info.defaultTake ?? 100,
    });
    const key = message.key;
    if (message.withSnapshot !== false) {
      const entities = window.snapshot().filter((e) => key === undefined || e.key === key);
      this.#enqueueSnapshot(info, this.#capSnapshot(entities), openedAt);
    }
    const listener = this.#o.bus.subscribe(window.topic, (frame) => {
      if (key !== undefined && frame.key !== key) return;
      if (this.#queue.pushLive(frame.bytes) && this.#traceFrames) this.#traceFrame(info.id, frame);
    });
    return new ActiveSubscription(info.id, key, openedAt, listener, window);
  }

  /** The trace line of one frame handed to the queue (only called when trace is on). */
  #traceFrame(view: string, frame: BusMessage): void {
    this.#o.log.trace("Frame to client {client_id}: {view} {op} {key} ({bytes} bytes)", {
      client_id: this.id,
      view,
      op: frame.op ?? "patch",
      key: frame.key,
      bytes: frame.bytes.length,
    });
  }

  /** Queues a reply, with its trace line. */
  #pushReply(data: string | Uint8Array, op: string, view?: string, key?: string): boolean {
    const queued = this.#queue.pushReply(data);
    if (queued && this.#traceFrames) {
      this.#traceReply(
        op,
        typeof data === "string" ? encoder.encode(data).length : data.length,
        view,
        key,
      );
    }
    return queued;
  }

  /** The trace line of a reply (a subscribed ack, snapshot batch, error or auth answer). */
  #traceReply(op: string, bytes: number, view?: string, key?: string): void {
    const fields: Record<string, unknown> = { client_id: this.id };
    if (view !== undefined) fields.view = view;
    fields.op = op;
    if (key !== undefined) fields.key = key;
    fields.bytes = bytes;
    this.#o.log.trace(
      view === undefined
        ? "Frame to client {client_id}: {op} ({bytes} bytes)"
        : key === undefined
        ? "Frame to client {client_id}: {view} {op} ({bytes} bytes)"
        : "Frame to client {client_id}: {view} {op} {key} ({bytes} bytes)",
      fields,
    );
  }

  /** At most `maxSnapshotRows` entities (in the order the view gave them). */
  #capSnapshot<T>(entities: T[]): T[] {
    const max = this.#o.limits.maxSnapshotRows;
    if (entities.length <= max) return entities;
    this.#o.telemetry.limitExceeded("snapshot-rows");
    this.#o.log.debug("Snapshot for client {client_id} cut to {max} of {count} entities", {
      client_id: this.id,
      max,
      count: entities.length,
    });
    return entities.slice(0, max);
  }

  /**
   * Queues the snapshot's batches. At debug, one line for the snapshot (entities, batches,
   * the time to read and encode it) and one per batch once it is ready to send (its
   * entities, bytes raw and on the wire, and the time since the snapshot was read).
   */
  #enqueueSnapshot(
    info: ViewInfo,
    entities: Parameters<typeof encodeSnapshotBatches>[1],
    startedAt: number,
  ): void {
    const log = this.#o.log;
    const debug = log.isEnabledFor("debug");
    if (entities.length === 0 || !this.#queue.acceptsReply()) {
      if (debug && !this.#closed) {
        log.debug("Snapshot for client {client_id} on {view}: no entities", {
          client_id: this.id,
          view: info.id,
          entities: 0,
          batches: 0,
          duration_ms: roundMs(this.#o.clock.monotonic() - startedAt),
        });
      }
      return;
    }
    const batches = encodeSnapshotBatches(info, entities);
    if (debug) {
      log.debug(
        "Snapshot for client {client_id} on {view}: {entities} entities in {batches} batches",
        {
          client_id: this.id,
          view: info.id,
          entities: entities.length,
          batches: batches.length,
          duration_ms: roundMs(this.#o.clock.monotonic() - startedAt),
        },
      );
    }
    let first = 0;
    for (let i = 0; i < batches.length; i++) {
      const batch = batches[i]!;
      const size = i === 0 ? FIRST_SNAPSHOT_BATCH : SNAPSHOT_BATCH;
      const batchEntities = Math.min(size, entities.length - first);
      first += batchEntities;
      // Compression is asynchronous; the reserved place keeps the batch ahead of live
      // frames published meanwhile.
      const fill = this.#queue.reserve(batch.length);
      const ready = (data: Uint8Array) => {
        fill(data);
        if (this.#closed) return;
        if (debug) {
          log.debug(
            "Snapshot batch {batch}/{batches} for client {client_id} on {view}: {entities} entities, {bytes} bytes",
            {
              client_id: this.id,
              view: info.id,
              batch: i + 1,
              batches: batches.length,
              entities: batchEntities,
              bytes: data.length,
              raw_bytes: batch.length,
              gzip: data !== batch,
              duration_ms: roundMs(this.#o.clock.monotonic() - startedAt),
            },
          );
        }
        if (this.#traceFrames) {
          this.#traceReply("snapshot", data.length, info.id);
        }
      };
      maybeGzip(batch).then(ready, (error) => {
        log.warn("Snapshot compression failed, sending uncompressed: {error}", {
          client_id: this.id,
          error,
        });
        ready(batch);
      });
    }
  }

  #unsubscribe(view: string, key: string | undefined): void {
    const identity = subscriptionIdentity(view, key);
    const subscription = this.#subscriptions.get(identity);
    if (subscription === undefined) {
      this.#o.log.debug(
        "Client {client_id} unsubscribed from {view}, which it had not subscribed to",
        () => ({
          client_id: this.id,
          view,
          ...(key === undefined ? {} : { key }),
        }),
      );
      return;
    }
    this.#subscriptions.delete(identity);
    subscription[Symbol.dispose]();
    this.#o.telemetry.subscriptionRemoved(subscription.view);
    this.#o.log.info("Client {client_id} unsubscribed from {view}", {
      client_id: this.id,
      view,
      ...(key === undefined ? {} : { key }),
    });
    this.#o.log.debug(
      "Subscription of client {client_id} to {view} ended after {duration_s} s",
      () => ({
        client_id: this.id,
        view,
        ...(key === undefined ? {} : { key }),
        duration_s: roundSeconds(this.#o.clock.monotonic() - subscription.openedAt),
      }),
    );
  }

  /** Sends an in-session error frame (text); fatal ones then close with 1008. */
  sendError(frame: ErrorFrame): void {
    this.#sendText(encodeErrorFrame(frame));
    if (!frame.fatal) return;
    // Hand the frame (and what is queued before it) to the socket now: closing drops the
    // queue, and the send scheduler would only have sent it on its next slice.
    this.#queue.pump();
    this.close(CloseCode.PolicyViolation, `${frame.code}: ${frame.message}`);
  }

  #sendText(text: string, op = "error"): void {
    this.#pushReply(text, op);
  }

  #blocked(unsentBytes: number, frames: number, bytes: number): void {
    this.#blockedSince = this.#o.clock.monotonic();
    this.#o.log.debug(
      "Client {client_id} is not keeping up: {unsent_bytes} bytes unsent, frames wait in its queue",
      () => ({
        client_id: this.id,
        unsent_bytes: unsentBytes,
        high_water_bytes: this.#o.limits.socketHighWaterBytes,
        queued: frames,
        queued_bytes: bytes,
        max_frames: this.#o.limits.queueMaxFrames,
        max_bytes: this.#o.limits.queueMaxBytes,
      }),
    );
  }

  #unblocked(): void {
    const since = this.#blockedSince;
    this.#blockedSince = undefined;
    if (since === undefined) return;
    this.#o.log.debug("Client {client_id} caught up after {blocked_ms} ms", () => ({
      client_id: this.id,
      blocked_ms: roundMs(this.#o.clock.monotonic() - since),
    }));
  }

  #dropSlowConsumer(queued: number, queuedBytes: number): void {
    this.#o.telemetry.slowConsumerDropped();
    const since = this.#blockedSince;
    this.#o.log.warn("Slow consumer dropped: client {client_id} had {queued} frames queued", {
      client_id: this.id,
      queued,
      queued_bytes: queuedBytes,
      max_frames: this.#o.limits.queueMaxFrames,
      max_bytes: this.#o.limits.queueMaxBytes,
      ...(since === undefined ? {} : { blocked_ms: roundMs(this.#o.clock.monotonic() - since) }),
    });
    this.close(
      CloseCode.PolicyViolation,
      `slow-consumer: ${queued} frames queued, client is not reading`,
    );
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
    const log = this.#o.log;
    const debug = log.isEnabledFor("debug");
    for (const subscription of this.#subscriptions.values()) {
      subscription[Symbol.dispose]();
      this.#o.telemetry.subscriptionRemoved(subscription.view);
      if (debug) {
        log.debug(
          "Subscription of client {client_id} to {view} ended after {duration_s} s: connection closed",
          {
            client_id: this.id,
            view: subscription.view,
            ...(subscription.key === undefined ? {} : { key: subscription.key }),
            duration_s: roundSeconds(this.#o.clock.monotonic() - subscription.openedAt),
          },
        );
      }
    }
    this.#subscriptions.clear();
  }
}

/**
 * Subscription identity is view + key. Views and keys never contain ":", so the bare
 * view id (all keys) cannot collide with `view:key`, not even for a key named "*".
 */
function subscriptionIdentity(view: string, key: string | undefined): string {
  return key === undefined ? view : `${view}:${key}`;
}

/** A subscribe request's parameters as log fields (only those the client gave). */
function subscribeParameters(message: SubscribeMessage): Record<string, unknown> {
  const fields: Record<string, unknown> = { view: message.view };
  if (message.key !== undefined) fields.key = message.key;
  if (message.take !== undefined) fields.take = message.take;
  if (message.skip !== undefined) fields.skip = message.skip;
  fields.with_snapshot = message.withSnapshot !== false;
  if (message.after !== undefined) fields.after = message.after;
  if (message.snapshotLimit !== undefined) fields.snapshot_limit = message.snapshotLimit;
  return fields;
}

/** Milliseconds to three decimals, as the log fields carry them. */
function roundMs(ms: number): number {
  return Number(ms.toFixed(3));
}

/** Monotonic milliseconds as seconds to three decimals. */
function roundSeconds(ms: number): number {
  return Number((ms / 1000).toFixed(3));
}

/** UTF-8 length of `text`, computed exactly only when it could exceed `limit`. */
function utf8Length(text: string, limit: number): number {
  if (text.length > limit) return text.length; // at least one byte per UTF-16 unit: over
  if (text.length * 3 <= limit) return text.length;
  return encoder.encode(text).length;
}
