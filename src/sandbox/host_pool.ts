import type { Logger } from "../log/mod.ts";
import type { HandlerHostReading, VmTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { describePermissions } from "../stack/mod.ts";
import type { HandlersStatus } from "../vm/mod.ts";
import { type HostCapture, HostCaptureError, type HostCaptures } from "./capture_channel.ts";
import { hostLaunch, type HostSpec } from "./host_command.ts";
import { describeExit, type HostExit, HostProcess } from "./host_process.ts";
import { HostUsage } from "./host_usage.ts";
import type { CaptureKind, ConsoleLine } from "./protocol.ts";

/** After a host fails to start, wait this long before the next try. */
const RESPAWN_BACKOFF_MS = 1000;

/** What `/status` shows of the handler hosts (under `handlers`). */
export interface HostStatus extends HandlersStatus {
  readonly isolation: "process";
  readonly pid: number | null;
  readonly uptimeMs: number | null;
  readonly restarts: number;
  /**
   * As the host last reported it: with a batch's answer at most once a second, and when
   * asked, every `usageIntervalMs`.
   */
  readonly memory: { readonly rssBytes: number; readonly heapUsedBytes: number } | null;
  readonly sparePid: number | null;
  /** See {@link HostPool.available}. */
  readonly available: boolean;
  readonly permissions: string;
}

/** Options for {@link HostPool}. */
export interface HostPoolOptions {
  readonly spec: HostSpec;
  readonly clock: Clock;
  /** `pharos.vm`: host life is logged here, guest console output under `handler`. */
  readonly log: Logger;
  readonly telemetry: VmTelemetry;
  /** See {@link HostProcessOptions.watchdogMs}. */
  readonly watchdogMs: number;
  /**
   * Runs `fn` outside any active span (`Tracing.detached`), so host life lines do not
   * carry the trace of whichever batch or start-up happened to spawn the host.
   */
  readonly detach?: <T>(fn: () => T) => T;
  /**
   * How often the hosts are asked for their memory and CPU time, ms.
   * @default {5000} (`HOST_USAGE_INTERVAL_MS`)
   */
  readonly usageIntervalMs?: number;
}

/** Logs guest console lines under `pharos.vm.handler`. */
export function logConsole(log: Logger, lines: readonly ConsoleLine[] | undefined): void {
  if (lines === undefined) return;
  const handlerLog = log.getChild("handler");
  for (const [level, text] of lines) {
    handlerLog[level]("{text}", { text });
  }
}

/**
 * The active handler host and a warm spare: when the active one dies or is killed, the
 * spare (already started, its stack loaded) takes over at once and a new spare starts.
 */
export class HostPool implements HostCaptures {
  readonly #options: HostPoolOptions;
  #active: HostProcess | undefined;
  #spare: Promise<HostProcess> | undefined;
  /** Hosts spawned and not yet ready (the spare, or one started for lack of a spare). */
  readonly #starting = new Set<HostProcess>();
  /** The spare, once it has loaded the stack (what `/status` calls the spare). */
  #spareReady: HostProcess | undefined;
  #restarts = 0;
  #closing = false;
  /** The last attempt to start a host failed (cleared by the next that succeeds). */
  #startFailed = false;
  /** The next attempt to start a spare after a failed one. */
  #retry: Disposable | undefined;
  readonly #usage: HostUsage;

  constructor(options: HostPoolOptions, first?: HostProcess) {
    this.#options = options;
    this.#usage = new HostUsage({
      clock: options.clock,
      heapLimitBytes: options.spec.memoryMb * 1024 * 1024,
      ...(options.usageIntervalMs === undefined ? {} : { intervalMs: options.usageIntervalMs }),
    });
    if (first !== undefined) {
      this.#track(first);
      options.log.debug("Handler host {pid} (the stack's probe) kept as the active host", {
        pid: first.pid,
      });
      this.#adopt(first);
    }
  }

  /** Restarts so far. */
  get restarts(): number {
    return this.#restarts;
  }

  /** The host to run the next batch on: the live active one, else the spare, promoted. */
  async acquire(): Promise<HostProcess> {
    while (!this.#closing) {
      const active = this.#active;
      if (active?.alive === true) return active;
      const promoted = this.#spare !== undefined;
      const spare = this.#spare ?? this.#spawnReady("active");
      this.#spare = undefined;
      this.#spareReady = undefined;
      try {
        const host = await spare;
        if (!host.alive) continue;
        if (this.#closing) {
          host.kill("crash");
          break;
        }
        if (promoted) {
          this.#options.log.debug("Handler host {pid} promoted from spare to active", {
            pid: host.pid,
          });
        }
        this.#startFailed = false;
        this.#adopt(host);
        this.#startSpare();
        return host;
      } catch (error) {
        this.#startFailed = true;
        this.#options.log.error("A handler host failed to start: {error}; retrying in {ms} ms", {
          error: (error as Error).message,
          ms: RESPAWN_BACKOFF_MS,
        });
        await new Promise<void>((resolve) =>
          this.#options.clock.setTimer(RESPAWN_BACKOFF_MS, resolve)
        );
      }
    }
    throw new Error("The handler hosts are shut down");
  }

  /**
   * False while no host can run a batch: the active one is gone and the last attempt to
   * start one failed (the stack module no longer loads, say). A host being replaced by
   * its spare is still available: that takes milliseconds.
   */
  available(): boolean {
    return this.current() !== undefined || !this.#startFailed;
  }

  /** The active host when it is alive, without waiting for one. */
  current(): HostProcess | undefined {
    return this.#active?.alive === true ? this.#active : undefined;
  }

  /**
   * Takes a capture of the active host (see `HostProcess.capture`); the spare is left
   * alone. Rejects with `HostCaptureError` `unavailable` while no host is active: after
   * one ended, until the next batch promotes the spare (promoting it here could race the
   * batch's own promotion).
   */
  capture(what: CaptureKind, seconds: number): Promise<HostCapture> {
    const host = this.current();
    if (host === undefined) {
      return Promise.reject(
        new HostCaptureError(
          "unavailable",
          "no handler host is active right now: the last one ended, and its spare takes " +
            "over with the next batch; try again then",
        ),
      );
    }
    return host.capture(what, seconds);
  }

  /** Starts the spare, unless one is starting or running. */
  startSpare(): void {
    this.#startSpare();
  }

  /**
   * Memory of the active host and CPU time of every host this pool started, as they last
   * reported them (`handler_host_*`).
   */
  usage(): HandlerHostReading {
    return this.#usage.reading(this.current());
  }

  status(): HostStatus {
    const active = this.#active?.alive === true ? this.#active : undefined;
    const memory = active?.memory;
    return {
      isolation: "process",
      pid: active?.pid ?? null,
      uptimeMs: active === undefined ? null : this.#options.clock.now() - active.startedAt,
      restarts: this.#restarts,
      memory: memory === undefined ? null : { rssBytes: memory[0], heapUsedBytes: memory[1] },
      sparePid: this.#spareReady?.alive === true ? this.#spareReady.pid : null,
      available: this.available(),
      permissions: describePermissions(this.#options.spec.permissions),
    };
  }

  /** Kills every host at once, without waiting (for the server's own exit). */
  killNow(): void {
    this.#closing = true;
    this.#retry?.[Symbol.dispose]();
    this.#usage.stop();
    for (const host of this.#hosts()) host.kill("crash");
  }

  /** Kills every host and waits for them to end. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#retry?.[Symbol.dispose]();
    this.#usage.stop();
    const hosts = this.#hosts();
    for (const host of hosts) host.kill("crash");
    await Promise.all(hosts.map((host) => host.exited));
  }

  /** Every host this pool has started and not seen end. */
  #hosts(): HostProcess[] {
    const hosts = new Set(this.#starting);
    if (this.#active !== undefined) hosts.add(this.#active);
    if (this.#spareReady !== undefined) hosts.add(this.#spareReady);
    return [...hosts];
  }

  #adopt(host: HostProcess): void {
    this.#active = host;
    const detach = this.#options.detach ?? ((fn) => fn());
    detach(() => void host.exited.then((exit) => this.#onActiveExit(host, exit)));
    // Sampling from the first active host on (a pool nobody asked for a host keeps no
    // timer); a host taking over is asked at once, so its memory shows without a wait.
    if (this.#usage.sampling) host.requestUsage();
    else this.#usage.start();
  }

  /** Follows a host's usage until it ends (outside any span, as it may live for hours). */
  #track(host: HostProcess): void {
    const detach = this.#options.detach ?? ((fn) => fn());
    detach(() => this.#usage.track(host));
  }

  #onActiveExit(host: HostProcess, exit: HostExit): void {
    if (this.#closing) return;
    this.#restarts++;
    this.#options.telemetry.hostRestarted(exit.reason);
    const { log } = this.#options;
    log.warn(
      "Handler host {pid} ended ({reason}, {exit}) after {uptimeMs} ms; the spare takes over",
      {
        pid: host.pid,
        reason: exit.reason,
        exit: describeExit(exit),
        uptimeMs: this.#options.clock.now() - host.startedAt,
      },
    );
    if (exit.stderr !== "" && exit.reason !== "timeout") {
      log.debug("Handler host {pid} stderr: {stderr}", { pid: host.pid, stderr: exit.stderr });
    }
    if (this.#active === host) this.#active = undefined;
  }

  #startSpare(): void {
    if (this.#spare !== undefined || this.#closing) return;
    const detach = this.#options.detach ?? ((fn) => fn());
    const spare = detach(() => this.#spawnReady("spare"));
    this.#spare = spare;
    spare.then((host) => {
      this.#startFailed = false;
      if (this.#closing) host.kill("crash");
      else if (this.#spare === spare) this.#spareReady = host;
    }, () => {
      // Dropped, and tried again after a pause (the module may come back), so that
      // readiness returns without waiting for a batch to ask for a host.
      this.#startFailed = true;
      if (this.#spare === spare) this.#spare = undefined;
      this.#retry ??= this.#options.clock.setTimer(RESPAWN_BACKOFF_MS, () => {
        this.#retry = undefined;
        this.#startSpare();
      });
    });
  }

  /** A new host, resolved once it has loaded the stack; `role` is for the log lines. */
  async #spawnReady(role: "active" | "spare"): Promise<HostProcess> {
    const { spec, clock, watchdogMs, log } = this.#options;
    const spawnedAt = clock.monotonic();
    const host = HostProcess.spawn({ launch: hostLaunch(spec), clock, watchdogMs });
    this.#starting.add(host);
    this.#track(host);
    log.debug("Handler host {pid} spawned ({role})", { pid: host.pid, role });
    try {
      const ready = await host.ready;
      logConsole(log, ready.log);
      log.debug("Handler host {pid} ready ({role}) in {ready_ms} ms", {
        pid: host.pid,
        role,
        ready_ms: Math.round(clock.monotonic() - spawnedAt),
      });
      return host;
    } catch (error) {
      host.kill("crash");
      await host.exited;
      throw error;
    } finally {
      this.#starting.delete(host);
    }
  }
}
