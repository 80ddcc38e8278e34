import type { ViewInfo } from "../bus/mod.ts";
import { deleteFrameText } from "../protocol/mod.ts";
import { noopTracing } from "../telemetry/mod.ts";
import { DERIVED_VIEW_TAKE, rowGroupOf, rowTopic } from "../stack/mod.ts";
import type { Access } from "./admission.ts";
import type { SessionOptions } from "./session.ts";
import { encodeSubscribedFrame, type ErrorFrame, type SubscribeMessage } from "./codec.ts";
import type { OutboundQueue } from "./_outbound_queue.ts";
import { roundSeconds, type SessionLog, subscribeParameters } from "./_session_log.ts";
import { capSnapshot, queueSnapshot, type SnapshotTarget } from "./_snapshot.ts";

/** The session as its subscriptions see it: only its public face. */
export interface SubscriptionOwner {
  readonly id: string;
  readonly closed: boolean;
  /** What the client may see now. */
  readonly access: Access;
  /** Whose credentials, for the log line of a refusal. */
  readonly subject: string | undefined;
  sendError(frame: ErrorFrame): void;
}

/** What subscriptions read from the session's options (a `SessionOptions` is one). */
export interface SubscriptionsContext
  extends Pick<SessionOptions, "directory" | "bus" | "clock" | "log" | "telemetry" | "tracing"> {
  readonly limits: { readonly maxSubscriptions: number; readonly maxSnapshotRows: number };
}

/** Options for {@link Subscriptions}: the session, its options, queue and lines. */
export interface SubscriptionsOptions extends SnapshotTarget {
  readonly session: SubscriptionOwner;
  readonly context: SubscriptionsContext;
}

/** One subscription: its bus listener, and the derived view's window it reads, if any. */
class ActiveSubscription implements Disposable {
  readonly info: ViewInfo;
  readonly key: string | undefined;
  /** The client's row group in a view with a row rule, when it has one. */
  readonly group: string | undefined;
  /** Monotonic ms when it opened, for the debug lines' `duration_s`. */
  readonly openedAt: number;
  readonly #listener: Disposable;
  readonly #window: Disposable | undefined;
  constructor(
    info: ViewInfo,
    key: string | undefined,
    group: string | undefined,
    openedAt: number,
    listener: Disposable,
    window?: Disposable,
  ) {
    this.info = info;
    this.key = key;
    this.group = group;
    this.openedAt = openedAt;
    this.#listener = listener;
    this.#window = window;
  }
  get view(): string {
    return this.info.id;
  }
  [Symbol.dispose](): void {
    this.#listener[Symbol.dispose]();
    this.#window?.[Symbol.dispose]();
  }
}

/** Span per subscription kind, as README's "Metrics and traces" names them. */
const SUBSCRIBE_SPANS: Readonly<Record<ViewInfo["kind"], string>> = Object.freeze({
  state: "ws.subscribe.state",
  list: "ws.subscribe.list",
  append: "ws.subscribe.list",
  derived: "ws.subscribe.derived",
});

/**
 * One session's subscriptions: opens them (the ack, the snapshot batches, the bus listener
 * that pushes live frames to the queue), ends them on unsubscribe, and releases them all
 * when the session closes.
 */
export class Subscriptions {
  /** Kept whole: the snapshot functions take it as their target. */
  readonly #parts: SubscriptionsOptions;
  readonly #session: SubscriptionOwner;
  readonly #o: SubscriptionsContext;
  // The live-frame path reads these two for every frame: fields of their own, one read each.
  readonly #queue: OutboundQueue;
  readonly #traceFrames: boolean;
  readonly #lines: SessionLog;
  readonly #active = new Map<string, ActiveSubscription>();

  constructor(options: SubscriptionsOptions) {
    this.#parts = options;
    this.#session = options.session;
    this.#o = options.context;
    this.#queue = options.queue;
    this.#traceFrames = options.traceFrames;
    this.#lines = options.lines;
  }

  /** Number of active subscriptions. */
  get size(): number {
    return this.#active.size;
  }

  /** Handles a subscribe request. */
  subscribe(message: SubscribeMessage): void {
    const log = this.#o.log;
    const clientId = this.#session.id;
    if (log.isEnabledFor("debug")) {
      log.debug("Client {client_id} asked to subscribe to {view}", {
        client_id: clientId,
        ...subscribeParameters(message),
      });
    }
    const identity = subscriptionIdentity(message.view, message.key);
    // A duplicate subscribe sends nothing and leaves the running stream alone.
    if (this.#active.has(identity)) {
      log.debug("Client {client_id} is already subscribed to {view}: nothing changes", () => ({
        client_id: clientId,
        view: message.view,
        ...(message.key === undefined ? {} : { key: message.key }),
      }));
      return;
    }
    const info = this.#o.directory.describe(message.view);
    if (info === undefined) {
      this.#o.telemetry.unknownView();
      log.debug("Client {client_id} subscribed to unknown view {view}", {
        client_id: clientId,
        view: message.view,
      });
      return;
    }
    if (!this.#session.access.views.allows(info.id)) return this.#forbidden(info.id);
    if (info.kind === "state" && message.key === undefined) {
      this.#o.telemetry.connectionError("missing-key");
      log.debug("Client {client_id} subscribed to {view} without the key it needs", () => ({
        client_id: clientId,
        view: info.id,
      }));
      this.#session.sendError({
        code: "invalid-subscription",
        message: `${info.id} needs a key`,
        retryable: false,
        fatal: false,
      });
      return;
    }
    const max = this.#o.limits.maxSubscriptions;
    if (this.#active.size >= max) {
      log.debug("Client {client_id} is at its {max} subscriptions: {view} refused", () => ({
        client_id: clientId,
        view: info.id,
        max,
      }));
      this.#session.sendError({
        code: "subscription-limit-exceeded",
        message: `At most ${max} subscriptions per connection`,
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

  /** Refuses a view outside the client's grant: a non-fatal error frame, counted and logged. */
  #forbidden(view: string): void {
    this.#o.telemetry.viewForbidden(view);
    const subject = this.#session.subject;
    this.#o.log.info("Client {client_id} may not subscribe to {view}: not in its grant", {
      client_id: this.#session.id,
      view,
      ...(subject === undefined ? {} : { subject }),
    });
    this.#session.sendError({
      code: "view-forbidden",
      message: `This connection's token does not grant the view ${view}`,
      retryable: false,
      fatal: false,
    });
  }

  /** The client's row group in `info`'s view: none without a rule, or without the claim. */
  #groupIn(info: ViewInfo, access: Access = this.#session.access): string | undefined {
    const rule = info.rowRule;
    return rule === undefined ? undefined : rowGroupOf(access.claims[rule.claim]);
  }

  /**
   * The first active subscription whose row group `access` would change (its view's rule
   * reads a claim that differs), or undefined when none would.
   */
  groupChangedFor(access: Access): { readonly view: string; readonly claim: string } | undefined {
    for (const subscription of this.#active.values()) {
      const rule = subscription.info.rowRule;
      if (rule === undefined) continue;
      if (this.#groupIn(subscription.info, access) !== subscription.group) {
        return { view: subscription.view, claim: rule.claim };
      }
    }
    return undefined;
  }

  /**
   * Ends the subscriptions whose view the client's grant no longer covers (its token was
   * refreshed), each with the `view-forbidden` error frame.
   */
  enforceGrant(): void {
    const views = this.#session.access.views;
    for (const [identity, subscription] of [...this.#active]) {
      if (views.allows(subscription.view)) continue;
      this.#active.delete(identity);
      subscription[Symbol.dispose]();
      this.#o.telemetry.subscriptionRemoved(subscription.view);
      this.#forbidden(subscription.view);
    }
  }

  #open(identity: string, info: ViewInfo, message: SubscribeMessage): void {
    const ack = encodeSubscribedFrame(info);
    if (this.#queue.pushReply(ack) && this.#traceFrames) {
      this.#lines.traceReply("subscribed", ack, info.id, message.key);
    }
    if (this.#session.closed) return; // dropped as a slow consumer
    const subscription = info.kind === "derived"
      ? this.#openDerived(info, message)
      : this.#openBase(info, message);
    if (this.#session.closed) {
      // The snapshot overflowed the queue: the session is gone, release what was opened.
      subscription[Symbol.dispose]();
      return;
    }
    this.#active.set(identity, subscription);
    this.#o.telemetry.subscriptionCreated(info.id);
    this.#o.log.info("Client {client_id} subscribed to {view} (mode: {mode})", {
      client_id: this.#session.id,
      view: info.id,
      mode: info.mode,
      ...(message.key === undefined ? {} : { key: message.key }),
    });
  }

  #openBase(info: ViewInfo, message: SubscribeMessage): ActiveSubscription {
    const openedAt = this.#o.clock.monotonic();
    const group = this.#groupIn(info);
    if (message.withSnapshot !== false) {
      const entities = this.#o.directory.snapshot(info.id, {
        ...(message.key === undefined ? {} : { key: message.key }),
        ...(message.after === undefined ? {} : { after: message.after }),
        ...(message.snapshotLimit === undefined ? {} : { snapshotLimit: message.snapshotLimit }),
        ...(group === undefined ? {} : { group }),
      });
      queueSnapshot(this.#parts, {
        info,
        entities: capSnapshot(this.#parts, entities),
        startedAt: openedAt,
      });
    }
    if (message.after !== undefined && group !== undefined) {
      this.#queueDepartures(info, group, message.after, message.key);
    }
    const key = message.key;
    // A view with a row rule: the client's group's own topic, or, outside every group, none.
    const topic = info.rowRule === undefined
      ? info.id
      : group === undefined
      ? undefined
      : rowTopic(info.id, group);
    const listener = topic === undefined ? NO_LISTENER : this.#listen(info, topic, key);
    return new ActiveSubscription(info, key, group, openedAt, listener);
  }

  /**
   * After a resume's snapshot: a `delete` for each row that left the client's group since
   * its cursor (a view with a row rule), which it was not there to be told of live.
   */
  #queueDepartures(info: ViewInfo, group: string, after: string, key: string | undefined): void {
    for (const departed of this.#o.directory.departed(info.id, { group, after })) {
      if (key !== undefined && departed !== key) continue;
      const frame = deleteFrameText(info.mode, info.id, departed);
      if (this.#queue.pushReply(frame) && this.#traceFrames) {
        this.#lines.traceReply("delete", frame, info.id, departed);
      }
    }
  }

  /** Pushes the frames published on `topic` (of `key` only, when given) to the queue. */
  #listen(info: ViewInfo, topic: string, key: string | undefined): Disposable {
    return this.#o.bus.subscribe(topic, (frame) => {
      if (key !== undefined && frame.key !== key) return;
      if (this.#queue.pushLive(frame.bytes, frame.stamp) && this.#traceFrames) {
        this.#lines.traceFrame(info.id, frame);
      }
    });
  }

  #openDerived(info: ViewInfo, message: SubscribeMessage): ActiveSubscription {
    const openedAt = this.#o.clock.monotonic();
    const group = this.#groupIn(info);
    const key = message.key;
    if (info.rowRule !== undefined && group === undefined) {
      // Outside every row group: no row to show, no window to hold.
      return new ActiveSubscription(info, key, undefined, openedAt, NO_LISTENER);
    }
    const window = this.#o.directory.openWindow(info.id, {
      skip: message.skip ?? 0,
      take: message.take ?? info.defaultTake ?? DERIVED_VIEW_TAKE,
      ...(group === undefined ? {} : { group }),
    });
    if (message.withSnapshot !== false) {
      const entities = window.snapshot().filter((e) => key === undefined || e.key === key);
      queueSnapshot(this.#parts, {
        info,
        entities: capSnapshot(this.#parts, entities),
        startedAt: openedAt,
      });
    }
    const listener = this.#listen(info, window.topic, key);
    return new ActiveSubscription(info, key, group, openedAt, listener, window);
  }

  /** Handles an unsubscribe request. */
  unsubscribe(view: string, key: string | undefined): void {
    const clientId = this.#session.id;
    const identity = subscriptionIdentity(view, key);
    const subscription = this.#active.get(identity);
    if (subscription === undefined) {
      this.#o.log.debug(
        "Client {client_id} unsubscribed from {view}, which it had not subscribed to",
        () => ({
          client_id: clientId,
          view,
          ...(key === undefined ? {} : { key }),
        }),
      );
      return;
    }
    this.#active.delete(identity);
    subscription[Symbol.dispose]();
    this.#o.telemetry.subscriptionRemoved(subscription.view);
    this.#o.log.info("Client {client_id} unsubscribed from {view}", {
      client_id: clientId,
      view,
      ...(key === undefined ? {} : { key }),
    });
    this.#o.log.debug(
      "Subscription of client {client_id} to {view} ended after {duration_s} s",
      () => ({
        client_id: clientId,
        view,
        ...(key === undefined ? {} : { key }),
        duration_s: roundSeconds(this.#o.clock.monotonic() - subscription.openedAt),
      }),
    );
  }

  /** Ends every subscription: the connection closed. */
  releaseAll(): void {
    const log = this.#o.log;
    const debug = log.isEnabledFor("debug");
    for (const subscription of this.#active.values()) {
      subscription[Symbol.dispose]();
      this.#o.telemetry.subscriptionRemoved(subscription.view);
      if (debug) {
        log.debug(
          "Subscription of client {client_id} to {view} ended after {duration_s} s: connection closed",
          {
            client_id: this.#session.id,
            view: subscription.view,
            ...(subscription.key === undefined ? {} : { key: subscription.key }),
            duration_s: roundSeconds(this.#o.clock.monotonic() - subscription.openedAt),
          },
        );
      }
    }
    this.#active.clear();
  }
}

/** The listener of a subscription that receives nothing (a client outside every row group). */
const NO_LISTENER: Disposable = Object.freeze({ [Symbol.dispose]() {} });

/**
 * Subscription identity is view + key. Views and keys never contain ":", so the bare
 * view id (all keys) cannot collide with `view:key`, not even for a key named "*".
 */
function subscriptionIdentity(view: string, key: string | undefined): string {
  return key === undefined ? view : `${view}:${key}`;
}
