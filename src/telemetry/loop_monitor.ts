import process from "node:process";
import type { Clock } from "../util/mod.ts";
import type { RuntimeTelemetry } from "./facade.ts";

/**
 * The loop monitor's defaults. Measured on Deno 2.9.6, why neither Node API serves:
 * `monitorEventLoopDelay()` from `node:perf_hooks` exists but does not see a blocked loop
 * (five 100 ms busy loops gave a max of 2.1 ms), and `performance.eventLoopUtilization()`
 * returns `{ idle: 0, active: 0, utilization: 0 }` whatever the load. What does work:
 * timers (their lateness is the loop's delay) and `process.threadCpuUsage()`, the calling
 * thread's own CPU time (a worker spinning 500 ms left the main thread's at 0 while the
 * process's rose by 510 ms), in steps of 10 ms, for about 20 µs a call.
 */
export const LOOP_MONITOR_DEFAULTS = Object.freeze({
  /**
   * Period of the lateness timer, ms: 50 timers and histogram samples a second, a few µs
   * each. Coarser would miss short stalls; finer would mostly measure the timer itself.
   */
  resolutionMs: 20,
  /**
   * Span the utilization is computed over, ms: the main thread's CPU time advances in
   * 10 ms steps, so 5 s keeps the step within 0.2 % while still following load changes.
   */
  windowMs: 5000,
  /** How often the main thread's CPU time is read (and the utilization reported), ms. */
  cpuSampleMs: 1000,
});

/** Options of {@link createLoopMonitor}. */
export interface LoopMonitorOptions {
  readonly clock: Clock;
  readonly telemetry: RuntimeTelemetry;
  /** @default {20} */
  readonly resolutionMs?: number;
  /** @default {5000} */
  readonly windowMs?: number;
  /** @default {1000} */
  readonly cpuSampleMs?: number;
  /**
   * CPU seconds the main thread has used so far, or undefined where the runtime cannot tell
   * (no utilization is reported then). Default {@link mainThreadCpuSeconds}.
   */
  readonly threadCpuSeconds?: () => number | undefined;
}

/** Samples the event loop's delay and utilization while started. */
export interface LoopMonitor {
  /** Starts sampling (again, after a stop); a second start does nothing. */
  start(): void;
  /** Stops sampling: no timer is left behind. */
  stop(): void;
}

/** User plus system CPU seconds of the calling thread (`process.threadCpuUsage`). */
export function mainThreadCpuSeconds(): number | undefined {
  try {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1e6;
  } catch {
    return undefined; // not on this platform: no utilization, the delay still works
  }
}

/**
 * A monitor of the event loop Pharos runs on. Delay: a timer every `resolutionMs` on the
 * injected clock, each firing recording how late it came (`event_loop_delay_seconds`), which
 * is how long anything else ready to run waited too. Utilization: the main thread's CPU time
 * over the wall time of the last `windowMs` (`event_loop_utilization`), read every
 * `cpuSampleMs`. Unlike Node's own utilization, time blocked in a synchronous system call
 * counts as idle; Pharos makes none on its event path.
 */
export function createLoopMonitor(options: LoopMonitorOptions): LoopMonitor {
  const { clock, telemetry } = options;
  const resolutionMs = options.resolutionMs ?? LOOP_MONITOR_DEFAULTS.resolutionMs;
  const windowMs = options.windowMs ?? LOOP_MONITOR_DEFAULTS.windowMs;
  const cpuSampleMs = options.cpuSampleMs ?? LOOP_MONITOR_DEFAULTS.cpuSampleMs;
  const readCpu = options.threadCpuSeconds ?? mainThreadCpuSeconds;
  let timer: Disposable | undefined;
  let dueAt = 0;
  let nextCpuAt = 0;
  /** CPU readings, oldest first: the oldest is the newest one at least `windowMs` old. */
  const readings: { at: number; cpuSeconds: number }[] = [];

  function sampleCpu(now: number): void {
    nextCpuAt = now + cpuSampleMs;
    const cpuSeconds = readCpu();
    if (cpuSeconds === undefined) return;
    readings.push({ at: now, cpuSeconds });
    while (readings.length > 2 && now - readings[1]!.at >= windowMs) readings.shift();
    const oldest = readings[0]!;
    if (now <= oldest.at) return; // the first reading: no span to divide by yet
    const ratio = ((cpuSeconds - oldest.cpuSeconds) * 1000) / (now - oldest.at);
    telemetry.loopUtilization(Math.min(1, Math.max(0, ratio)));
  }

  function arm(): void {
    dueAt = clock.monotonic() + resolutionMs;
    timer = clock.setTimer(resolutionMs, tick);
  }

  function tick(): void {
    const now = clock.monotonic();
    telemetry.loopDelay(Math.max(0, now - dueAt) / 1000);
    if (now >= nextCpuAt) sampleCpu(now);
    arm();
  }

  return {
    start() {
      if (timer !== undefined) return;
      readings.length = 0;
      sampleCpu(clock.monotonic());
      arm();
    },
    stop() {
      timer?.[Symbol.dispose]();
      timer = undefined;
    },
  };
}
