import type { Bus, BusListener, BusLog } from "./types.ts";

/** Options for {@link createMemoryBus}. */
export interface MemoryBusOptions {
  /** Told when a listener throws; the remaining listeners still receive the message. */
  readonly onListenerError: (topic: string, error: unknown) => void;
  /**
   * Where topics opened and closed go (debug) and every publish (trace), e.g. the LogTape
   * logger `pharos.bus`. Its levels are read once, here: LogTape is configured once, at
   * start-up. Default none: nothing is logged.
   */
  readonly log?: BusLog;
}

/** The in-process bus: one listener set per topic, synchronous delivery. */
export function createMemoryBus(options: MemoryBusOptions): Bus {
  // Each listener in an entry of its own, so the same function can subscribe twice and be
  // disposed independently (a wrapper closure cost a call per frame per subscriber).
  const topics = new Map<string, Set<{ readonly listener: BusListener }>>();
  // Levels read once: a publish that traces nothing costs one test, and builds nothing.
  const debugLog = options.log?.isEnabledFor("debug") === true ? options.log : undefined;
  const traceLog = options.log?.isEnabledFor("trace") === true ? options.log : undefined;
  return {
    publish(topic, message) {
      const listeners = topics.get(topic);
      if (traceLog !== undefined) {
        traceLog.trace("Published to {topic}: {listeners} listeners", {
          topic,
          key: message.key,
          bytes: message.bytes.byteLength,
          listeners: listeners?.size ?? 0,
        });
      }
      if (listeners === undefined) return;
      for (const entry of listeners) {
        try {
          entry.listener(message);
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
        if (debugLog !== undefined) {
          debugLog.debug("Topic {topic} opened", { topic, topics: topics.size });
        }
      }
      const entry = { listener };
      listeners.add(entry);
      return {
        [Symbol.dispose]() {
          const current = topics.get(topic);
          if (current === undefined) return;
          current.delete(entry);
          if (current.size > 0) return;
          topics.delete(topic);
          if (debugLog !== undefined) {
            debugLog.debug("Topic {topic} removed: no listeners left", {
              topic,
              topics: topics.size,
            });
          }
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
