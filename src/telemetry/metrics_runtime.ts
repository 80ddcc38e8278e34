import type { Meter } from "@opentelemetry/api";
import type { HandlerHostReading, Observations, RuntimeTelemetry } from "./facade.ts";
import { METRIC_DEFINITIONS as m, type MetricDefinition } from "./metric_definitions.ts";
import { type AreaMetrics, observable, synchronous } from "./metric_instruments.ts";

/** The event loop's instruments, and the registration of the handler hosts' reading. */
export interface RuntimeMetrics extends Pick<AreaMetrics<RuntimeTelemetry>, "telemetry"> {
  readonly observeHandlerHosts: Observations["handlerHosts"];
}

/**
 * The event loop's instruments (`event_loop_delay_seconds`, `event_loop_utilization`), fed by
 * the loop monitor, and the handler hosts' gauges and CPU counter, read when metrics are
 * collected. The loop series appear with the monitor's first sample (20 ms after it starts
 * for the delay, 1 s for the utilization); the handler host series only once the app
 * registers a reading, i.e. only when handlers run in host processes.
 */
export function createRuntimeMetrics(meters: readonly Meter[]): RuntimeMetrics {
  const loopDelay = synchronous(meters, m.eventLoopDelay);
  let utilization: number | undefined;
  observable(meters, m.eventLoopUtilization, (result) => {
    if (utilization !== undefined) result.observe(utilization);
  });

  let readHosts: (() => HandlerHostReading) | undefined;
  const hostGauge = (
    definition: MetricDefinition,
    value: (reading: HandlerHostReading) => number | undefined,
  ) =>
    observable(meters, definition, (result) => {
      const reading = readHosts?.();
      const observed = reading === undefined ? undefined : value(reading);
      if (observed !== undefined) result.observe(observed);
    });
  hostGauge(m.handlerHostResidentMemory, (reading) => reading.residentBytes);
  hostGauge(m.handlerHostHeapUsed, (reading) => reading.heapUsedBytes);
  hostGauge(m.handlerHostHeapLimit, (reading) => reading.heapLimitBytes);
  hostGauge(m.handlerHostCpu, (reading) => reading.cpuSeconds);

  return {
    telemetry: {
      loopDelay: (seconds) => loopDelay(seconds),
      loopUtilization(ratio) {
        utilization = ratio;
      },
    },
    observeHandlerHosts(read) {
      readHosts = read;
    },
  };
}
