import { LOG_DEFAULTS } from "../config/mod.ts";
import { type LogFilter, parseLogFilter } from "../log/mod.ts";
import {
  configureLogging,
  type CurrentSpan,
  type LoggingHandle,
  type SpanRecord,
} from "../log/mod.ts";
import { type Clock, systemClock } from "../util/mod.ts";

/**
 * How a process sets up Pharos's telemetry, as the seed's `TelemetryConfig`: built with
 * `new TelemetryConfig("pharos").withJsonLogs(true)`; each `with…` returns a new config.
 */
export class TelemetryConfig {
  /** `service.name` of every span and metric. */
  readonly serviceName: string;
  /** JSON Lines instead of text. Default from {@link LOG_DEFAULTS}.format. */
  readonly jsonLogs: boolean;
  /** `RUST_LOG`-style filter. Default {@link LOG_DEFAULTS}.filter. */
  readonly logFilter: LogFilter;
  /** OTLP endpoint for traces, metrics and log records (used by `initWithOtel`). */
  readonly otlpEndpoint: string | undefined;

  constructor(
    serviceName: string,
    fields: Partial<Pick<TelemetryConfig, "jsonLogs" | "logFilter" | "otlpEndpoint">> = {},
  ) {
    if (serviceName.trim() === "") throw new TypeError("TelemetryConfig needs a service name");
    this.serviceName = serviceName;
    this.jsonLogs = fields.jsonLogs ?? (LOG_DEFAULTS.format === "json");
    this.logFilter = fields.logFilter ?? LOG_DEFAULTS.filter;
    this.otlpEndpoint = fields.otlpEndpoint;
  }

  #with(fields: Partial<Pick<TelemetryConfig, "jsonLogs" | "logFilter" | "otlpEndpoint">>) {
    return new TelemetryConfig(this.serviceName, {
      jsonLogs: this.jsonLogs,
      logFilter: this.logFilter,
      ...(this.otlpEndpoint === undefined ? {} : { otlpEndpoint: this.otlpEndpoint }),
      ...fields,
    });
  }

  /** Switches between JSON Lines (true) and text (false) logs. */
  withJsonLogs(json: boolean): TelemetryConfig {
    return this.#with({ jsonLogs: json });
  }

  /** Sets the log filter (`info,pharos.ws=debug`); throws a SyntaxError when invalid. */
  withLogFilter(filter: string | LogFilter): TelemetryConfig {
    return this.#with({ logFilter: typeof filter === "string" ? parseLogFilter(filter) : filter });
  }

  /** Sets the OTLP endpoint (`http://collector:4318`). */
  withOtlpEndpoint(url: string): TelemetryConfig {
    return this.#with({ otlpEndpoint: url });
  }
}

/** Where {@link init} writes, for tests and embedding; defaults to stdout and the system clock. */
export interface InitOptions {
  readonly writable?: WritableStream<Uint8Array>;
  readonly clock?: Clock;
  /**
   * The current span, so records made inside one carry its name and ids. Default none;
   * `initWithOtel` passes its tracing's `activeSpan`.
   */
  readonly currentSpan?: CurrentSpan;
  /**
   * Also receives every record the filter allows, with its span; must not throw. Default
   * none; `initWithOtel` passes its OTLP log exporter when log records are exported.
   */
  readonly also?: (record: SpanRecord) => void;
}

/**
 * Sets up logging only (the seed's `init`): the format and filter of `config`, written
 * to stdout without blocking. Dispose the handle (`await using`) to flush on exit.
 */
export function init(config: TelemetryConfig, options: InitOptions = {}): Promise<LoggingHandle> {
  return configureLogging({
    filter: config.logFilter,
    format: config.jsonLogs ? "json" : "text",
    clock: options.clock ?? systemClock,
    ...(options.writable === undefined ? {} : { writable: options.writable }),
    ...(options.currentSpan === undefined ? {} : { currentSpan: options.currentSpan }),
    ...(options.also === undefined ? {} : { also: options.also }),
  });
}
