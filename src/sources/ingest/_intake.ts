import type { Logger } from "../../log/mod.ts";
import type { PharosEvent } from "../../stack/mod.ts";
import type { SourceContext } from "../types.ts";
import type { IngestLog } from "./_ingest_log.ts";

/** Seconds a producer should wait after a 503 before sending again. */
export const RETRY_AFTER_SECONDS = 1;

/** What handing a batch over came to. */
export type Offered = "offered" | "full" | "stopped" | "too-many" | "unavailable";

/** What the POST and socket handlers of one ingest source share. */
export interface IngestDeps {
  /** The source's name, for its log lines. */
  readonly name: string;
  readonly log: Logger;
  readonly lines: IngestLog;
  /** Largest POST body and WebSocket message, in bytes. */
  readonly maxBytes: number;
  /** The pipeline while the source runs; undefined once it stopped. */
  readonly context: () => SourceContext | undefined;
}

/**
 * Hands the good events of a batch to the pipeline (in cluster mode, to the shared log):
 * all of them, or none when it is full or the log is unreachable.
 */
export function offerEvents(
  context: SourceContext | undefined,
  events: readonly PharosEvent[],
): Offered | Promise<Offered> {
  if (context === undefined) return "stopped";
  if (events.length === 0) return "offered";
  // All-or-nothing: a batch the pipeline can never hold must not be told to retry.
  if (events.length > context.capacity) return "too-many";
  if (context.append !== undefined) {
    return context.append(events).then((outcome) => outcome === "appended" ? "offered" : outcome);
  }
  return context.offer(events) ? "offered" : "full";
}

/** Why a batch over the pipeline's capacity is refused for good. */
export function tooManyMessage(count: number, capacity: number): string {
  return `${count} events is more than the pipeline holds (${capacity}); send smaller batches`;
}
