import type { Meter, Tracer } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import type { IMetricReader } from "@opentelemetry/sdk-metrics";
import type { SpanRecord } from "../log/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { OtelSettings } from "./otel_env.ts";
import type { ShutdownStep } from "./otel_shutdown.ts";
import {
  createExportOutcomes,
  type ExportOutcomes,
  type ExportSignal,
} from "./resilient_export.ts";

/** A signal whose export failures are counted (`logs` included). */
export type CountedSignal = ExportSignal;

/** What each mode of `initWithOtel` installs from. */
export interface InstallContext {
  /** The settings derived from config and environment. */
  readonly settings: OtelSettings;
  readonly resource: Resource;
  /** The reader `/metrics` renders; every mode registers it on a MeterProvider. */
  readonly pullReader: IMetricReader;
  readonly clock: Clock;
  /** Minimum time between export-failure warnings per signal; undefined for the default. */
  readonly exportWarnIntervalMs: number | undefined;
  /** `service.version`, as the meter's and tracer's scope version. */
  readonly version: string | undefined;
}

/** What a mode installed: where telemetry is recorded, and how to shut it down. */
export interface Installed {
  readonly meters: readonly Meter[];
  readonly tracer: Tracer;
  readonly exportSignals: readonly CountedSignal[];
  /** Wires the failure counter into the exporters once the facades exist. */
  readonly onExportFailure: { count: (signal: CountedSignal) => void };
  /** Receives every record the log filter allows, when log records are exported. */
  readonly onLogRecord: ((record: SpanRecord) => void) | undefined;
  /** Flushes and shuts down, in order; each step may be abandoned at the deadline. */
  readonly shutdownSteps: readonly ShutdownStep[];
}

/** Export outcomes of one signal, counted through `counter` once the facades exist. */
export function outcomesFor(
  context: InstallContext,
  counter: { count: (signal: CountedSignal) => void },
): (signal: CountedSignal) => ExportOutcomes {
  return (signal) =>
    createExportOutcomes({
      signal,
      clock: context.clock,
      count: () => counter.count(signal),
      ...(context.exportWarnIntervalMs === undefined
        ? {}
        : { warnIntervalMs: context.exportWarnIntervalMs }),
    });
}
