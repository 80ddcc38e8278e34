import type { DeliveryStamp } from "../bus/mod.ts";
import { type Clock, Fifo } from "../util/mod.ts";
import type { Transport } from "./transport.ts";
import type { Pumpable, SendScheduler } from "./send_scheduler.ts";

/** Bounds of one client's outbound queue. */
export interface QueueLimits {
  /** Frames queued before the client counts as a slow consumer. */
  readonly queueMaxFrames: number;
  /** Bytes queued before the client counts as a slow consumer. */
  readonly queueMaxBytes: number;
  /** Socket send buffer above which frames wait in the queue instead of the socket. */
  readonly socketHighWaterBytes: number;
}

/**
 * What a queue tells its owner. One object with methods (a session's), so a queue costs no
 * closures: they were about 0.3 KB of every idle connection.
 */
export interface QueueEvents {
  /** Frames handed to the socket, in bursts. */
  onSent(frames: number, bytes: number): void;
  /** The queue would overflow: the owner closes the client as a slow consumer. */
  onOverflow(queuedFrames: number, queuedBytes: number): void;
  /** The socket refused a frame: the owner closes the client. */
  onSendError(error: unknown): void;
  /**
   * The socket went over its high-water mark: frames now wait in the queue (once per
   * spell, for the debug lines; optional).
   */
  onBlocked?(unsentBytes: number, queuedFrames: number, queuedBytes: number): void;
  /** The socket drained below the mark and the queue is empty again (ends the spell). */
  onUnblocked?(): void;
  /**
   * Frames of `view` went to the socket `lagMs` after their batch's oldest event arrived
   * (sampled: see `DeliveryStamp`).
   */
  onDelivered?(view: string, lagMs: number): void;
}

/** Options for {@link OutboundQueue}. */
export interface OutboundQueueOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly limits: QueueLimits;
  readonly events: QueueEvents;
  /**
   * Paces the sends across all clients; without one, frames go to the socket in the
   * same call that queues them.
   */
  readonly scheduler?: SendScheduler | undefined;
}

/** A queued frame; `data` is undefined while a snapshot batch is still compressing. */
interface Outgoing {
  data: string | Uint8Array | undefined;
  bytes: number;
  /** When the events behind a live frame arrived; undefined for replies. */
  readonly stamp?: DeliveryStamp | undefined;
}

/** How often a blocked queue re-checks the socket's send buffer. */
const DRAIN_POLL_MS = 10;
const encoder = new TextEncoder();

/**
 * One client's bounded, ordered outbound queue. Frames go straight to the socket while
 * its send buffer is below the high-water mark and wait here otherwise; the queue itself
 * never grows past its bounds by more than one request's replies.
 */
export class OutboundQueue implements Pumpable {
  // The options' fields, not the options object: one object less per connection.
  readonly #transport: Transport;
  readonly #clock: Clock;
  readonly #limits: QueueLimits;
  readonly #events: QueueEvents;
  readonly #scheduler: SendScheduler | undefined;
  readonly #items = new Fifo<Outgoing>();
  #bytes = 0;
  #drainTimer: Disposable | undefined;
  #closed = false;
  /** Reserved places still waiting for their bytes, and who waits for there to be none. */
  #unfilled = 0;
  readonly #fillWaiters: (() => void)[] = [];
  #startedEmpty = true;
  /** True from `onBlocked` until the queue has drained (`onUnblocked`). */
  #blocked = false;
  /** The arrival stamp of the last live frame handed to the socket. */
  #lastStamp: DeliveryStamp | undefined;

  constructor(options: OutboundQueueOptions) {
    this.#transport = options.transport;
    this.#clock = options.clock;
    this.#limits = options.limits;
    this.#events = options.events;
    this.#scheduler = options.scheduler;
  }

  /** Frames waiting. */
  get frames(): number {
    return this.#items.size;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Queues a live frame, with the arrival stamp of its batch if it has one. Live frames never
   * wait for space: one that does not fit calls `onOverflow` and is dropped. Returns whether
   * it was queued.
   */
  pushLive(data: Uint8Array, stamp?: DeliveryStamp): boolean {
    if (this.#closed || this.#full(data.length)) return false;
    this.#append({ data, bytes: data.length, stamp });
    return true;
  }

  /**
   * Queues a reply to the client's own request (ack, error frame, snapshot batch).
   * Replies may take the queue past its bounds by one request's worth, so a snapshot
   * can wait for the socket to drain; but a request met by an already-full queue calls
   * `onOverflow`, so a client that sends without reading cannot grow it without bound.
   */
  pushReply(data: string | Uint8Array): boolean {
    if (!this.acceptsReply()) return false;
    this.#append({
      data,
      bytes: typeof data === "string" ? encoder.encode(data).length : data.length,
    });
    return true;
  }

  /** True when a reply may be queued now; calls `onOverflow` when the queue is full. */
  acceptsReply(): boolean {
    return !this.#closed && !this.#full(0);
  }

  /**
   * Reserves the next place for a frame whose bytes arrive later (a compressing snapshot
   * batch), so frames queued meanwhile still go out after it. Call the returned function
   * with the bytes.
   */
  reserve(estimatedBytes: number): (data: Uint8Array) => void {
    const item: Outgoing = { data: undefined, bytes: estimatedBytes };
    this.#append(item);
    this.#unfilled++;
    return (data) => {
      if (--this.#unfilled === 0) { for (const wake of this.#fillWaiters.splice(0)) wake(); }
      if (this.#closed) return;
      this.#bytes += data.length - item.bytes;
      item.bytes = data.length;
      item.data = data;
      this.pump();
    };
  }

  /**
   * Resolves once every reserved place has had its bytes, closed queue or not: no snapshot
   * batch is still compressing for it.
   */
  filled(): Promise<void> {
    if (this.#unfilled === 0) return Promise.resolve();
    return new Promise((resolve) => this.#fillWaiters.push(resolve));
  }

  /** Drops everything queued and stops sending. */
  close(): void {
    this.#closed = true;
    this.#drainTimer?.[Symbol.dispose]();
    this.#drainTimer = undefined;
    this.#items.clear();
    this.#bytes = 0;
  }

  /**
   * True when frames are held back by the client: its socket is over the high-water mark,
   * or a snapshot batch ahead of them is still compressing. Frames merely waiting for the
   * scheduler's next slice do not count: the client is keeping up.
   */
  #held(): boolean {
    if (this.frames === 0) return false;
    return this.#drainTimer !== undefined || this.#items.peek()!.data === undefined;
  }

  #full(incomingBytes: number): boolean {
    if (!this.#held()) return false;
    const { queueMaxFrames, queueMaxBytes } = this.#limits;
    const full = this.frames >= queueMaxFrames ||
      (incomingBytes > 0
        ? this.#bytes + incomingBytes > queueMaxBytes
        : this.#bytes >= queueMaxBytes);
    if (full) this.#events.onOverflow(this.frames, this.#bytes);
    return full;
  }

  #append(item: Outgoing): void {
    this.#items.push(item);
    this.#bytes += item.bytes;
    this.#kick();
  }

  #kick(): void {
    if (this.#scheduler === undefined) this.pump();
    else this.#scheduler.schedule(this);
  }

  /** True when the socket had nothing unwritten when the last pump began. */
  get startedEmpty(): boolean {
    return this.#startedEmpty;
  }

  /** Bytes handed to the socket and not yet written. */
  get unsentBytes(): number {
    return this.#closed ? 0 : this.#transport.bufferedAmount;
  }

  /**
   * Hands queued frames to the socket while its send buffer is below the high-water mark;
   * returns how many.
   */
  pump(): number {
    if (this.#closed || this.#drainTimer !== undefined) return 0;
    const transport = this.#transport;
    let sent = 0;
    let sentBytes = 0;
    // The send buffer is read once per pump (each read is a runtime call), then estimated
    // by adding what was sent, and read again only when the estimate passes the mark.
    let buffered = transport.bufferedAmount;
    this.#startedEmpty = buffered === 0;
    const highWater = this.#limits.socketHighWaterBytes;
    while (this.#items.size > 0) {
      if (buffered > highWater && (buffered = transport.bufferedAmount) > highWater) {
        this.#drainTimer = this.#clock.setTimer(DRAIN_POLL_MS, () => {
          this.#drainTimer = undefined;
          this.#kick();
        });
        if (!this.#blocked) {
          this.#blocked = true;
          this.#events.onBlocked?.(buffered, this.frames, this.#bytes);
        }
        break;
      }
      const item = this.#items.peek()!;
      if (item.data === undefined) break; // a snapshot batch still compressing
      try {
        transport.send(item.data);
      } catch (error) {
        this.#events.onSendError(error);
        return sent;
      }
      this.#items.shift();
      this.#bytes -= item.bytes;
      buffered += item.bytes;
      sentBytes += item.bytes;
      sent++;
      // A batch's frames share one stamp: one lag sample per stamp and client at most (the
      // stamp thins them further over many clients), one comparison per frame.
      const stamp = item.stamp;
      if (stamp !== undefined && stamp !== this.#lastStamp) {
        this.#lastStamp = stamp;
        if (stamp.handedOver()) {
          this.#events.onDelivered?.(stamp.view, this.#clock.monotonic() - stamp.arrivedAt);
        }
      }
    }
    if (sent > 0) this.#events.onSent(sent, sentBytes);
    if (this.#items.size === 0 && this.#blocked) {
      this.#blocked = false;
      this.#events.onUnblocked?.();
    }
    return sent;
  }
}
