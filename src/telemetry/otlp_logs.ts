import {
  type Attributes,
  type AttributeValue,
  type Context,
  type LogRecord as OtelLogRecord,
  type MeterProvider,
  ROOT_CONTEXT,
  SeverityNumber,
  trace,
  TraceFlags,
} from "@opentelemetry/api";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import type { Resource } from "@opentelemetry/resources";
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
} from "@opentelemetry/sdk-logs";
import { renderPlainMessage, safeStringify, type SpanRecord } from "../log/mod.ts";
import type { OtelSettings, OtlpTarget } from "./otel_env.ts";
import { type ExportOutcomes, ResilientLogRecordExporter, settle } from "./resilient_export.ts";

/** The instrumentation scope (logger name) of every Pharos log record sent over OTLP. */
export const LOGGER_NAME = "pharos";

/**
 * The attribute holding the record's target (LogTape category joined with `.`), as the
 * `target` field of a JSON log line.
 */
export const TARGET_ATTRIBUTE = "target";

/** LogTape levels as OTLP severities: number and the text Pharos's own lines use. */
const SEVERITIES: Readonly<Record<string, readonly [SeverityNumber, string]>> = Object.freeze({
  trace: [SeverityNumber.TRACE, "TRACE"],
  debug: [SeverityNumber.DEBUG, "DEBUG"],
  info: [SeverityNumber.INFO, "INFO"],
  warning: [SeverityNumber.WARN, "WARN"],
  error: [SeverityNumber.ERROR, "ERROR"],
  fatal: [SeverityNumber.FATAL, "FATAL"],
});

/**
 * One record property as an attribute value: strings, numbers and booleans as they are,
 * errors as `Name: message` (as in the log lines), bigints as decimal text, dates as ISO
 * text, and arrays or objects as JSON text (a collector's log store keeps flat values).
 * Undefined when there is nothing to send.
 */
function toAttributeValue(value: unknown): AttributeValue | undefined {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return undefined;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (value instanceof Date) return value.toISOString();
  return safeStringify(value);
}

/** The span context a record was made in, for the log record's trace and span ids. */
function toContext(record: SpanRecord): Context | undefined {
  if (record.span === undefined) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: record.span.traceId,
    spanId: record.span.spanId,
    // Only recorded spans are current when Pharos logs; their ids are worth following.
    traceFlags: TraceFlags.SAMPLED,
    isRemote: false,
  });
}

/**
 * A LogTape record (with its span) as an OpenTelemetry log record: severity number and
 * text, the rendered message as the body, the target and every structured property as
 * attributes (a property named `target` becomes `field.target`, as in JSON lines), the
 * record's time, and the span's trace and span ids. Copies everything it keeps.
 */
export function toOtelLogRecord(record: SpanRecord): OtelLogRecord {
  const [severityNumber, severityText] = SEVERITIES[record.level] ??
    [SeverityNumber.UNSPECIFIED, record.level.toUpperCase()];
  const attributes: Attributes = { [TARGET_ATTRIBUTE]: record.category.join(".") };
  let exception: Error | undefined;
  const properties = record.properties;
  for (const key in properties) {
    const raw = properties[key];
    const value = toAttributeValue(raw);
    if (value === undefined) continue;
    attributes[key === TARGET_ATTRIBUTE ? `field.${key}` : key] = value;
    if (exception === undefined && raw instanceof Error) exception = raw;
  }
  const body = renderPlainMessage(record);
  const context = toContext(record);
  return {
    timestamp: record.timestamp,
    severityNumber,
    severityText,
    body,
    attributes,
    ...(exception === undefined ? {} : { exception }),
    ...(context === undefined ? {} : { context }),
  };
}

/** Options of {@link createOtlpLogs}. */
export interface OtlpLogsOptions {
  /** Where records go (`…/v1/logs`), with headers, timeout and compression. */
  readonly target: OtlpTarget;
  /** The queue bounds and timings (`OTEL_BLRP_*`). */
  readonly queue: OtelSettings["logQueue"];
  /** The resource of every record (`service.name` and the rest). */
  readonly resource: Resource;
  /**
   * Told of every export outcome (`telemetry_export_failures_total{signal="logs"}`, and the
   * debug batch line, which is never exported itself: see `emit`).
   */
  readonly outcomes: ExportOutcomes;
  /** Scope version. Default none. */
  readonly version?: string;
  /** Where the processor's own metrics go (records dropped on a full queue). Default none. */
  readonly selfObsMeterProvider?: MeterProvider;
  /** Replaces the OTLP exporter (tests). */
  readonly exporter?: LogRecordExporter;
}

/** Log records on their way to a collector; see {@link createOtlpLogs}. */
export interface OtlpLogs {
  /**
   * Queues one record (the `also` hook of logging). Never throws; a no-op once shut down.
   * The debug line about a log export is not queued: it would make the next export, whose
   * line would make the next, for ever.
   */
  readonly emit: (record: SpanRecord) => void;
  /** Exports what is queued, then shuts the exporter down. Never rejects. */
  shutdown(): Promise<void>;
}

/**
 * Sends LogTape records to an OTLP/HTTP collector as OpenTelemetry log records, through a
 * BatchLogRecordProcessor: records wait in a bounded queue (`maxQueueSize`; beyond it new
 * ones are dropped) and leave in the background in batches, so a slow or absent collector
 * never blocks or fails the logging path. The provider is not registered globally.
 */
export function createOtlpLogs(options: OtlpLogsOptions): OtlpLogs {
  const { target, queue } = options;
  const exporter = new ResilientLogRecordExporter(
    options.exporter ?? new OTLPLogExporter({
      url: target.url,
      headers: { ...target.headers },
      timeoutMillis: target.timeoutMs,
      // The enum lives in otlp-exporter-base, which the import map does not name.
      compression: (target.gzip ? "gzip" : "none") as unknown as NonNullable<
        NonNullable<ConstructorParameters<typeof OTLPLogExporter>[0]>["compression"]
      >,
    }),
    options.outcomes,
  );
  const provider = new LoggerProvider({
    resource: options.resource,
    processors: [
      new BatchLogRecordProcessor({
        exporter,
        maxQueueSize: queue.maxQueueSize,
        maxExportBatchSize: queue.maxExportBatchSize,
        scheduledDelayMillis: queue.scheduledDelayMs,
        exportTimeoutMillis: queue.exportTimeoutMs,
        ...(options.selfObsMeterProvider === undefined
          ? {}
          : { selfObsMeterProvider: options.selfObsMeterProvider }),
      }),
    ],
  });
  const logger = provider.getLogger(
    LOGGER_NAME,
    options.version,
  );
  let open = true;
  return {
    emit(record) {
      if (!open || options.outcomes.loggingBatch) return;
      try {
        logger.emit(toOtelLogRecord(record));
      } catch {
        // Logging must go on whatever a record holds; the line was already written.
      }
    },
    async shutdown() {
      if (!open) return;
      open = false;
      await settle(() => provider.shutdown());
    },
  };
}
