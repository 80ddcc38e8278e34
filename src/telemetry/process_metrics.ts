import type { Meter } from "@opentelemetry/api";
import process from "node:process";
import { METRIC_DEFINITIONS } from "./metric_definitions.ts";
import { observable } from "./metric_instruments.ts";

/** Where process readings come from; injectable for tests. */
export interface ProcessReadings {
  /** Resident set size and V8 heap in use, in bytes. */
  memory(): { readonly rss: number; readonly heapUsed: number };
  /** User plus system CPU time in seconds, or undefined where the runtime cannot tell. */
  cpuSeconds(): number | undefined;
  /** Process start, Unix seconds. */
  startTimeSeconds(): number;
}

/**
 * Readings from the running Deno process. CPU time comes from `process.cpuUsage()` (getrusage,
 * no permission needed); `/proc/self/stat` is not used because Deno treats `/proc/self` as a
 * privileged path that needs `--allow-all`. The start time is `performance.timeOrigin`.
 */
export const denoProcessReadings: ProcessReadings = Object.freeze({
  memory: () => {
    const { rss, heapUsed } = Deno.memoryUsage();
    return { rss, heapUsed };
  },
  cpuSeconds: () => {
    try {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    } catch {
      return undefined; // not available on this platform: the counter reports nothing
    }
  },
  startTimeSeconds: () => performance.timeOrigin / 1000,
});

/**
 * Registers the process gauges (`process_resident_memory_bytes`, `process_heap_used_bytes`,
 * `process_start_time_seconds`) and counter (`process_cpu_seconds_total`) on `meters`; all are
 * read when metrics are collected.
 */
export function registerProcessMetrics(
  meters: readonly Meter[],
  readings: ProcessReadings = denoProcessReadings,
): void {
  const m = METRIC_DEFINITIONS;
  observable(meters, m.processResidentMemory, (result) => result.observe(readings.memory().rss));
  observable(meters, m.processHeapUsed, (result) => result.observe(readings.memory().heapUsed));
  observable(meters, m.processCpu, (result) => {
    const seconds = readings.cpuSeconds();
    if (seconds !== undefined) result.observe(seconds);
  });
  const started = readings.startTimeSeconds();
  observable(meters, m.processStartTime, (result) => result.observe(started));
}
