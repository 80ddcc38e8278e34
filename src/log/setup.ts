import {
  configure,
  configureSync,
  getLogger,
  type LogLevel,
  type LogRecord,
  reset,
  type Sink,
} from "@logtape/logtape";
import { describeIgnored, type FilterLevel, type LogFilter } from "./filter.ts";
import type { LogFormat } from "./format.ts";
import type { Clock } from "../util/mod.ts";
import { formatJsonRecord } from "./json_formatter.ts";
import { LineWriter } from "./_line_writer.ts";
import type { CurrentSpan, SpanRecord } from "./span_record.ts";
import { formatTextRecord } from "./text_formatter.ts";

/** Options for {@link configureLogging}. */
export interface LoggingOptions {
  readonly filter: LogFilter;
  readonly format: LogFormat;
  readonly clock: Clock;
  /** Where lines go; default standard output (never closed by Pharos). */
  readonly writable?: WritableStream<Uint8Array>;
  /** Lines buffered for the writer before the oldest are dropped; default 10 000. */
  readonly bufferRecords?: number;
  /** The current span, so records made inside one carry its name and ids. */
  readonly currentSpan?: CurrentSpan;
  /** Replaces the stream sink (tests): receives filtered records, unformatted. */
  readonly sink?: Sink;
  /** Told of every batch of dropped lines (for the `log_lines_dropped_total` metric). */
  readonly onDropped?: (count: number) => void;
  /**
   * Also receives every record the filter allows, with its span, after the output (the
   * OTLP log exporter's sink). It must not throw, and must copy what it keeps.
   */
  readonly also?: (record: SpanRecord) => void;
}

/** Configured logging; dispose to flush what is buffered and restore LogTape's defaults. */
export interface LoggingHandle extends AsyncDisposable {
  /** Lines dropped because the output could not keep up. */
  readonly droppedLines: number;
  /** The filter in force. */
  readonly filter: LogFilter;
  /**
   * Puts `filter` in force at once. LogTape is reconfigured for its targets, once per
   * change: records are never checked against the filter one by one, so a level that is off
   * still costs nothing (no record is built), whichever filter is in force.
   */
  setFilter(filter: LogFilter): void;
}

/** The sink LogTape calls, and how to finish its output (LogTape never disposes it). */
interface OutputSink {
  readonly sink: Sink;
  /** Writes what is still waiting, then lets the output go. */
  close(): Promise<void>;
}

/** How often dropped lines are reported (as one WARN line with the count). */
const DROP_REPORT_MS = 1000;
/** Longest a line waits to be written, ms. */
const FLUSH_MS = 50;
/** LogTape's mark for a sink that is done with a record when it returns. */
const IMMEDIATE_SINK = Symbol.for("LogTape.sinkSnapshotPolicy.immediate");

/** The record with the span current when it was made (formatting may come later). */
function withSpan(record: LogRecord, currentSpan: CurrentSpan | undefined): SpanRecord {
  const span = currentSpan?.();
  return span === undefined ? record : { ...record, span };
}

/**
 * Passes records, with their span, to a sink of the caller's (tests). LogTape has already
 * filtered them: see {@link toLoggerConfigs}.
 */
function filteredSink(
  output: Sink,
  currentSpan: CurrentSpan | undefined,
  also: LoggingOptions["also"],
): OutputSink {
  return {
    sink: (record: LogRecord) => {
      const spanned = withSpan(record, currentSpan);
      output(spanned);
      also?.(spanned);
    },
    close: async () => {
      await (output as Partial<AsyncDisposable>)[Symbol.asyncDispose]?.();
    },
  };
}

/**
 * Formats each allowed record when it is logged and hands the line to a {@link LineWriter}:
 * only the ~150-byte line waits for the output, never the record (see `_line_writer.ts`).
 */
function formattingSink(
  options: LoggingOptions,
  currentSpan: CurrentSpan | undefined,
  onDropped: (count: number) => void,
): OutputSink {
  const format = options.format === "json" ? formatJsonRecord : formatTextRecord;
  const writer = new LineWriter({
    writable: options.writable ?? Deno.stdout.writable,
    clock: options.clock,
    maxLines: Math.max(1, options.bufferRecords ?? 10_000),
    flushMs: FLUSH_MS,
    onDropped,
  });
  const { also } = options;
  const sink = (record: LogRecord) => {
    const spanned = withSpan(record, currentSpan);
    writer.write(format(spanned));
    also?.(spanned);
  };
  // The record is formatted before the sink returns, so LogTape need not snapshot its
  // properties first (a copy per record). LogTape marks its own synchronous sinks with
  // this registered symbol; were it ever renamed, records would only be copied again.
  Object.defineProperty(sink, IMMEDIATE_SINK, { value: true });
  return { sink, close: () => writer[Symbol.asyncDispose]() };
}

/** LogTape's level for a filter level; `off` is LogTape's `null` (nothing). */
function toLowestLevel(level: FilterLevel): LogLevel | null {
  return level === "off" ? null : level;
}

/**
 * The filter as LogTape logger configs, so LogTape itself knows every target's level:
 * `isEnabledFor("debug")` is false where debug is off, and a debug call there builds no
 * record. One config per directive target, plus `pharos` with the default level.
 *
 * LogTape checks a record against the `lowestLevel` of its own logger and of every
 * ancestor up to the first one with sinks, and by default also hands it to the ancestors'
 * sinks. Each config therefore has the sink itself and `parentSinks: "override"`: the
 * nearest configured ancestor of a category (its longest matching directive, or `pharos`)
 * alone decides, with that directive's level, which is the filter's "most specific wins"
 * exactly (setup_test.ts compares the two over many filters), so the sink filters nothing.
 */
export function toLoggerConfigs(
  filter: LogFilter,
  sink: string,
): {
  category: string[];
  lowestLevel: LogLevel | null;
  sinks: string[];
  parentSinks: "override";
}[] {
  const configs = new Map<string, readonly string[]>([["pharos", ["pharos"]]]);
  for (const directive of filter.directives) {
    configs.set(directive.target.join("."), directive.target);
  }
  const loggers = [...configs.values()].map((category) => {
    const lowestLevel = toLowestLevel(filter.levelFor(category));
    return {
      category: [...category],
      lowestLevel,
      sinks: lowestLevel === null ? [] : [sink],
      parentSinks: "override" as const,
    };
  });
  // LogTape's own warnings: at warning, or the default level when that is quieter.
  const metaLevel = filter.allows(["logtape", "meta"], "warning") ? "warning" : filter.defaultLevel;
  const meta = toLowestLevel(metaLevel);
  loggers.push({
    category: ["logtape", "meta"],
    lowestLevel: meta,
    sinks: meta === null ? [] : [sink],
    parentSinks: "override",
  });
  return loggers;
}

/**
 * Configures LogTape for the server process: the format, the `RUST_LOG`-style filter,
 * and a non-blocking writer. Records are formatted as they are logged and the lines
 * written in the background, in batches, from a bounded buffer, so a slow or blocked
 * stdout never stalls the event loop; when the buffer is full the oldest lines are
 * dropped and the count is reported once a second. Targets the filter ignored (none Pharos
 * logs under) are named in one WARN line. The handle's `setFilter` changes the filter while
 * the process runs. Only `main.ts` (or a test) calls this: as a library, Pharos leaves
 * logging configuration to the host application.
 */
export async function configureLogging(options: LoggingOptions): Promise<LoggingHandle> {
  const { filter, clock } = options;
  // The drop report is made by a timer that re-arms itself: whatever span was active when
  // logging was configured (start-up's) is not its context, so its line carries none.
  let reporting = false;
  const currentSpan = options.currentSpan;
  const spanOf: CurrentSpan | undefined = currentSpan === undefined
    ? undefined
    : () => reporting ? undefined : currentSpan();
  let dropped = 0;
  let unreported = 0;
  const output = options.sink === undefined
    ? formattingSink(options, spanOf, (count) => {
      dropped += count;
      unreported += count;
      options.onDropped?.(count);
    })
    : filteredSink(options.sink, spanOf, options.also);
  // The sink is no disposable of LogTape's: a filter change reconfigures LogTape (reset
  // included) without closing the output, and configureSync takes it without awaiting.
  const configFor = (filter: LogFilter) => ({
    reset: true,
    sinks: { main: output.sink },
    loggers: toLoggerConfigs(filter, "main"),
  });
  // The first configure may replace a configuration whose sinks must be disposed (awaited).
  await configure(configFor(filter));
  let inForce = filter;

  const dropLog = getLogger(["pharos", "log"]);
  if (filter.ignored.length > 0) {
    dropLog.warn("Ignored log filter targets Pharos does not log under: {ignored}", {
      ignored: describeIgnored(filter.ignored),
      filter: filter.spec,
    });
  }
  let timer: Disposable | undefined;
  const reportDrops = () => {
    if (unreported > 0) {
      const count = unreported;
      unreported = 0;
      reporting = true;
      try {
        dropLog.warn("Dropped {count} log lines: the log output could not keep up", {
          count,
          total: dropped,
        });
      } finally {
        reporting = false;
      }
    }
    timer = clock.setTimer(DROP_REPORT_MS, reportDrops);
  };
  timer = clock.setTimer(DROP_REPORT_MS, reportDrops);

  return {
    get droppedLines() {
      return dropped;
    },
    get filter() {
      return inForce;
    },
    setFilter(next) {
      configureSync(configFor(next));
      inForce = next;
    },
    async [Symbol.asyncDispose]() {
      timer?.[Symbol.dispose]();
      await reset();
      // Then the lines still waiting are written.
      await output.close();
    },
  };
}
