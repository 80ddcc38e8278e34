import type { HandlerHostReading } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";

/**
 * How often the handler hosts are asked for their memory and CPU time, ms: an answer is one
 * short JSON line each way, and 5 s is finer than any scrape interval worth alerting on.
 */
export const HOST_USAGE_INTERVAL_MS = 5000;

/** What the usage ledger needs of a host process (a `HostProcess` is one). */
export interface UsageReporter {
  readonly alive: boolean;
  /** `[rss, heapUsed]` as last reported. */
  readonly memory: readonly [number, number] | undefined;
  /** CPU seconds as last reported. */
  readonly cpuSeconds: number | undefined;
  /** Settles once the process has ended. */
  readonly exited: Promise<unknown>;
  requestUsage(): void;
}

/** Options for {@link HostUsage}. */
export interface HostUsageOptions {
  readonly clock: Clock;
  /** The heap cap the hosts are started with, bytes. */
  readonly heapLimitBytes: number;
  /** @default {5000} ({@link HOST_USAGE_INTERVAL_MS}) */
  readonly intervalMs?: number;
}

/**
 * The handler hosts' memory and CPU time, for `handler_host_*`. The server cannot read a
 * child's `/proc/<pid>` (Deno asks for `--allow-all` for it), so while sampling it asks every
 * live host every `intervalMs` on the injected clock, and the hosts answer for themselves.
 *
 * The CPU counter spans hosts: the watchdog replaces a host that overruns, and a counter
 * that restarted with each would read as a reset. Every host followed adds its latest
 * reported CPU time; one that ended keeps adding what it last reported (what it used after
 * that, at most one interval's worth, is not counted). So the sum only grows, one series,
 * whatever the replacements.
 */
export class HostUsage {
  readonly #clock: Clock;
  readonly #heapLimitBytes: number;
  readonly #intervalMs: number;
  readonly #live = new Set<UsageReporter>();
  #endedCpuSeconds = 0;
  #timer: Disposable | undefined;

  constructor(options: HostUsageOptions) {
    this.#clock = options.clock;
    this.#heapLimitBytes = options.heapLimitBytes;
    this.#intervalMs = options.intervalMs ?? HOST_USAGE_INTERVAL_MS;
  }

  /** True while asking (between `start` and `stop`). */
  get sampling(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Follows `host` from now on: asked with the others (and at once, while sampling: a host
   * still loading its stack answers once loaded), its CPU time counted past its end.
   */
  track(host: UsageReporter): void {
    if (this.#live.has(host)) return;
    this.#live.add(host);
    if (this.sampling) host.requestUsage();
    const end = () => {
      if (!this.#live.delete(host)) return;
      this.#endedCpuSeconds += host.cpuSeconds ?? 0;
    };
    host.exited.then(end, end);
  }

  /** Starts asking: once now, then every interval. A second start does nothing. */
  start(): void {
    if (this.#timer !== undefined) return;
    const tick = () => {
      this.#timer = this.#clock.setTimer(this.#intervalMs, tick);
      for (const host of this.#live) if (host.alive) host.requestUsage();
    };
    tick();
  }

  /** Stops asking; no timer is left behind. */
  stop(): void {
    this.#timer?.[Symbol.dispose]();
    this.#timer = undefined;
  }

  /** The reading: memory of `active` (the host running the batches), CPU time of all. */
  reading(active: UsageReporter | undefined): HandlerHostReading {
    let cpuSeconds = this.#endedCpuSeconds;
    for (const host of this.#live) cpuSeconds += host.cpuSeconds ?? 0;
    const memory = active?.memory;
    return {
      residentBytes: memory?.[0],
      heapUsedBytes: memory?.[1],
      heapLimitBytes: this.#heapLimitBytes,
      cpuSeconds,
    };
  }
}
