import type { Logger } from "../log/mod.ts";
import { type Intake, IntakeClosedError } from "../pipeline/mod.ts";
import { parseEvent, type PharosEvent } from "../stack/mod.ts";
import type { Tracing } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { EventLog, LogEntry } from "./event_log.ts";
import { LOG_START, type LogPosition } from "./position.ts";
import { errorMessage } from "../util/mod.ts";

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
  let read: LogPosition = LOG_START;
  let applied: LogPosition = LOG_START;
  let inFlight = 0;
  let running = false;
  let loop: Promise<void> | undefined;
  /** Set while a `quiesce` waits: the loop parks at its next turn and resolves it. */
  let pauseRequest: { parked: () => void; resume: Promise<void> } | undefined;
  let badEntries = 0;
  /** When the read under way was sent; undefined between reads. */
  let readSentAt: number | undefined;

  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(ms, resolve));

  function decode(entry: LogEntry): PharosEvent | undefined {
    try {
      return parseEvent(JSON.parse(entry.payload ?? ""));
    } catch (error) {
      // Written by Pharos, so this is another writer's entry: skipped, still counted as read.
      if (badEntries++ % 1000 === 0) {
        logger.warn("Cluster log entry {id} is not an event, skipped: {error}", {
          id: entry.id,
          error: errorMessage(error),
          skipped: badEntries,
          code: "cluster-bad-entry",
        });
      }
      return undefined;
    }
  }

  /** Hands one read's entries to the intake, a chunk per run of one source. */
  async function push(entries: readonly LogEntry[]): Promise<void> {
    let source = "";
    let events: PharosEvent[] = [];
    const flush = async (last: LogPosition) => {
      if (events.length === 0) return;
      const chunk = { source, events, last };
      events = [];
      inFlight++;
      await intake.push(chunk.source, chunk.events, () => {
        inFlight--;
        applied = inFlight === 0 ? read : chunk.last;
        options.onEvents(chunk.source, chunk.events.length);
      });
    };
    let previous: LogPosition = read;
    for (const entry of entries) {
      if (entry.probe !== undefined) {
        options.onProbe(entry.probe);
        read = { id: entry.id, n: read.n };
        continue;
      }
      if (entry.n <= read.n) continue; // read twice (a reader replaced mid-read)
      if (entry.n !== read.n + 1) {
        await flush(previous);
        options.onGap(read.n + 1, entry);
        return;
      }
      if (entry.source !== source) {
        await flush(previous);
        source = entry.source;
      }
      const event = decode(entry);
      if (event !== undefined) events.push(event);
      read = { id: entry.id, n: entry.n };
      previous = read;
    }
    await flush(read);
    if (inFlight === 0) applied = read;
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      if (pauseRequest !== undefined) {
        const request = pauseRequest;
        request.parked();
        await request.resume;
        continue;
      }
      let entries: LogEntry[];
      readSentAt = clock.monotonic();
      try {
        entries = await log.read(read.id, READ_COUNT, READ_BLOCK_MS);
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
        if (tracing.exporting) {
          await tracing.inSpan(
            "cluster.consume",
            {
              entries: entries.length,
              "log.first": entries[0]!.id,
              "log.last": entries[entries.length - 1]!.id,
            },
            () => push(entries),
            { root: true, kind: "consumer" },
          );
        } else await push(entries);
      } catch (error) {
        if (error instanceof IntakeClosedError) break;
        throw error;
      }
    }
  }

  return {
    start(from) {
      read = from;
      applied = from;
      running = true;
      loop = run().catch((error) => {
        logger.error("Cluster log consumer stopped: {error}", { error, code: "cluster-consumer" });
      });
    },
    async stop() {
      running = false;
      await loop;
    },
    async quiesce(fn) {
      while (pauseRequest !== undefined) await pauseRequest.resume;
      let resume = () => {};
      let parked = () => {};
      const isParked = new Promise<void>((resolve) => (parked = resolve));
      pauseRequest = { parked, resume: new Promise<void>((resolve) => (resume = resolve)) };
      try {
        if (running) await isParked;
        await intake.idle();
        return await fn();
      } finally {
        pauseRequest = undefined;
        resume();
      }
    },
    moveTo(position) {
      read = position;
      applied = position;
    },
    get applied() {
      return applied;
    },
    get read() {
      return read;
    },
    readWaitingMs: () => (readSentAt === undefined ? 0 : clock.monotonic() - readSentAt),
  };
}
