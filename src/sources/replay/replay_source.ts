import type { Logger } from "../../log/mod.ts";
import { isSeq } from "../../stack/mod.ts";
import type { Clock } from "../../util/mod.ts";
import type { Source } from "../types.ts";
import { ReplayRun } from "./_replay_run.ts";
import type { ReplayProgress } from "./_resume_point.ts";

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
 *
 * Its parts, one file each: a run from start to stop (`_replay_run.ts`), reading the file
 * as lines (`lines.ts`), the event of a line (`_parse_line.ts`), where a run picks up
 * (`_resume_point.ts`) and the recorded pace (`_recorded_pace.ts`).
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
  const settings = { name, file, pace, maxLineLength, clock, log };
  const progress: ReplayProgress = { cursor: options.resumeFrom, lastLine: 0 };
  let run: ReplayRun | undefined;

  return {
    name,
    kind: "replay",
    stream: options.file,
    async start(context) {
      if (run !== undefined) return;
      // Taking over in a cluster: go on after the shared log's cursor, not a line of our own.
      if (context.resumeFrom !== undefined) {
        progress.cursor = context.resumeFrom;
        progress.lastLine = 0;
      }
      const state = new ReplayRun(context, settings, progress);
      run = state;
      await state.open();
    },
    async stop() {
      const state = run;
      if (state === undefined) return;
      await state.halt();
      if (run === state) run = undefined;
      state.reportStopped();
    },
    cursor: () => progress.cursor,
  };
}
