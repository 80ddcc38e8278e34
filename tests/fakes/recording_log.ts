import { configure, getLogger, type LogLevel, type LogRecord, reset } from "@logtape/logtape";
import type { Logger } from "../../src/log/mod.ts";

/** Log records captured under one category, and a logger writing to it. */
export interface RecordingLog extends AsyncDisposable {
  readonly log: Logger;
  readonly records: LogRecord[];
  /** Records at `level` (`"warning"` for `log.warn`). */
  at(level: LogRecord["level"]): LogRecord[];
  /** Every record rendered as text (message with its properties, then the properties as JSON). */
  text(): string;
}

/**
 * Configures LogTape to record everything logged under `category` from `lowestLevel` up
 * (default debug); dispose to reset LogTape. LogTape's configuration is global: use one per
 * test at a time.
 */
export async function recordLogs(
  category: readonly string[],
  lowestLevel: LogLevel = "debug",
): Promise<RecordingLog> {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { memory: (record: LogRecord) => void records.push(record) },
    loggers: [
      { category: [...category], lowestLevel, sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  return {
    log: getLogger([...category]),
    records,
    at: (level) => records.filter((record) => record.level === level),
    text: () =>
      records.map((record) =>
        `${record.message.map(String).join("")} ${
          JSON.stringify(record.properties, (_key, value) =>
            typeof value === "bigint" ? String(value) : value)
        }`
      ).join("\n"),
    [Symbol.asyncDispose]: () => reset(),
  };
}
