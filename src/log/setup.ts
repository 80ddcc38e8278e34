import {
  configure,
  getLogger,
  getStreamSink,
  type LogLevel,
  reset,
  type Sink,
} from "@logtape/logtape";
import type { LogFilter, LogFormat } from "../config/mod.ts";
import type { Clock } from "../util/mod.ts";
import { formatJsonRecord } from "./json_formatter.ts";
import type { CurrentSpan } from "./span_record.ts";
import { formatTextRecord } from "./text_formatter.ts";

/** Options for {@link configureLogging}. */
export interface LoggingOptions {
  readonly filter: LogFilter;
  readonly format: LogFormat;
  readonly clock: Clock;
  /** Where lines go; default standard output (never closed by Pharos). */
  readonly writable?: WritableStream<Uint8Array>;
  /** Records buffered for the writer before the oldest are dropped; default 10 000. */
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

/**
 * Configures LogTape for the server process: the format, the `RUST_LOG`-style filter,
 * and a non-blocking writer. Records are formatted and written in the background from
 * a bounded buffer, so a slow or blocked stdout never stalls the event loop; when the
 * buffer is full the oldest records are dropped and the count is reported once a
 * second. Only `main.ts` (or a test) calls this: as a library, Pharos leaves logging
 * configuration to the host application.
 */
export async function configureLogging(options: LoggingOptions): Promise<LoggingHandle> {
  const { filter, clock, currentSpan } = options;
  let dropped = 0;
  let unreported = 0;
  const bufferRecords = options.bufferRecords ?? 10_000;
  const output = options.sink ?? getStreamSink(options.writable ?? Deno.stdout.writable, {
    formatter: options.format === "json" ? formatJsonRecord : formatTextRecord,
    closeStream: false,
    nonBlocking: {
      // LogTape keeps up to twice bufferSize records, then drops the oldest.
      bufferSize: Math.max(1, Math.ceil(bufferRecords / 2)),
      flushInterval: 50,
      onDrop: (event) => {
        dropped += event.count;
        unreported += event.count;
        options.onDropped?.(event.count);
      },
    },
  });
  const sink: Sink & AsyncDisposable = Object.assign(
    (record: Parameters<Sink>[0]) => {
      if (!filter.allows(record.category, record.level)) return;
      // Capture the span now: the record is formatted later, outside it.
      const span = currentSpan?.();
      output(span === undefined ? record : { ...record, span } as typeof record);
    },
    {
      // LogTape's reset() disposes configured sinks: pass that on so the writer flushes.
      [Symbol.asyncDispose]: async () => {
        await (output as Partial<AsyncDisposable>)[Symbol.asyncDispose]?.();
      },
    },
  );
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
      // reset() disposes the sinks, which flushes the non-blocking writer first.
      await reset();
    },
  };
}
