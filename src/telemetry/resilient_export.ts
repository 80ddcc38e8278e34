import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import {
  type AggregationOption,
  AggregationTemporality,
  AggregationType,
  type InstrumentType,
  type PushMetricExporter,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import type { LogRecordExporter, ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { getLogger, type Logger } from "../log/mod.ts";
import type { Clock } from "../util/mod.ts";

/** The OTLP signals Pharos exports (`signal` label of `telemetry_export_failures_total`). */
export const EXPORT_SIGNALS = ["traces", "metrics", "logs"] as const;

/** One of {@link EXPORT_SIGNALS}. */
export type ExportSignal = typeof EXPORT_SIGNALS[number];

/** Minimum time between two warnings about failing exports of one signal. */
export const EXPORT_WARN_INTERVAL_MS = 30_000;

/** Told about every export outcome of one signal. */
export interface ExportOutcomes {
  failed(error: unknown): void;
  succeeded(): void;
  /**
   * Starts one export of `items` items (spans, metric data points or log records). The
   * function returned, called once with the result, reports it as `succeeded`/`failed` do
   * and, with debug on, logs the batch: signal, items, outcome, duration.
   */
  begin(items: number): (result: ExportResult) => void;
  /**
   * True while the batch line of `begin` is being logged. The log exporter does not export
   * the records made then: each export would log a record to export, for ever.
   */
  readonly loggingBatch: boolean;
}

/** Options of {@link createExportOutcomes}. */
export interface ExportOutcomesOptions {
  readonly signal: ExportSignal;
  readonly clock: Clock;
  /** Counts one failure (`telemetry_export_failures_total{signal}`). */
  readonly count: () => void;
  /** Default: LogTape category `["pharos", "telemetry"]`, looked up when logging. */
  readonly log?: Logger;
  /** Default {@link EXPORT_WARN_INTERVAL_MS}. */
  readonly warnIntervalMs?: number;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return error === undefined ? "unknown error" : String(error);
}

/**
 * Counts export failures and logs them without flooding: the first failure is logged at once,
 * later ones at most once per `warnIntervalMs` with the number of failures since the last line.
 * When an export succeeds after a logged failure, one INFO line says export resumed. At debug,
 * every export started with `begin` is one line (the level is read once per export).
 */
export function createExportOutcomes(options: ExportOutcomesOptions): ExportOutcomes {
  const { signal, clock } = options;
  const interval = options.warnIntervalMs ?? EXPORT_WARN_INTERVAL_MS;
  const log = () => options.log ?? getLogger(["pharos", "telemetry"]);
  let total = 0;
  let unreported = 0;
  let lastWarnAt = Number.NEGATIVE_INFINITY;
  let warned = false;
  let loggingBatch = false;
  const outcomes: ExportOutcomes = {
    get loggingBatch() {
      return loggingBatch;
    },
    begin(items) {
      const logger = log();
      const debug = logger.isEnabledFor("debug");
      const startedAt = debug ? clock.monotonic() : 0;
      return (result) => {
        const succeeded = result.code === ExportResultCode.SUCCESS;
        if (debug) {
          loggingBatch = true;
          try {
            logger.debug(
              "OpenTelemetry {signal} export of {items} items {outcome} in {duration_ms} ms",
              {
                signal,
                items,
                outcome: succeeded ? "succeeded" : "failed",
                duration_ms: Math.round((clock.monotonic() - startedAt) * 1000) / 1000,
                ...(succeeded ? {} : { error: describe(result.error) }),
              },
            );
          } finally {
            loggingBatch = false;
          }
        }
        if (succeeded) outcomes.succeeded();
        else outcomes.failed(result.error);
      };
    },
    failed(error) {
      total++;
      unreported++;
      options.count();
      const now = clock.monotonic();
      if (now - lastWarnAt < interval) return;
      lastWarnAt = now;
      warned = true;
      log().warn(
        "OpenTelemetry {signal} export failed {count} time(s) since the last report: {error}",
        { signal, count: unreported, total, error: describe(error) },
      );
      unreported = 0;
    },
    succeeded() {
      if (!warned) return;
      warned = false;
      log().info("OpenTelemetry {signal} export resumed", {
        signal,
        total_failures: total,
        unreported_failures: unreported,
      });
      unreported = 0;
    },
  };
  return outcomes;
}

/** Calls `callback` at most once, whatever the wrapped exporter does. */
function once(callback: (result: ExportResult) => void): (result: ExportResult) => void {
  let called = false;
  return (result) => {
    if (called) return;
    called = true;
    callback(result);
  };
}

/**
 * One export of `items` items through `outcomes`: the result is reported once, and an
 * exporter that throws instead of calling back gives a FAILED result. Shared by the span,
 * metric and log record exporters below.
 */
function reportedExport(
  outcomes: ExportOutcomes,
  items: number,
  resultCallback: (result: ExportResult) => void,
  run: (done: (result: ExportResult) => void) => void,
): void {
  const reported = outcomes.begin(items);
  const done = once((result) => {
    reported(result);
    resultCallback(result);
  });
  try {
    run(done);
  } catch (error) {
    done({ code: ExportResultCode.FAILED, error: error as Error });
  }
}

/** Runs `work`, swallowing its failure. */
export async function settle(work: (() => Promise<void>) | undefined): Promise<void> {
  try {
    await work?.();
  } catch {
    // Flushing or shutting down an exporter whose collector is gone fails by design; the
    // failures were counted when the exports failed.
  }
}

/**
 * A span exporter that reports every outcome, turns a throwing `export` into a FAILED result,
 * and never rejects from `forceFlush`/`shutdown`. Exports stay asynchronous: the OTLP
 * exporter's own timeout bounds a slow collector, the BatchSpanProcessor's queue bounds memory.
 */
export class ResilientSpanExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #outcomes: ExportOutcomes;

  constructor(inner: SpanExporter, outcomes: ExportOutcomes) {
    this.#inner = inner;
    this.#outcomes = outcomes;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    reportedExport(this.#outcomes, spans.length, resultCallback, (done) => {
      this.#inner.export(spans, done);
    });
  }

  forceFlush(): Promise<void> {
    return settle(this.#inner.forceFlush?.bind(this.#inner));
  }

  shutdown(): Promise<void> {
    return settle(() => this.#inner.shutdown());
  }
}

/** How many data points one metrics export carries (its items). */
function dataPointsOf(metrics: ResourceMetrics): number {
  let points = 0;
  for (const scope of metrics.scopeMetrics) {
    for (const metric of scope.metrics) points += metric.dataPoints.length;
  }
  return points;
}

/** The metric counterpart of {@link ResilientSpanExporter}; temporality and aggregation pass through. */
export class ResilientMetricExporter implements PushMetricExporter {
  readonly #inner: PushMetricExporter;
  readonly #outcomes: ExportOutcomes;

  constructor(inner: PushMetricExporter, outcomes: ExportOutcomes) {
    this.#inner = inner;
    this.#outcomes = outcomes;
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    reportedExport(this.#outcomes, dataPointsOf(metrics), resultCallback, (done) => {
      this.#inner.export(metrics, done);
    });
  }

  selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    // Cumulative is the SDK default and what the Collector's Prometheus exporter expects.
    return this.#inner.selectAggregationTemporality?.(instrumentType) ??
      AggregationTemporality.CUMULATIVE;
  }

  selectAggregation(instrumentType: InstrumentType): AggregationOption {
    return this.#inner.selectAggregation?.(instrumentType) ??
      { type: AggregationType.DEFAULT };
  }

  forceFlush(): Promise<void> {
    return settle(() => this.#inner.forceFlush());
  }

  shutdown(): Promise<void> {
    return settle(() => this.#inner.shutdown());
  }
}

/** The log record counterpart of {@link ResilientSpanExporter}. */
export class ResilientLogRecordExporter implements LogRecordExporter {
  readonly #inner: LogRecordExporter;
  readonly #outcomes: ExportOutcomes;

  constructor(inner: LogRecordExporter, outcomes: ExportOutcomes) {
    this.#inner = inner;
    this.#outcomes = outcomes;
  }

  export(logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    reportedExport(this.#outcomes, logs.length, resultCallback, (done) => {
      this.#inner.export(logs, done);
    });
  }

  forceFlush(): Promise<void> {
    return settle(() => this.#inner.forceFlush());
  }

  shutdown(): Promise<void> {
    return settle(() => this.#inner.shutdown());
  }
}
