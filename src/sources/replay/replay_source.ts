import type { Logger } from "../../log/mod.ts";
import {
  compareSeq,
  createSeqCounter,
  isSeq,
  parseEvent,
  type PharosEvent,
} from "../../stack/mod.ts";
import type { Clock } from "../../util/mod.ts";
import { truncate } from "../../util/mod.ts";
import { createLineSplitter, type Line } from "./lines.ts";
import type { Source, SourceContext } from "../types.ts";
import { errorMessage } from "../../util/mod.ts";

/** Options for {@link createReplaySource}. */
export interface ReplaySourceOptions {
  /** Path of the NDJSON file: one event per line, optionally with a `timestamp` field. */
  readonly file: string;
  /**
   * `recorded` waits between events as their timestamps say (lines without one follow
   * the previous line at once); `fast` delivers as fast as the pipeline takes them.
   */
  readonly pace: "recorded" | "fast";
  /** Instance name; default `replay`. */
  readonly name?: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** A `_seq` cursor: lines at or before it are skipped. Default: replay from the start. */
  readonly resumeFrom?: string;
  /** Longest line in characters; longer ones are skipped as bad. Default 1 MiB. */
  readonly maxLineLength?: number;
}

/** Bad lines logged one by one per run; past it they are only counted. */
const MAX_LOGGED_BAD_LINES = 100;

interface Run {
  readonly context: SourceContext;
  stopping: boolean;
  /** The file ended or failed (status already reported). */
  ended: boolean;
  /** Ends the current pacing wait early (stop). */
  wake?: (() => void) | undefined;
  /** Cancels the pending file read (stop). */
  cancel?: () => Promise<void>;
  /** Settles when the run has ended: no sink call after it. */
  done: Promise<void>;
}

/** The event and its pacing timestamp (ms since the epoch) of one line; throws when bad. */
function parseLine(text: string): { event: PharosEvent; timestamp: number | undefined } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Cannot parse JSON: ${(error as Error).message}`, { cause: error });
  }
  const event = parseEvent(value);
  const raw = (value as Record<string, unknown>).timestamp;
  if (raw === undefined || raw === null) return { event, timestamp: undefined };
  const timestamp = typeof raw === "number" ? raw : typeof raw === "string" ? Date.parse(raw) : NaN;
  if (!Number.isFinite(timestamp)) {
    throw new TypeError(
      'Cannot decode event: field "timestamp" must be milliseconds since the epoch or an ISO 8601 string',
    );
  }
  return { event, timestamp };
}

/**
 * Creates the replay source: streams an NDJSON file of events into the pipeline, line by
 * line (never the whole file in memory), at the recorded pace or as fast as the pipeline
 * takes them. Bad lines are logged with their number and skipped. When the file ends the
 * source reports `disconnected`; a file that cannot be read reports `error`.
 *
 * The cursor counts positions the way the VM assigns `_seq` (explicit `index`, else
 * arrival order within the slot), so a replay started with `resumeFrom: cursor()` goes
 * on after the last delivered line without loss or duplicates. Lines without a slot have
 * no `_seq`: on resume those right after the cursor line are delivered again (at least
 * once, never lost). This instance started again goes on after the exact line it
 * stopped at.
 */
export function createReplaySource(options: ReplaySourceOptions): Source {
  const { file, pace, clock, log } = options;
  const name = options.name ?? "replay";
  if (typeof file !== "string" || file === "") {
    throw new TypeError(`Cannot create replay source ${name}: the file path must not be empty`);
  }
  if (pace !== "recorded" && pace !== "fast") {
    throw new TypeError(`Cannot create replay source ${name}: pace must be "recorded" or "fast"`);
  }
  if (options.resumeFrom !== undefined && !isSeq(options.resumeFrom)) {
    throw new TypeError(
      `Cannot create replay source ${name}: resumeFrom must be a _seq cursor like "1000:000000000000"`,
    );
  }
  const maxLineLength = options.maxLineLength ?? 1024 * 1024;
  if (!Number.isSafeInteger(maxLineLength) || maxLineLength < 1) {
    throw new RangeError(
      `Cannot create replay source ${name}: maxLineLength must be a positive integer`,
    );
  }
  let cursor = options.resumeFrom;
  // The last line a run of this instance finished with (delivered or skipped), 1-based.
  let lastLine = 0;
  let run: Run | undefined;

  async function replay(handle: Deno.FsFile, context: SourceContext, state: Run): Promise<void> {
    // This instance ran before: go on after the last line it finished, exactly. Else
    // resume after the `_seq` cursor it was given, if any.
    const resumeLine = lastLine;
    const resumeAfter = resumeLine > 0 ? undefined : cursor;
    // The file's own byte stream, decoded with a streaming TextDecoder rather than piped
    // through a TextDecoderStream: cancelling this reader closes the file at once, so
    // stop() ends a pending read with no pipe still winding down after it resolves.
    const reader = handle.readable.getReader();
    state.cancel = () => reader.cancel();
    const decoder = new TextDecoder();
    const splitter = createLineSplitter(maxLineLength);
    let events = 0;
    let skipped = 0;
    let resumed = 0;
    // `_seq` numbering as the VM keeps it.
    const seqs = createSeqCounter();
    // The position of the latest slotted line, for lines without a slot when resuming.
    let position: string | undefined;
    // Recorded pace: monotonic time and timestamp of the first timed event delivered.
    let anchor: { at: number; timestamp: number } | undefined;

    const wait = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = clock.setTimer(ms, () => {
          state.wake = undefined;
          resolve();
        });
        state.wake = () => {
          state.wake = undefined;
          timer[Symbol.dispose]();
          resolve();
        };
      });

    const seqFor = (event: PharosEvent): string | undefined => seqs.next(event)?.seq;

    const skip = (line: number, error: string) => {
      skipped++;
      if (skipped <= MAX_LOGGED_BAD_LINES) {
        log.warn("Replay of {file}: line {line} skipped: {error}", {
          source: name,
          file,
          line,
          error: truncate(error),
        });
      } else if (skipped === MAX_LOGGED_BAD_LINES + 1) {
        log.warn("Replay of {file}: more than {count} bad lines; the rest are only counted", {
          source: name,
          file,
          count: MAX_LOGGED_BAD_LINES,
        });
      }
    };

    /** Delivers the event of one line; false once the run should end. */
    const deliver = async (line: Line): Promise<boolean> => {
      const done = line.number <= resumeLine;
      if (line.text === undefined) {
        if (!done) skip(line.number, `line over ${maxLineLength} characters`);
        lastLine = Math.max(lastLine, line.number);
        return true;
      }
      let parsed: ReturnType<typeof parseLine> | undefined;
      try {
        if (line.text.trim() !== "") parsed = parseLine(line.text);
      } catch (error) {
        if (!done) skip(line.number, (error as Error).message);
      }
      if (parsed === undefined) {
        lastLine = Math.max(lastLine, line.number);
        return true;
      }
      const { event, timestamp } = parsed;
      // Lines skipped below still count, so positions stay those of the whole file.
      const seq = seqFor(event);
      const previous = position;
      if (seq !== undefined) position = seq;
      if (done) return true;
      if (resumeAfter !== undefined) {
        // A line without a slot sits between the slotted lines around it: skipped when
        // the one before it is before the cursor, delivered (perhaps again) when that one
        // is the cursor line itself: at least once, never lost.
        const before = seq !== undefined
          ? compareSeq(seq, resumeAfter) <= 0
          : previous === undefined || compareSeq(previous, resumeAfter) < 0;
        if (before) {
          resumed++;
          lastLine = line.number;
          return true;
        }
      }
      if (pace === "recorded" && timestamp !== undefined) {
        if (anchor === undefined) anchor = { at: clock.monotonic(), timestamp };
        const delayMs = anchor.at + (timestamp - anchor.timestamp) - clock.monotonic();
        if (delayMs > 0) await wait(delayMs);
      }
      if (state.stopping) return false;
      if (events === 0 && resumed > 0) {
        log.debug("Replay of {file}: {resumed} lines up to cursor {cursor} skipped; resuming", {
          source: name,
          file,
          resumed,
          cursor: resumeAfter ?? null,
        });
      }
      await context.sink(event);
      events++;
      lastLine = line.number;
      if (seq !== undefined) cursor = seq;
      return true;
    };

    try {
      reading: for (;;) {
        const { done, value } = await reader.read();
        if (state.stopping) break;
        const lines = done ? splitter.push(decoder.decode()).concat(splitter.end()) : splitter
          .push(decoder.decode(value, { stream: true }));
        for (const line of lines) {
          if (!(await deliver(line)) || state.stopping) break reading;
        }
        if (done) break;
      }
    } catch (error) {
      if (state.stopping) return;
      const message = `Cannot replay ${file}: ${truncate(errorMessage(error))}`;
      log.error("Replay of {file} failed at event {events}: {error}", {
        source: name,
        file,
        events,
        error: message,
      });
      state.ended = true;
      context.onStatus("error", message);
      return;
    } finally {
      await reader.cancel().catch((error) =>
        log.debug("Cannot close {file}: {error}", { source: name, file, error })
      );
    }
    if (state.stopping) return;
    log.info("Replay of {file} finished: {events} events, {skipped} skipped", {
      source: name,
      file,
      events,
      skipped,
      resumed,
    });
    state.ended = true;
    context.onStatus("disconnected", `Replay of ${file} finished`);
  }

  async function open(context: SourceContext, state: Run): Promise<void> {
    let handle: Deno.FsFile;
    try {
      handle = await Deno.open(file, { read: true });
    } catch (error) {
      const message = `Cannot open replay file ${file}: ${truncate(errorMessage(error))}`;
      log.error("{message}", { source: name, file, message });
      state.ended = true;
      context.onStatus("error", message);
      return;
    }
    if (state.stopping) {
      handle.close();
      return;
    }
    log.info("Replaying {file} ({pace} pace{resume})", {
      source: name,
      file,
      pace,
      resume: cursor === undefined ? "" : `, after ${cursor}`,
    });
    context.onStatus("connected");
    // replay() handles its own failures (status "error"); this catch is for its bugs.
    state.done = replay(handle, context, state).catch((error) => {
      state.ended = true;
      log.error("Replay of {file} stopped unexpectedly: {error}", { source: name, file, error });
      context.onStatus("error", `Replay of ${file} stopped unexpectedly`);
    });
  }

  return {
    name,
    kind: "replay",
    stream: options.file,
    async start(context) {
      if (run !== undefined) return;
      // Taking over in a cluster: go on after the shared log's cursor, not a line of our own.
      if (context.resumeFrom !== undefined) {
        cursor = context.resumeFrom;
        lastLine = 0;
      }
      const state: Run = { context, stopping: false, ended: false, done: Promise.resolve() };
      run = state;
      await open(context, state);
    },
    async stop() {
      const state = run;
      if (state === undefined) return;
      state.stopping = true;
      state.wake?.();
      await state.cancel?.().catch((error) =>
        log.debug("Cannot cancel reading {file}: {error}", { source: name, file, error })
      );
      await state.done;
      if (run === state) run = undefined;
      if (!state.ended) state.context.onStatus("disconnected", "Replay stopped");
    },
    cursor: () => cursor,
  };
}
