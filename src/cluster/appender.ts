import type { Logger } from "../log/mod.ts";
import type { AppendOutcome, Source, SourceContext } from "../sources/mod.ts";
import { createSeqCounter, type PharosEvent, toSeq } from "../stack/mod.ts";
import type { ClusterTelemetry, Tracing } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { EventLog, LogRecord } from "./event_log.ts";

/** Thrown into a singleton source's pending delivery once its lease is gone. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}

/**
 * How many pipeline capacities this instance's consumer may trail the log before its appends
 * are refused as `full` (ingest answers `503 pipeline-full`; a singleton source waits and
 * retries). The consumer waits while the intake is full, so the log, not memory, holds a
 * backlog, and a lag of about one capacity is only the intake filling up. Several
 * capacities behind, this instance applies the log slower than it grows: refusing its
 * appends sends producers to an instance that keeps up, instead of feeding one whose own
 * clients already see old data. Four leaves room for bursts and a catch-up; it is a chosen
 * margin, not a measured one.
 */
export const MAX_LAG_PIPELINE_CAPACITIES = 4;

/**
 * The lag, in log entries, beyond which this instance's appends are refused as `full`:
 * {@link MAX_LAG_PIPELINE_CAPACITIES} times the pipeline's capacity.
 */
export function maxLagEventsFor(pipelineCapacity: number): number {
  return pipelineCapacity * MAX_LAG_PIPELINE_CAPACITIES;
}

/** Options for {@link createAppender}. */
export interface AppenderOptions {
  readonly log: EventLog;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly telemetry: ClusterTelemetry;
  readonly tracing: Tracing;
  /** The epoch appends are made in; undefined while it is being established. */
  readonly epoch: () => string | undefined;
  /** Whether Redis answers now. */
  readonly up: () => boolean;
  /** Entries in the log this instance has not applied yet. */
  readonly lag: () => number;
  /**
   * Lag beyond which appends are refused as `full` (the intake's back-pressure,
   * cluster-wide): {@link maxLagEventsFor} the pipeline's capacity.
   */
  readonly maxLag: number;
  /** The log answered with another epoch: it was lost, or replaced. */
  readonly onEpochMismatch: () => void;
  /** The newest offset an append reported. */
  readonly onTop: (n: number) => void;
}

/** How sources reach the shared log. */
export interface Appender {
  /**
   * The cluster context of `source`: `append` (ingest) answers once the events are in the
   * log; `sink` (singleton sources) retries until appended, or throws a
   * {@link LeaseLostError} once `holding()` turns false.
   */
  contextFor(source: Source, local: SourceContext, holding: () => boolean): SourceContext;
}

/** Pause between attempts of a singleton source's delivery. */
const RETRY_MS = { full: 20, unavailable: 200 } as const;

/** `_seq` of an event that names its own position (slot and index); else undefined. */
function positionOf(event: PharosEvent): string | undefined {
  return event.slot !== undefined && event.index !== undefined
    ? toSeq(event.slot, event.index)
    : undefined;
}

/**
 * Where a source stands after each event, counted as the VM counts `_seq`, for the source
 * that takes over.
 */
function createCursorTracker(): (event: PharosEvent) => string | undefined {
  const seqs = createSeqCounter();
  return (event) => seqs.next(event)?.seq;
}

/** Creates the appender. */
export function createAppender(options: AppenderOptions): Appender {
  const { log, clock, telemetry, tracing } = options;

  async function append(
    source: string,
    events: readonly PharosEvent[],
    cursorOf: (event: PharosEvent) => string | undefined,
  ): Promise<AppendOutcome> {
    const epoch = options.epoch();
    if (epoch === undefined || !options.up()) {
      telemetry.appendFailed(events.length);
      return "unavailable";
    }
    if (options.lag() > options.maxLag) return "full";
    if (!tracing.exporting) return await appendRecords(epoch, source, events, cursorOf, undefined);
    const first = events[0]?.traceparent;
    return await tracing.inSpan(
      "cluster.append",
      { "event.source": source, events: events.length },
      (span) => appendRecords(epoch, source, events, cursorOf, span.traceparent),
      tracing.activeSpan() === undefined && first !== undefined
        ? { parent: first, kind: "producer" }
        : { kind: "producer" },
    );
  }

  async function appendRecords(
    epoch: string,
    source: string,
    events: readonly PharosEvent[],
    cursorOf: (event: PharosEvent) => string | undefined,
    traceparent: string | undefined,
  ): Promise<AppendOutcome> {
    const first = events[0]?.traceparent;
    const records: LogRecord[] = events.map((event) => {
      // The consumers continue the append's span: one trace from the producer through
      // this instance to whichever instance's client gets the frame.
      const carried = traceparent !== undefined &&
          (event.traceparent === undefined || event.traceparent === first)
        ? { ...event, traceparent }
        : event;
      return { source, event: carried, position: positionOf(event), cursor: cursorOf(event) };
    });
    let result;
    try {
      result = await log.append(epoch, records);
    } catch (error) {
      telemetry.appendFailed(events.length);
      options.logger.debug("Append of {events} events to the cluster log failed: {error}", {
        source,
        events: events.length,
        error,
      });
      return "unavailable";
    }
    if (result.kind === "epoch") {
      telemetry.appendFailed(events.length);
      options.onEpochMismatch();
      return "unavailable";
    }
    options.onTop(result.n);
    return "appended";
  }

  return {
    contextFor(source, local, holding) {
      const cursorOf = createCursorTracker();
      const wait = (ms: number) => new Promise<void>((resolve) => clock.setTimer(ms, resolve));
      return {
        onStatus: local.onStatus,
        capacity: local.capacity,
        // Ingest answers its producer from `append`; nothing offers past the log.
        offer: () => false,
        append: (events) => append(source.name, events, (event) => positionOf(event)),
        async sink(event) {
          for (;;) {
            if (!holding()) throw new LeaseLostError(`${source.name} no longer holds the lease`);
            const outcome = await append(source.name, [event], cursorOf);
            if (outcome === "appended") return;
            await wait(RETRY_MS[outcome]);
          }
        },
      };
    },
  };
}
