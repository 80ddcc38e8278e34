import type { Logger } from "../../log/mod.ts";
import { type Clock, errorMessage, truncate } from "../../util/mod.ts";
import type { SourceContext } from "../types.ts";
import { createLineReader, type Line } from "./lines.ts";
import { type ParsedLine, parseLine } from "./_parse_line.ts";
import { RecordedPace } from "./_recorded_pace.ts";
import { type ReplayProgress, ResumePoint } from "./_resume_point.ts";

/** Bad lines logged one by one per run; past it they are only counted. */
const MAX_LOGGED_BAD_LINES = 100;

/** What every run of one replay source reads, and how. */
export interface ReplaySettings {
  /** The source's name, for its log lines. */
  readonly name: string;
  readonly file: string;
  readonly pace: "recorded" | "fast";
  readonly maxLineLength: number;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * One run of a replay source, from `start()` to `stop()` or the end of the file: opens the
 * file, reads it line by line, and hands each line's event to the sink, paced.
 */
export class ReplayRun {
  readonly #context: SourceContext;
  readonly #s: ReplaySettings;
  readonly #progress: ReplayProgress;
  readonly #pace: RecordedPace | undefined;
  #stopping = false;
  /** The file ended or failed (status already reported). */
  #ended = false;
  /** Cancels the pending file read (stop). */
  #cancel: (() => Promise<void>) | undefined;
  /** Settles when the run has ended: no sink call after it. */
  #done: Promise<void> = Promise.resolve();
  #events = 0;
  #skipped = 0;
  #resumed = 0;

  constructor(context: SourceContext, settings: ReplaySettings, progress: ReplayProgress) {
    this.#context = context;
    this.#s = settings;
    this.#progress = progress;
    this.#pace = settings.pace === "recorded" ? new RecordedPace(settings.clock) : undefined;
  }

  /** Opens the file and starts replaying it; resolves once running or failed to open. */
  async open(): Promise<void> {
    const { file, pace, log, name } = this.#s;
    let handle: Deno.FsFile;
    try {
      handle = await Deno.open(file, { read: true });
    } catch (error) {
      const message = `Cannot open replay file ${file}: ${truncate(errorMessage(error))}`;
      log.error("{message}", { source: name, file, message });
      this.#ended = true;
      this.#context.onStatus("error", message);
      return;
    }
    if (this.#stopping) {
      handle.close();
      return;
    }
    const cursor = this.#progress.cursor;
    log.info("Replaying {file} ({pace} pace{resume})", {
      source: name,
      file,
      pace,
      resume: cursor === undefined ? "" : `, after ${cursor}`,
    });
    this.#context.onStatus("connected");
    // replay() handles its own failures (status "error"); this catch is for its bugs.
    this.#done = this.#replay(handle).catch((error) => {
      this.#ended = true;
      log.error("Replay of {file} stopped unexpectedly: {error}", { source: name, file, error });
      this.#context.onStatus("error", `Replay of ${file} stopped unexpectedly`);
    });
  }

  /** Ends the run; resolves once no sink call can follow. */
  async halt(): Promise<void> {
    const { file, log, name } = this.#s;
    this.#stopping = true;
    this.#pace?.wake();
    await this.#cancel?.().catch((error) =>
      log.debug("Cannot cancel reading {file}: {error}", { source: name, file, error })
    );
    await this.#done;
  }

  /** After {@link halt}: reports `disconnected`, unless the end of the file already did. */
  reportStopped(): void {
    if (!this.#ended) this.#context.onStatus("disconnected", "Replay stopped");
  }

  async #replay(handle: Deno.FsFile): Promise<void> {
    const { file, log, name } = this.#s;
    const resume = new ResumePoint(this.#progress);
    // The file's own byte stream, decoded with a streaming TextDecoder rather than piped
    // through a TextDecoderStream: cancelling this reader closes the file at once, so
    // stop() ends a pending read with no pipe still winding down after it resolves.
    const reader = handle.readable.getReader();
    this.#cancel = () => reader.cancel();
    const lines = createLineReader(reader, this.#s.maxLineLength);
    try {
      reading: for (;;) {
        const chunk = await lines.read();
        if (this.#stopping) break;
        for (const line of chunk.lines) {
          if (!(await this.#deliver(line, resume)) || this.#stopping) break reading;
        }
        if (chunk.done) break;
      }
    } catch (error) {
      if (this.#stopping) return;
      this.#fail(error);
      return;
    } finally {
      await reader.cancel().catch((error) =>
        log.debug("Cannot close {file}: {error}", { source: name, file, error })
      );
    }
    if (this.#stopping) return;
    this.#finish();
  }

  /** Delivers the event of one line; false once the run should end. */
  async #deliver(line: Line, resume: ResumePoint): Promise<boolean> {
    const progress = this.#progress;
    const done = resume.isDone(line.number);
    const parsed = this.#parse(line, done);
    if (parsed === undefined) {
      progress.lastLine = Math.max(progress.lastLine, line.number);
      return true;
    }
    const { event, timestamp } = parsed;
    // Lines skipped below still count, so positions stay those of the whole file.
    const { seq, beforeCursor } = resume.place(event);
    if (done) return true;
    if (beforeCursor) {
      this.#resumed++;
      progress.lastLine = line.number;
      return true;
    }
    if (this.#pace !== undefined && timestamp !== undefined) {
      const delayMs = this.#pace.delayBefore(timestamp);
      if (delayMs > 0) await this.#pace.sleep(delayMs);
    }
    if (this.#stopping) return false;
    if (this.#events === 0 && this.#resumed > 0) {
      this.#s.log.debug(
        "Replay of {file}: {resumed} lines up to cursor {cursor} skipped; resuming",
        {
          source: this.#s.name,
          file: this.#s.file,
          resumed: this.#resumed,
          cursor: resume.after ?? null,
        },
      );
    }
    await this.#context.sink(event);
    this.#events++;
    progress.lastLine = line.number;
    if (seq !== undefined) progress.cursor = seq;
    return true;
  }

  /**
   * The event of a line; undefined for a blank, bad or overlong one. Bad and overlong lines
   * are skipped with a warning, unless an earlier run of this instance already did.
   */
  #parse(line: Line, done: boolean): ParsedLine | undefined {
    if (line.text === undefined) {
      if (!done) this.#skip(line.number, `line over ${this.#s.maxLineLength} characters`);
      return undefined;
    }
    try {
      if (line.text.trim() !== "") return parseLine(line.text);
    } catch (error) {
      if (!done) this.#skip(line.number, (error as Error).message);
    }
    return undefined;
  }

  #skip(line: number, error: string): void {
    const { file, log, name } = this.#s;
    this.#skipped++;
    if (this.#skipped <= MAX_LOGGED_BAD_LINES) {
      log.warn("Replay of {file}: line {line} skipped: {error}", {
        source: name,
        file,
        line,
        error: truncate(error),
      });
    } else if (this.#skipped === MAX_LOGGED_BAD_LINES + 1) {
      log.warn("Replay of {file}: more than {count} bad lines; the rest are only counted", {
        source: name,
        file,
        count: MAX_LOGGED_BAD_LINES,
      });
    }
  }

  /** The file could not be read on: status `error`. */
  #fail(error: unknown): void {
    const { file, log, name } = this.#s;
    const message = `Cannot replay ${file}: ${truncate(errorMessage(error))}`;
    log.error("Replay of {file} failed at event {events}: {error}", {
      source: name,
      file,
      events: this.#events,
      error: message,
    });
    this.#ended = true;
    this.#context.onStatus("error", message);
  }

  /** The file has ended: status `disconnected`. */
  #finish(): void {
    const { file, log, name } = this.#s;
    log.info("Replay of {file} finished: {events} events, {skipped} skipped", {
      source: name,
      file,
      events: this.#events,
      skipped: this.#skipped,
      resumed: this.#resumed,
    });
    this.#ended = true;
    this.#context.onStatus("disconnected", `Replay of ${file} finished`);
  }
}
