import type { Bus, BusListener } from "./types.ts";

/** Options for {@link createMemoryBus}. */
export interface MemoryBusOptions {
  /** Told when a listener throws; the remaining listeners still receive the message. */
  readonly onListenerError: (topic: string, error: unknown) => void;
}

/** The in-process bus: one listener set per topic, synchronous delivery. */
export function createMemoryBus(options: MemoryBusOptions): Bus {
  const topics = new Map<string, Set<BusListener>>();
  return {
    publish(topic, message) {
      const listeners = topics.get(topic);
      if (listeners === undefined) return;
      for (const listener of listeners) {
        try {
          listener(message);
        } catch (error) {
          options.onListenerError(topic, error);
        }
      }
    },
    subscribe(topic, listener) {
      let listeners = topics.get(topic);
      if (listeners === undefined) {
        listeners = new Set();
        topics.set(topic, listeners);
      }
      // Wrap so the same function can subscribe twice and be disposed independently.
      const entry: BusListener = (message) => listener(message);
      listeners.add(entry);
      return {
        [Symbol.dispose]() {
          const current = topics.get(topic);
          if (current === undefined) return;
          current.delete(entry);
          if (current.size === 0) topics.delete(topic);
        },
      };
    },
    hasSubscribers(topic) {
      return topics.has(topic);
    },
    listenerCount(topic) {
      return topics.get(topic)?.size ?? 0;
    },
    get topicCount() {
      return topics.size;
    },
  };
}
