import type { Logger } from "../log/mod.ts";
import { parseEvent, type PharosEvent } from "../stack/mod.ts";
import { errorMessage } from "../util/mod.ts";
import type { LogEntry } from "./event_log.ts";

/** Log entries that are not events are warned about once per this many. */
const WARN_EVERY_BAD_ENTRIES = 1000;

/**
 * Decodes log entries into events; an entry that is not one is skipped (undefined) and
 * counted, with a warning for the first and every {@link WARN_EVERY_BAD_ENTRIES}th after.
 */
export function createEntryDecoder(logger: Logger): (entry: LogEntry) => PharosEvent | undefined {
  let badEntries = 0;
  return (entry) => {
    try {
      return parseEvent(JSON.parse(entry.payload ?? ""));
    } catch (error) {
      // Written by Pharos, so this is another writer's entry: skipped, still counted as read.
      if (badEntries++ % WARN_EVERY_BAD_ENTRIES === 0) {
        logger.warn("Cluster log entry {id} is not an event, skipped: {error}", {
          id: entry.id,
          error: errorMessage(error),
          skipped: badEntries,
          code: "cluster-bad-entry",
        });
      }
      return undefined;
    }
  };
}
