import type { Clock } from "../util/mod.ts";
import type { EventLog } from "./event_log.ts";
import type { RedisLink } from "./redis_link.ts";
import { withinMs } from "./within.ts";

/** How often Redis is probed; `/ready` follows within about four of these. */
export const PROBE_EVERY_MS = 250;
/** A probe not answered in this long counts as Redis down. */
export const PROBE_TIMEOUT_MS = 750;
/** Redis counts as down once no probe has succeeded for this long. */
const UP_WITHIN_MS = 1_000;
/** Every this many probes writes a probe entry into the log, for the consumer to see. */
const STREAM_PROBE_EVERY = 4;
/** A probe entry not read back in this long means the consumer stopped receiving. */
const STREAM_PROBE_DEADLINE_MS = 3_000;

/** Options for {@link createRedisMonitor}. */
export interface RedisMonitorOptions {
  readonly link: RedisLink;
  readonly log: EventLog;
  readonly clock: Clock;
  readonly instance: string;
  /** The epoch to check; undefined while it is being established (probes then only ping). */
  readonly epoch: () => string | undefined;
  /** The log holds another epoch, or none. */
  readonly onEpochMismatch: () => void;
  /**
   * How long the consumer's read under way has waited (0 between reads): a consumer held
   * back by a busy pipeline is behind, not stuck, and reads nothing meanwhile.
   */
  readonly readWaitingMs: () => number;
  /**
   * A probe entry written long ago has not come back, while a read has waited as long: the
   * reader's connection looks open but receives nothing.
   */
  readonly onConsumerStuck: () => void;
}

/** What the probes have learnt. */
export interface RedisMonitor {
  start(): void;
  stop(): Promise<void>;
  /** True while Redis answered a probe within the last second. */
  up(): boolean;
  /** The newest offset in the log as last seen. */
  readonly top: number;
  noteTop(n: number): void;
  /** A new epoch numbers from `n` again. */
  resetTop(n: number): void;
  /** Wall-clock ms of the latest checkpoint, when there is one. */
  readonly checkpointAt: number | undefined;
  /** The consumer read a probe entry back. */
  probeSeen(tag: string): void;
}

/** Creates the probe loop over `link`. */
export function createRedisMonitor(options: RedisMonitorOptions): RedisMonitor {
  const { link, log, clock, instance } = options;
  let lastOkAt = -Infinity;
  let top = 0;
  let checkpointAt: number | undefined;
  let probes = 0;
  let sent = 0;
  /** Monotonic time each unseen probe entry was written, by its number. */
  const unseen = new Map<number, number>();
  let timer: Disposable | undefined;
  let running = false;
  let tick: Promise<void> = Promise.resolve();

  const withTimeout = <T>(promise: Promise<T>) =>
    withinMs(clock, PROBE_TIMEOUT_MS, promise, "probe");

  async function probe(): Promise<void> {
    const epoch = options.epoch();
    if (!link.connected()) return;
    const streamProbe = epoch !== undefined && probes++ % STREAM_PROBE_EVERY === 0;
    const tag = streamProbe ? `${instance}:${++sent}` : "";
    const startedAt = clock.monotonic();
    try {
      if (epoch === undefined) {
        await withTimeout(link.commands.ping());
        lastOkAt = startedAt;
        return;
      }
      const result = await withTimeout(log.probe(epoch, tag));
      lastOkAt = startedAt;
      if (result.kind === "epoch") {
        options.onEpochMismatch();
        return;
      }
      if (streamProbe) unseen.set(sent, startedAt);
      top = Math.max(top, result.n);
      checkpointAt = result.checkpointAt;
      checkConsumer();
    } catch {
      // Redis is slow or gone: `up()` turns false once no probe succeeded for a second.
    }
  }

  function checkConsumer(): void {
    const now = clock.monotonic();
    for (const writtenAt of unseen.values()) {
      if (
        now - writtenAt > STREAM_PROBE_DEADLINE_MS &&
        options.readWaitingMs() > STREAM_PROBE_DEADLINE_MS
      ) {
        unseen.clear();
        options.onConsumerStuck();
      }
      return; // the oldest decides
    }
  }

  function schedule(): void {
    if (!running) return;
    timer = clock.setTimer(PROBE_EVERY_MS, () => {
      tick = probe().finally(schedule);
    });
  }

  return {
    start() {
      running = true;
      tick = probe().finally(schedule);
    },
    async stop() {
      running = false;
      timer?.[Symbol.dispose]();
      await tick;
    },
    up: () => link.connected() && clock.monotonic() - lastOkAt < UP_WITHIN_MS,
    get top() {
      return top;
    },
    noteTop(n) {
      if (n > top) top = n;
    },
    resetTop(n) {
      top = n;
    },
    get checkpointAt() {
      return checkpointAt;
    },
    probeSeen(tag) {
      const colon = tag.lastIndexOf(":");
      if (tag.slice(0, colon) !== instance) return;
      const seen = Number(tag.slice(colon + 1));
      for (const number of unseen.keys()) if (number <= seen) unseen.delete(number);
    },
  };
}
