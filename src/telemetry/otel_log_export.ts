import type { MeterProvider } from "@opentelemetry/sdk-metrics";
import type { CountedSignal, InstallContext } from "./otel_install.ts";
import { createOtlpLogs, type OtlpLogs } from "./otlp_logs.ts";
import type { ShutdownStep } from "./otel_shutdown.ts";
import type { ExportOutcomes } from "./resilient_export.ts";

/** The OTLP log pipeline, when a logs endpoint is configured. */
export function installLogs(
  context: InstallContext,
  outcomes: (signal: CountedSignal) => ExportOutcomes,
  selfObsMeterProvider?: MeterProvider,
): OtlpLogs | undefined {
  const { settings, resource, version } = context;
  if (settings.logs === undefined) return undefined;
  return createOtlpLogs({
    target: settings.logs,
    queue: settings.logQueue,
    resource,
    outcomes: outcomes("logs"),
    ...(version === undefined ? {} : { version }),
    ...(selfObsMeterProvider === undefined ? {} : { selfObsMeterProvider }),
  });
}

/** The step that exports the last log records, when there is a log pipeline. */
export function logsShutdownSteps(logs: OtlpLogs | undefined): ShutdownStep[] {
  return logs === undefined ? [] : [["exporting the last log records", () => logs.shutdown()]];
}
