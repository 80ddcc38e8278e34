import type { Logger } from "../log/mod.ts";
import { type Intake, IntakeClosedError } from "../pipeline/mod.ts";
import type { Tracing } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { EventLog, LogEntry } from "./event_log.ts";
import { createLogPusher } from "./log_pusher.ts";
import { createPauseGate } from "./pause_gate.ts";
import type { LogPosition } from "./position.ts";

/** Entries one read takes at most. */
const READ_COUNT = 512;
/** How long one read waits for the first entry: also how soon a pause takes hold. */
const READ_BLOCK_MS = 250;

/** Options for {@link createLogConsumer}. */
export interface LogConsumerOptions {
  readonly log: EventLog;
  readonly intake: Intake;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly tracing: Tracing;
  /** `count` events of `source` applied here (its health monitor and counter). */
  readonly onEvents: (source: string, count: number) => void;
  /** An entry whose offset skips ahead: the log was trimmed past this instance. */
  readonly onGap: (expected: number, found: LogEntry) => void;
  /** A probe entry read back. */
  readonly onProbe: (tag: string) => void;
  /** A read failed (Redis down); the loop retries after a pause. */
  readonly onReadError: (error: unknown) => void;
}

/** Reads the log in order into the intake, keeping track of what has been applied. */
export interface LogConsumer {
  /** Begins reading after `from`. */
  start(from: LogPosition): void;
  /** Ends the loop (after the read under way). */
  stop(): Promise<void>;
  /**
   * Runs `fn` with the loop paused and every pushed event processed: the state then
   * reflects exactly `applied`. `fn` may {@link LogConsumer.moveTo} a new position.
   */
  quiesce<T>(fn: () => T | Promise<T>): Promise<T>;
  /** Sets where reading goes on (inside `quiesce`: a checkpoint loaded, a new epoch). */
  moveTo(position: LogPosition): void;
  /** The last entry whose event has been processed (all before it too). */
  readonly applied: LogPosition;
  /** The last entry read and handed to the intake. */
  readonly read: LogPosition;
  /** How long the read under way has been waiting for Redis (0 when none is). */
  readWaitingMs(): number;
}

/** Creates the consumer; nothing is read until `start`. */
export function createLogConsumer(options: LogConsumerOptions): LogConsumer {
  const { log, intake, clock, logger, tracing } = options;
  const pusher = createLogPusher(options);
  let running = false;
  let loop: Promise<void> | undefined;
  /** Asked for by `quiesce`: the loop parks at its next turn. */
  const pause = createPauseGate();
  /** When the read under way was sent; undefined between reads. */
  let readSentAt: number | undefined;

  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(ms, resolve));

  /** Pushes one read's entries, in a `cluster.consume` span when spans are exported. */
  async function consume(entries: readonly LogEntry[]): Promise<void> {
    if (!tracing.exporting) return await pusher.push(entries);
    await tracing.inSpan(
      "cluster.consume",
      {
        entries: entries.length,
        "log.first": entries[0]!.id,
        "log.last": entries[entries.length - 1]!.id,
      },
      () => pusher.push(entries),
      { root: true, kind: "consumer" },
    );
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      if (pause.asked()) {
        await pause.park();
        continue;
      }
      let entries: LogEntry[];
      readSentAt = clock.monotonic();
      try {
        entries = await log.read(pusher.read.id, READ_COUNT, READ_BLOCK_MS);
        failures = 0;
      } catch (error) {
        readSentAt = undefined;
        if (!running) break;
        if (failures++ === 0) options.onReadError(error);
        await sleep(Math.min(50 * 2 ** failures, 500));
        continue;
      }
      readSentAt = undefined;
      if (entries.length === 0) continue;
      try {
        await consume(entries);
      } catch (error) {
        if (error instanceof IntakeClosedError) break;
        throw error;
      }
    }
  }

  return {
    start(from) {
      pusher.moveTo(from);
      running = true;
      loop = run().catch((error) => {
        logger.error("Cluster log consumer stopped: {error}", { error, code: "cluster-consumer" });
      });
    },
    async stop() {
      running = false;
      await loop;
    },
    quiesce: (fn) =>
      pause.whilePaused(() => running, async () => {
        await intake.idle();
        return await fn();
      }),
    moveTo: (position) => pusher.moveTo(position),
    get applied() {
      return pusher.applied;
    },
    get read() {
      return pusher.read;
    },
    readWaitingMs: () => (readSentAt === undefined ? 0 : clock.monotonic() - readSentAt),
  };
}
