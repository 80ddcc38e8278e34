import { compareSeq, createSeqCounter, type PharosEvent } from "../../stack/mod.ts";

/** Where a replay stands, kept across the runs of one source. */
export interface ReplayProgress {
  /** The `_seq` of the last slotted line delivered, or the cursor it was told to resume after. */
  cursor: string | undefined;
  /** The last line a run of this instance finished with (delivered or skipped), 1-based. */
  lastLine: number;
}

/** Where an event of a line falls: its `_seq` (none without a slot), and whether it was delivered before. */
export interface Placed {
  readonly seq: string | undefined;
  /** At or before the cursor the run resumes after: delivered by an earlier run. */
  readonly beforeCursor: boolean;
}

/**
 * Where one run picks up. This instance ran before: go on after the last line it finished,
 * exactly. Else resume after the `_seq` cursor it was given, if any, numbering the lines
 * as the VM numbers `_seq` to find it.
 */
export class ResumePoint {
  /** Lines up to this one were finished by an earlier run of this instance. */
  readonly lastLine: number;
  /** The cursor to resume after, when this instance has not run before. */
  readonly after: string | undefined;
  // `_seq` numbering as the VM keeps it.
  readonly #seqs = createSeqCounter();
  // The position of the latest slotted line, for lines without a slot when resuming.
  #position: string | undefined;

  constructor(progress: Readonly<ReplayProgress>) {
    this.lastLine = progress.lastLine;
    this.after = this.lastLine > 0 ? undefined : progress.cursor;
  }

  /** True for a line an earlier run of this instance finished. */
  isDone(lineNumber: number): boolean {
    return lineNumber <= this.lastLine;
  }

  /**
   * Numbers the event of the next parsed line. Every parsed line must be placed, delivered
   * or not, so positions stay those of the whole file.
   */
  place(event: PharosEvent): Placed {
    const seq = this.#seqs.next(event)?.seq;
    const previous = this.#position;
    if (seq !== undefined) this.#position = seq;
    if (this.after === undefined) return { seq, beforeCursor: false };
    // A line without a slot sits between the slotted lines around it: skipped when
    // the one before it is before the cursor, delivered (perhaps again) when that one
    // is the cursor line itself: at least once, never lost.
    const beforeCursor = seq !== undefined
      ? compareSeq(seq, this.after) <= 0
      : previous === undefined || compareSeq(previous, this.after) < 0;
    return { seq, beforeCursor };
  }
}
