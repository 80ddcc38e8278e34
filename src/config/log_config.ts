import { type LogFilter, type LogFormat, parseLogFilter } from "../log/mod.ts";

/** How the process logs (the `log` component's `configureLogging` options). */
export interface LogConfig {
  /**
   * `PHAROS_LOG` (or `RUST_LOG`): the `RUST_LOG`-style filter.
   * @default {parseLogFilter("info")}
   */
  readonly filter: LogFilter;
  /**
   * `PHAROS_LOG_FORMAT`: one text line per record, or JSON Lines.
   * @default {"text"}
   */
  readonly format: LogFormat;
}

/** Defaults of the `log` slice. */
export const LOG_DEFAULTS: LogConfig = Object.freeze({
  filter: parseLogFilter("info"),
  format: "text",
});
