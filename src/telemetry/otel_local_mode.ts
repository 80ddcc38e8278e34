import { metrics, ProxyTracerProvider, trace, type Tracer } from "@opentelemetry/api";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import {
  type CountedSignal,
  type InstallContext,
  type Installed,
  outcomesFor,
} from "./otel_install.ts";
import { installLogs, logsShutdownSteps } from "./otel_log_export.ts";
import { METER_NAME } from "./otel_telemetry.ts";
import { TRACER_NAME } from "./otel_tracing.ts";

/**
 * Deno-native mode (the runtime's providers record and export) and disabled mode (nothing is
 * exported): Pharos installs nothing global, and a local pull-only MeterProvider serves
 * `/metrics`.
 */
export function installLocal(mode: "deno" | "disabled", install: InstallContext): Installed {
  const { resource, version } = install;
  // Pull-only: read by /metrics, never exported.
  const local = new MeterProvider({ resource, readers: [install.pullReader] });
  const meters = [local.getMeter(METER_NAME, version)];
  let tracer: Tracer;
  if (mode === "deno") {
    meters.unshift(metrics.getMeterProvider().getMeter(METER_NAME, version));
    tracer = trace.getTracerProvider().getTracer(TRACER_NAME, version);
  } else {
    // A provider with no delegate hands out no-op tracers; the global one is left alone.
    tracer = new ProxyTracerProvider().getTracer(TRACER_NAME, version);
  }
  // Deno-native mode: the runtime exports spans and metrics but has no logs API for these
  // records, so Pharos exports them (and counts their failures) itself.
  const onExportFailure = { count: (_signal: CountedSignal) => {} };
  const logs = mode === "deno"
    ? installLogs(install, outcomesFor(install, onExportFailure))
    : undefined;
  return {
    meters,
    tracer,
    exportSignals: logs === undefined ? [] : ["logs"],
    onExportFailure,
    onLogRecord: logs?.emit,
    shutdownSteps: [
      ["shutting down the /metrics reader", () => local.shutdown()],
      ...logsShutdownSteps(logs),
    ],
  };
}
