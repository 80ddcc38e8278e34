import type { Bus } from "../bus/mod.ts";
import type { Telemetry } from "../telemetry/mod.ts";

/** Counts read by the console's feed (totals since start; the feed turns them into rates). */
export interface ConsoleCounts {
  readonly handlerErrors: number;
  readonly handlerCancellations: number;
  /** Open subscriptions per view id. */
  readonly subscriptions: ReadonlyMap<string, number>;
}

/** Projector batch durations gathered between two readings. */
export interface BatchTimes {
  readonly count: number;
  readonly totalMs: number;
  readonly maxMs: number;
}

/**
 * What the console observes of the running server, tapped where it already passes: the
 * telemetry facades (handler failures, cancellations, projector batches, subscriptions:
 * each a few per batch or per subscribe) and the bus (frames per view, counted only while
 * a console is open, so a server nobody watches pays one boolean test per frame).
 */
export interface ConsoleTap {
  /** `telemetry` with the console's counting added; everything else passes through. */
  telemetry(telemetry: Telemetry): Telemetry;
  /** `bus` counting publishes per view while {@link ConsoleTap.watching} is true. */
  bus(bus: Bus): Bus;
  /** Set while at least one console is open. */
  watching: boolean;
  readonly counts: ConsoleCounts;
  /** Frames published per view id since the last call; resets them. */
  takeFrames(): Map<string, number>;
  /** Projector batch times since the last call; resets them. */
  takeBatches(): BatchTimes;
}

/**
 * The view a bus topic belongs to: a derived window's topic is `<view>#<window>`, a row
 * group's `<view>|<value>` (the value is a claim, such as a subject: never shown per topic).
 */
function viewOfTopic(topic: string): string {
  const end = topic.search(/[#|]/);
  return end < 0 ? topic : topic.slice(0, end);
}

/**
 * `base` with `overrides` on top, through the prototype chain rather than a copy: a facade may
 * be a Proxy with no own keys (tests), or frozen (so assigning over its methods would throw).
 */
function extend<T extends object>(base: T, overrides: Record<string, unknown>): T {
  const properties: PropertyDescriptorMap = {};
  for (const [name, value] of Object.entries(overrides)) {
    properties[name] = { value, enumerable: true };
  }
  return Object.create(base, properties);
}

/** Creates the tap; wire `telemetry` and `bus` through it before the components get them. */
export function createConsoleTap(): ConsoleTap {
  let handlerErrors = 0;
  let handlerCancellations = 0;
  const subscriptions = new Map<string, number>();
  let frames = new Map<string, number>();
  let batches = { count: 0, totalMs: 0, maxMs: 0 };

  const tap: ConsoleTap = {
    watching: false,
    counts: {
      get handlerErrors() {
        return handlerErrors;
      },
      get handlerCancellations() {
        return handlerCancellations;
      },
      subscriptions,
    },
    telemetry(telemetry) {
      const vm = extend(telemetry.vm, {
        handlerError(entity: string, code: string) {
          handlerErrors++;
          telemetry.vm.handlerError(entity, code);
        },
        handlerCancelled(...args: Parameters<Telemetry["vm"]["handlerCancelled"]>) {
          handlerCancellations++;
          telemetry.vm.handlerCancelled(...args);
        },
      }) as Telemetry["vm"];
      const projector = extend(telemetry.projector, {
        batchDone(seconds: number) {
          const ms = seconds * 1000;
          batches.count++;
          batches.totalMs += ms;
          if (ms > batches.maxMs) batches.maxMs = ms;
          telemetry.projector.batchDone(seconds);
        },
      }) as Telemetry["projector"];
      const ws = extend(telemetry.ws, {
        subscriptionCreated(view: string) {
          subscriptions.set(view, (subscriptions.get(view) ?? 0) + 1);
          telemetry.ws.subscriptionCreated(view);
        },
        subscriptionRemoved(view: string) {
          subscriptions.set(view, Math.max(0, (subscriptions.get(view) ?? 0) - 1));
          telemetry.ws.subscriptionRemoved(view);
        },
      }) as Telemetry["ws"];
      return extend(telemetry, { vm, projector, ws }) as Telemetry;
    },
    bus(bus) {
      return {
        publish(topic, message) {
          if (tap.watching) {
            const view = viewOfTopic(topic);
            frames.set(view, (frames.get(view) ?? 0) + 1);
          }
          bus.publish(topic, message);
        },
        subscribe: (topic, listener) => bus.subscribe(topic, listener),
        hasSubscribers: (topic) => bus.hasSubscribers(topic),
        listenerCount: (topic) => bus.listenerCount(topic),
        get topicCount() {
          return bus.topicCount;
        },
      };
    },
    takeFrames() {
      const taken = frames;
      frames = new Map();
      return taken;
    },
    takeBatches() {
      const taken = batches;
      batches = { count: 0, totalMs: 0, maxMs: 0 };
      return taken;
    },
  };
  return tap;
}
