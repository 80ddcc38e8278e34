import type { HealthBoard } from "../health/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Intake } from "../pipeline/mod.ts";
import type { Telemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { createLogConsumer, type LogConsumer } from "./consumer.ts";
import type { EventLog } from "./event_log.ts";
import { compareIds, type LogPosition } from "./position.ts";
import type { RedisLink } from "./redis_link.ts";
import { EMPTY_STATE, importState, type StateHolders } from "./state_io.ts";

/** Options for {@link createFollower}. */
export interface FollowerOptions {
  readonly link: RedisLink;
  readonly log: EventLog;
  readonly clock: Clock;
  /** `pharos.cluster`. */
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  readonly instance: string;
  readonly state: StateHolders;
  /** The cluster's lifetime: start-up stops retrying once it is aborted. */
  readonly signal: AbortSignal;
  /** Following (re)starts at offset `n`: the newest offset seen is `n` again. */
  readonly onTopReset: (n: number) => void;
  /** An entry whose offset skips ahead: the log was trimmed past this instance. */
  readonly onGap: (expected: number, found: number) => void;
  /** A probe entry read back. */
  readonly onProbe: (tag: string) => void;
}

/** The parts of the pipeline the log is followed into. */
export interface FollowedPipeline {
  readonly intake: Intake;
  readonly health: HealthBoard;
}

/** This instance following the log: the epoch in force, the consumer, and the catch-up. */
export interface Follower {
  /** The epoch in force; undefined until start-up has read (or started) one. */
  readonly epoch: string | undefined;
  /** A recovery joined or started `epoch`. */
  joinEpoch(epoch: string | undefined): void;
  /**
   * Connects, reads the epoch in force and its checkpoint, and follows the log from there;
   * retried (250 ms doubling, at most 2 s) until it succeeds or the cluster stops.
   */
  start(pipeline: FollowedPipeline): Promise<void>;
  /** Applied up to the log's end as it was when following (re)started. */
  isCaughtUp(): boolean;
  /** Follows on from `position` (a checkpoint loaded), catching up again to the log's end. */
  moveTo(position: LogPosition): Promise<void>;
  /** Runs `fn` with the consumer paused and the pipeline idle (at once before start-up). */
  quiet(fn: () => Promise<void>): Promise<void>;
  /** The consumer, once start-up has made it. */
  consumer(): LogConsumer | undefined;
  /** The offset applied so far (0 before start-up). */
  applied(): number;
  /** Ends the consumer's loop. */
  stop(): Promise<void>;
}

/** Waits `ms` before the next start-up attempt, or less when the cluster stops meanwhile. */
export function retryPause(ms: number, signal: AbortSignal, clock: Clock): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = clock.setTimer(ms, done);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      timer[Symbol.dispose]();
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** A new epoch's name: when it began, and random enough that two started at once differ. */
export function newEpoch(clock: Clock): string {
  return `${clock.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Creates the follower; nothing connects until `start`. */
export function createFollower(options: FollowerOptions): Follower {
  const { link, log, clock, logger, instance } = options;
  let epoch: string | undefined;
  let consumer: LogConsumer | undefined;
  /** The log's end when this instance (re)started following it: ready once applied past it. */
  let catchUpTo: string | undefined;
  let caughtUp = false;

  /** Reads the epoch in force (starting one on an empty Redis) and its checkpoint position. */
  async function bootstrap(pipeline: FollowedPipeline): Promise<void> {
    await link.open();
    epoch = await log.epoch();
    if (epoch === undefined) {
      epoch = (await log.createEpoch(newEpoch(clock), EMPTY_STATE, clock.now())).epoch;
    }
    const checkpoint = await log.readCheckpoint();
    let from = { id: "0-0", n: 0 };
    if (checkpoint !== undefined && checkpoint.epoch === epoch) {
      importState(options.state, checkpoint.state);
      from = { id: checkpoint.id, n: checkpoint.n };
    }
    catchUpTo = await log.lastId();
    options.onTopReset(from.n);
    logger.info("Cluster log {epoch}: following from offset {n} (checkpoint {id})", {
      instance,
      epoch,
      n: from.n,
      id: from.id,
    });
    consumer = consumerInto(pipeline);
    consumer.start(from);
  }

  function consumerInto({ intake, health }: FollowedPipeline): LogConsumer {
    const { telemetry } = options;
    return createLogConsumer({
      log,
      intake,
      clock,
      logger,
      tracing: telemetry.tracing,
      onEvents(source, count) {
        health.get(source)?.recordEvent(count);
        telemetry.sources.eventReceived(source, count);
      },
      onGap: (expected, found) => options.onGap(expected, found.n),
      onProbe: options.onProbe,
      onReadError: (error) => logger.debug("Cluster log read failed: {error}", { error }),
    });
  }

  function isCaughtUp(): boolean {
    if (caughtUp) return true;
    if (consumer === undefined || catchUpTo === undefined) return false;
    caughtUp = compareIds(consumer.applied.id, catchUpTo) >= 0;
    if (caughtUp) {
      logger.info("Cluster log caught up at offset {n}: this instance serves", {
        instance,
        n: consumer.applied.n,
      });
    }
    return caughtUp;
  }

  return {
    get epoch() {
      return epoch;
    },
    joinEpoch(joined) {
      epoch = joined;
    },
    async start(pipeline) {
      const { signal } = options;
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          await bootstrap(pipeline);
          break;
        } catch (error) {
          logger.warn("Cluster start-up failed (attempt {attempt}), retrying: {error}", {
            attempt: attempt + 1,
            error,
          });
          await retryPause(Math.min(250 * 2 ** attempt, 2_000), signal, clock);
        }
      }
      // Stopped while starting: a consumer made after the stop must not go on reading.
      if (signal.aborted) await consumer?.stop();
    },
    isCaughtUp,
    async moveTo(position) {
      consumer?.moveTo(position);
      options.onTopReset(position.n);
      caughtUp = false;
      catchUpTo = await log.lastId();
    },
    async quiet(fn) {
      if (consumer === undefined) return await fn();
      await consumer.quiesce(fn);
    },
    consumer: () => consumer,
    applied: () => consumer?.applied.n ?? 0,
    stop: async () => await consumer?.stop(),
  };
}
