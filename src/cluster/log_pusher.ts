import type { Logger } from "../log/mod.ts";
import type { Intake } from "../pipeline/mod.ts";
import type { PharosEvent } from "../stack/mod.ts";
import { createEntryDecoder } from "./entry_decoder.ts";
import type { LogEntry } from "./event_log.ts";
import { LOG_START, type LogPosition } from "./position.ts";

/** Options for {@link createLogPusher}. */
export interface LogPusherOptions {
  readonly intake: Intake;
  readonly logger: Logger;
  /** See `LogConsumerOptions.onEvents`. */
  readonly onEvents: (source: string, count: number) => void;
  /** See `LogConsumerOptions.onGap`. */
  readonly onGap: (expected: number, found: LogEntry) => void;
  /** See `LogConsumerOptions.onProbe`. */
  readonly onProbe: (tag: string) => void;
}

/** Hands what the consumer reads to the intake, keeping track of what has been applied. */
export interface LogPusher {
  /** Hands one read's entries to the intake, a chunk per run of one source. */
  push(entries: readonly LogEntry[]): Promise<void>;
  /** Sets where reading goes on; everything before it counts as applied. */
  moveTo(position: LogPosition): void;
  /** The last entry whose event has been processed (all before it too). */
  readonly applied: LogPosition;
  /** The last entry read and handed to the intake. */
  readonly read: LogPosition;
}

/** Creates the pusher at the start of an empty log. */
export function createLogPusher(options: LogPusherOptions): LogPusher {
  const { intake } = options;
  const decode = createEntryDecoder(options.logger);
  let read: LogPosition = LOG_START;
  let applied: LogPosition = LOG_START;
  let inFlight = 0;

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

  return {
    push,
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
  };
}
