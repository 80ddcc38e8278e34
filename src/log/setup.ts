import { configure, getConsoleSink, type LogLevel, reset, type Sink } from "@logtape/logtape";
import type { LogLevelName } from "../config/mod.ts";
import { formatTextRecord } from "./text_formatter.ts";

/** Options for {@link configureLogging}. */
export interface LoggingOptions {
  /** Lowest level written for the `pharos` category; `off` writes nothing. */
  readonly level: LogLevelName;
  /** Where records go; defaults to a console sink writing text lines. */
  readonly sink?: Sink;
}

/**
 * Configures LogTape for the server process. Only `main.ts` (or a test) calls this:
 * as a library, Pharos leaves logging configuration to the host application.
 */
export async function configureLogging(options: LoggingOptions): Promise<AsyncDisposable> {
  const sink = options.sink ?? getConsoleSink({ formatter: formatTextRecord });
  const lowestLevel: LogLevel | null = options.level === "off" ? null : options.level;
  await configure({
    reset: true,
    sinks: { main: sink },
    loggers: [
      { category: ["pharos"], lowestLevel, sinks: lowestLevel === null ? [] : ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });
  return { [Symbol.asyncDispose]: () => reset() };
}
