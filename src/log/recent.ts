import { renderPlainMessage } from "./json_formatter.ts";
import type { SpanRecord } from "./span_record.ts";

/** One recent warning or error, as the console lists it. */
export interface RecentRecord {
  /** Increases by one per record kept: a reader asks for those after the last it saw. */
  readonly seq: number;
  /** Unix milliseconds. */
  readonly at: number;
  readonly level: "warning" | "error" | "fatal";
  /** `pharos.ws.server`. */
  readonly target: string;
  /** The rendered message. */
  readonly message: string;
  /** The record's `code` property, when it has one. */
  readonly code?: string;
}

/** The latest warnings and errors, kept in a ring. */
export interface RecentRecords {
  /** Takes a record the log filter allowed (a LoggingOptions `also` hook); keeps warn and above. */
  push(record: SpanRecord): void;
  /** The records kept with a `seq` above `afterSeq` (all of them by default), oldest first. */
  list(afterSeq?: number): RecentRecord[];
}

const KEPT_LEVELS = new Set(["warning", "error", "fatal"]);

/** A ring of the last `capacity` (default 200) warnings and errors. */
export function createRecentRecords(capacity = 200): RecentRecords {
  const ring: RecentRecord[] = [];
  let seq = 0;
  return {
    push(record) {
      if (!KEPT_LEVELS.has(record.level)) return;
      const code = record.properties.code;
      ring.push({
        seq: ++seq,
        at: record.timestamp,
        level: record.level as RecentRecord["level"],
        target: record.category.join("."),
        message: renderPlainMessage(record),
        ...(typeof code === "string" ? { code } : {}),
      });
      if (ring.length > capacity) ring.shift();
    },
    list(afterSeq = 0) {
      return ring.filter((record) => record.seq > afterSeq);
    },
  };
}
