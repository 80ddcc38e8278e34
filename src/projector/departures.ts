import { compareSeq } from "../stack/mod.ts";
import { LruMap } from "../util/mod.ts";

/** Groups remembered per row: a row handed round more owners than this forgets the oldest. */
const GROUPS_PER_ROW = 16;

/**
 * The rows that left a row group of a view with a row rule, and when (`_seq`): a client that
 * resumes with `after` was not there to get the `delete`, so its resume sends one for each
 * row that left its group after its cursor. Bounded: the most recently moved rows (as many
 * as the view cache holds), each with its last few groups; an older departure is forgotten,
 * and its row stays on a client that resumes from before it, as an evicted row does.
 */
export class Departures {
  readonly #byRow: LruMap<string, Map<string, string>>;

  constructor(capacity: number) {
    this.#byRow = new LruMap(capacity);
  }

  /** Row `key` left `group` with the event at `seq`. */
  record(key: string, group: string, seq: string): void {
    const groups = this.#byRow.get(key) ?? new Map<string, string>();
    this.#byRow.set(key, groups); // the most recently moved rows are the ones kept
    groups.delete(group); // the latest departure goes last
    groups.set(group, seq);
    if (groups.size > GROUPS_PER_ROW) groups.delete(groups.keys().next().value!);
  }

  /** The rows that left `group` after cursor `after` and are not back (`inGroup`). */
  since(group: string, after: string, inGroup: (key: string) => boolean): string[] {
    const keys: string[] = [];
    for (const [key, groups] of this.#byRow.entries()) {
      const seq = groups.get(group);
      if (seq !== undefined && compareSeq(seq, after) > 0 && !inGroup(key)) keys.push(key);
    }
    return keys;
  }
}
