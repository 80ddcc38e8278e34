import {
  configure,
  getLogger,
  type LogLevel,
  type LogRecord,
  reset,
  type Sink,
} from "@logtape/logtape";
import type { LogFilter, LogFormat } from "../config/mod.ts";
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
}

/** Configured logging; dispose to flush what is buffered and restore LogTape's defaults. */
export interface LoggingHandle extends AsyncDisposable {
  /** Lines dropped because the output could not keep up. */
  readonly droppedLines: number;
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

/** Passes filtered records, with their span, to a sink of the caller's (tests). */
function filteredSink(
  output: Sink,
  filter: LogFilter,
  currentSpan: CurrentSpan | undefined,
): Sink & AsyncDisposable {
  return Object.assign(
    (record: LogRecord) => {
      if (filter.allows(record.category, record.level)) output(withSpan(record, currentSpan));
    },
    {
      // LogTape's reset() disposes configured sinks: pass that on.
      [Symbol.asyncDispose]: async () => {
        await (output as Partial<AsyncDisposable>)[Symbol.asyncDispose]?.();
      },
    },
  );
}

/**
 * Formats each allowed record when it is logged and hands the line to a {@link LineWriter}:
 * only the ~150-byte line waits for the output, never the record (see `_line_writer.ts`).
 */
function formattingSink(
  options: LoggingOptions,
  currentSpan: CurrentSpan | undefined,
  onDropped: (count: number) => void,
): Sink & AsyncDisposable {
  const format = options.format === "json" ? formatJsonRecord : formatTextRecord;
  const writer = new LineWriter({
    writable: options.writable ?? Deno.stdout.writable,
    clock: options.clock,
    maxLines: Math.max(1, options.bufferRecords ?? 10_000),
    flushMs: FLUSH_MS,
    onDropped,
  });
  const { filter } = options;
  const sink = Object.assign(
    (record: LogRecord) => {
      if (filter.allows(record.category, record.level)) {
        writer.write(format(withSpan(record, currentSpan)));
      }
    },
    // LogTape's reset() disposes configured sinks: that writes what is still waiting.
    { [Symbol.asyncDispose]: () => writer[Symbol.asyncDispose]() },
  );
  // The record is formatted before the sink returns, so LogTape need not snapshot its
  // properties first (a copy per record). LogTape marks its own synchronous sinks with
  // this registered symbol; were it ever renamed, records would only be copied again.
  Object.defineProperty(sink, IMMEDIATE_SINK, { value: true });
  return sink;
}

/**
 * Configures LogTape for the server process: the format, the `RUST_LOG`-style filter,
 * and a non-blocking writer. Records are formatted as they are logged and the lines
 * written in the background, in batches, from a bounded buffer, so a slow or blocked
 * stdout never stalls the event loop; when the buffer is full the oldest lines are
 * dropped and the count is reported once a second. Only `main.ts` (or a test) calls this: as a library, Pharos leaves logging
 * configuration to the host application.
 */
export async function configureLogging(options: LoggingOptions): Promise<LoggingHandle> {
  const { filter, clock, currentSpan } = options;
  let dropped = 0;
  let unreported = 0;
  const sink = options.sink === undefined
    ? formattingSink(options, currentSpan, (count) => {
      dropped += count;
      unreported += count;
      options.onDropped?.(count);
    })
    : filteredSink(options.sink, filter, currentSpan);
  const lowestLevel: LogLevel | null = filter.lowestLevel === "off" ? null : filter.lowestLevel;
  await configure({
    reset: true,
    sinks: { main: sink },
    loggers: [
      { category: ["pharos"], lowestLevel, sinks: lowestLevel === null ? [] : ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });

  const dropLog = getLogger(["pharos", "log"]);
  let timer: Disposable | undefined;
  const reportDrops = () => {
    if (unreported > 0) {
      const count = unreported;
      unreported = 0;
      dropLog.warn("Dropped {count} log lines: the log output could not keep up", {
        count,
        total: dropped,
      });
    }
    timer = clock.setTimer(DROP_REPORT_MS, reportDrops);
  };
  timer = clock.setTimer(DROP_REPORT_MS, reportDrops);

  return {
    get droppedLines() {
      return dropped;
    },
    async [Symbol.asyncDispose]() {
      timer?.[Symbol.dispose]();
      // reset() disposes the sinks, which writes the lines still waiting first.
      await reset();
    },
  };
}
