import type { Bus, ViewDirectory, ViewInfo } from "../bus/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { WsTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { CloseCode, toCloseReason } from "./close_codes.ts";
import {
  type ClientMessage,
  encodeErrorFrame,
  encodeSnapshotBatches,
  encodeSubscribedFrame,
  type ErrorFrame,
  maybeGzip,
  parseClientMessage,
  ProtocolError,
  type SubscribeMessage,
} from "./codec.ts";
import type { Transport } from "./transport.ts";

/** Per-session limits. */
export interface SessionLimits {
  readonly maxSubscriptions: number;
  readonly maxMessageBytes: number;
  /** Frames queued before the client counts as a slow consumer. */
  readonly queueMaxFrames: number;
  /** Bytes queued before the client counts as a slow consumer. */
  readonly queueMaxBytes: number;
  /** Socket send buffer above which frames wait in the session queue. */
  readonly socketHighWaterBytes: number;
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
  readonly limits: SessionLimits;
}

interface Outgoing {
  data: string | Uint8Array | undefined;
  bytes: number;
}

interface ActiveSubscription extends Disposable {
  readonly view: string;
}

/** How often a blocked queue re-checks the socket's send buffer. */
const DRAIN_POLL_MS = 10;
const encoder = new TextEncoder();

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
  #queue: Outgoing[] = [];
  #head = 0;
  #queuedBytes = 0;
  #drainTimer: Disposable | undefined;
  #closed = false;
  #ended = false;

  constructor(options: SessionOptions) {
    this.#o = options;
    this.id = options.id;
    this.peer = options.peer;
    this.openedAt = options.clock.monotonic();
    this.#lastSeen = this.openedAt;
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
    return this.#queue.length - this.#head;
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
        // Auth is off in this build: nothing to refresh, so answer as the client expects.
        this.#sendText(JSON.stringify({ success: false, error: "token-invalid" }));
        return;
    }
  }

  #subscribe(message: SubscribeMessage): void {
    const identity = subscriptionIdentity(message.view, message.key);
    // A duplicate subscribe sends nothing and leaves the running stream alone.
    if (this.#subscriptions.has(identity)) return;
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
      this.sendError({
        code: "invalid-subscription",
        message: `${info.id} needs a key`,
        retryable: false,
        fatal: false,
      });
      return;
    }
    if (this.#subscriptions.size >= this.#o.limits.maxSubscriptions) {
      this.sendError({
        code: "subscription-limit-exceeded",
        message: `At most ${this.#o.limits.maxSubscriptions} subscriptions per connection`,
        retryable: false,
        fatal: false,
      });
      return;
    }
    this.#enqueue(encodeSubscribedFrame(info), false);
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
    if (message.withSnapshot !== false) {
      const entities = this.#o.directory.snapshot(info.id, {
        ...(message.key === undefined ? {} : { key: message.key }),
        ...(message.after === undefined ? {} : { after: message.after }),
        ...(message.snapshotLimit === undefined ? {} : { snapshotLimit: message.snapshotLimit }),
      });
      this.#enqueueSnapshot(info, entities);
    }
    const key = message.key;
    const listener = this.#o.bus.subscribe(info.id, (frame) => {
      if (key === undefined || frame.key === key) this.#enqueue(frame.bytes, true);
    });
    return { view: info.id, [Symbol.dispose]: () => listener[Symbol.dispose]() };
  }

  #openDerived(info: ViewInfo, message: SubscribeMessage): ActiveSubscription {
    const window = this.#o.directory.openWindow(info.id, {
      skip: message.skip ?? 0,
      take: message.take ?? info.defaultTake ?? 100,
    });
    const key = message.key;
    if (message.withSnapshot !== false) {
      const entities = window.snapshot().filter((e) => key === undefined || e.key === key);
      this.#enqueueSnapshot(info, entities);
    }
    const listener = this.#o.bus.subscribe(window.topic, (frame) => {
      if (key === undefined || frame.key === key) this.#enqueue(frame.bytes, true);
    });
    return {
      view: info.id,
      [Symbol.dispose]: () => {
        listener[Symbol.dispose]();
        window[Symbol.dispose]();
      },
    };
  }

  #enqueueSnapshot(info: ViewInfo, entities: Parameters<typeof encodeSnapshotBatches>[1]): void {
    if (this.#closed || entities.length === 0 || this.#overflows(0, false)) return;
    for (const batch of encodeSnapshotBatches(info, entities)) {
      // Compression is asynchronous; the placeholder keeps the batch's place in the
      // queue so live frames published meanwhile still go out after the snapshot.
      const item: Outgoing = { data: undefined, bytes: batch.length };
      this.#push(item);
      maybeGzip(batch).then(
        (bytes) => this.#fill(item, bytes),
        (error) => {
          this.#o.log.warn("Snapshot compression failed, sending uncompressed: {error}", { error });
          this.#fill(item, batch);
        },
      );
    }
  }

  #fill(item: Outgoing, bytes: Uint8Array): void {
    this.#queuedBytes += bytes.length - item.bytes;
    item.bytes = bytes.length;
    item.data = bytes;
    this.#pump();
  }

  #unsubscribe(view: string, key: string | undefined): void {
    const identity = subscriptionIdentity(view, key);
    const subscription = this.#subscriptions.get(identity);
    if (subscription === undefined) return;
    this.#subscriptions.delete(identity);
    subscription[Symbol.dispose]();
    this.#o.telemetry.subscriptionRemoved(subscription.view);
    this.#o.log.info("Client {client_id} unsubscribed from {view}", { client_id: this.id, view });
  }

  /** Sends an in-session error frame (text); fatal ones then close with 1008. */
  sendError(frame: ErrorFrame): void {
    this.#sendText(encodeErrorFrame(frame));
    if (frame.fatal) this.close(CloseCode.PolicyViolation, `${frame.code}: ${frame.message}`);
  }

  #sendText(text: string): void {
    this.#enqueue(text, false);
  }

  /**
   * Queues a frame. Live frames never wait: one that does not fit the queue closes the
   * client as a slow consumer. Replies to the client's own requests (acks, snapshots,
   * error frames) may take the queue past its bounds by one request's worth, so a
   * snapshot can wait for the socket to drain; but a request arriving while the queue is
   * already full closes the client too, so a client that sends without reading cannot
   * grow the queue without bound.
   */
  #enqueue(data: string | Uint8Array, live: boolean): void {
    if (this.#closed) return;
    const bytes = typeof data === "string" ? encoder.encode(data).length : data.length;
    if (this.#overflows(live ? bytes : 0, live)) return;
    this.#push({ data, bytes });
  }

  /** Drops the client (and answers true) when `bytes` more would overflow its queue. */
  #overflows(bytes: number, live: boolean): boolean {
    if (this.queuedFrames === 0) return false;
    const limits = this.#o.limits;
    const full = live
      ? this.queuedFrames >= limits.queueMaxFrames ||
        this.#queuedBytes + bytes > limits.queueMaxBytes
      : this.queuedFrames >= limits.queueMaxFrames || this.#queuedBytes >= limits.queueMaxBytes;
    if (full) this.#dropSlowConsumer();
    return full;
  }

  #push(item: Outgoing): void {
    this.#queue.push(item);
    this.#queuedBytes += item.bytes;
    this.#pump();
  }

  #pump(): void {
    if (this.#closed || this.#drainTimer !== undefined) return;
    const transport = this.#o.transport;
    let sent = 0;
    while (this.#head < this.#queue.length) {
      if (transport.bufferedAmount > this.#o.limits.socketHighWaterBytes) {
        this.#drainTimer = this.#o.clock.setTimer(DRAIN_POLL_MS, () => {
          this.#drainTimer = undefined;
          this.#pump();
        });
        break;
      }
      const item = this.#queue[this.#head]!;
      if (item.data === undefined) break; // a snapshot batch still compressing
      try {
        transport.send(item.data);
      } catch (error) {
        this.#o.telemetry.connectionError("send-failed");
        this.#o.log.warn("WebSocket connection error: {error}", { client_id: this.id, error });
        this.close(CloseCode.InternalError, "send-failed");
        return;
      }
      this.#queue[this.#head] = undefined as unknown as Outgoing;
      this.#head++;
      this.#queuedBytes -= item.bytes;
      sent++;
    }
    if (sent > 0) this.#o.telemetry.framesSent(sent);
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #dropSlowConsumer(): void {
    this.#o.telemetry.slowConsumerDropped();
    const queued = this.queuedFrames;
    this.#o.log.warn("Slow consumer dropped: client {client_id} had {queued} frames queued", {
      client_id: this.id,
      queued,
      queued_bytes: this.#queuedBytes,
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
    this.#release();
    try {
      this.#o.transport.close(code, toCloseReason(reason));
    } catch (error) {
      this.#o.log.debug("Close of client {client_id} failed: {error}", {
        client_id: this.id,
        error,
      });
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
    this.#drainTimer?.[Symbol.dispose]();
    this.#drainTimer = undefined;
    for (const subscription of this.#subscriptions.values()) {
      subscription[Symbol.dispose]();
      this.#o.telemetry.subscriptionRemoved(subscription.view);
    }
    this.#subscriptions.clear();
    this.#queue = [];
    this.#head = 0;
    this.#queuedBytes = 0;
  }
}

/**
 * Subscription identity is view + key. Views and keys never contain ":", so the bare
 * view id (all keys) cannot collide with `view:key`, not even for a key named "*".
 */
function subscriptionIdentity(view: string, key: string | undefined): string {
  return key === undefined ? view : `${view}:${key}`;
}

/** UTF-8 length of `text`, computed exactly only when it could exceed `limit`. */
function utf8Length(text: string, limit: number): number {
  if (text.length > limit) return text.length * 1; // at least one byte per UTF-16 unit
  if (text.length * 3 <= limit) return text.length;
  return encoder.encode(text).length;
}
