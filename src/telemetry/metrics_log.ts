import type { Meter } from "@opentelemetry/api";
import type { LogTelemetry } from "./facade.ts";
import { METRIC_DEFINITIONS as m } from "./metric_definitions.ts";
import { observable } from "./metric_instruments.ts";

/** The log pipeline's facade, and the hook that adds a logging handle's own drop count. */
export interface LogMetrics {
  readonly telemetry: LogTelemetry;
  /** Counts log lines a logging handle dropped (read when metrics are collected). */
  countLogDrops(read: () => number): void;
}

/** The instrument of log lines dropped because the output could not keep up. */
export function createLogMetrics(meters: readonly Meter[]): LogMetrics {
  // An observable counter, so drops reported through the facade and drops read from a
  // logging handle add up in one series.
  let reportedDrops = 0;
  const dropReaders: (() => number)[] = [];
  observable(meters, m.logLinesDropped, (result) => {
    let total = reportedDrops;
    for (const read of dropReaders) total += read();
    result.observe(total);
  });
  return {
    telemetry: {
      linesDropped(count) {
        if (count > 0) reportedDrops += count;
      },
    },
    countLogDrops(read) {
      dropReaders.push(read);
    },
  };
}
