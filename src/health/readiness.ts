import { PIPELINE_DEFAULTS } from "../config/mod.ts";
import type { Clock } from "../util/mod.ts";

/** Upstream stream status, as the seed's `StreamStatus`. */
export type StreamStatus =
  | { readonly kind: "Connected" }
  | { readonly kind: "Disconnected" }
  | { readonly kind: "Reconnecting" }
  | { readonly kind: "Error"; readonly message: string };

/** Tracks one upstream stream: its status and how recently it delivered. */
export interface HealthMonitor {
  status(): StreamStatus;
  /**
   * Healthy: `Connected` with an event (or the connection itself) within 2 × heartbeat,
   * or actively `Reconnecting`: for up to 2 × heartbeat since reconnecting began, so a
   * brief blip does not flap readiness but a dead upstream does turn it off.
   * Unhealthy: `Disconnected`, `Error`, connected and stale, or reconnecting for longer.
   */
  isHealthy(): boolean;
  /** `count` events arrived now (default 1). */
  recordEvent(count?: number): void;
  recordConnection(): void;
  recordDisconnection(): void;
  recordReconnecting(): void;
  recordError(message: string): void;
  /** Milliseconds since the last event, or undefined before the first. */
  lastEventAgeMs(): number | undefined;
  /** Errors recorded so far. */
  readonly errorCount: number;
  /** Events recorded so far. */
  readonly eventCount: number;
  /**
   * Looks for staleness now: the first check of a stale episode calls `onStale`; an
   * event or a status change ends the episode. Runs on its own after `start()`.
   */
  check(): void;
  /** Checks staleness every heartbeat until disposed. */
  start(): Disposable;
}

/** Options for {@link createHealthMonitor}. */
export interface HealthMonitorOptions {
  readonly clock: Clock;
  /**
   * Expected event heartbeat, ms; the stream is stale after 2 × this. Default: the
   * pipeline's (`heartbeatMs` in {@link PIPELINE_DEFAULTS}).
   */
  readonly heartbeatMs?: number;
  /** Told once per stale episode, with the age of the last event (or connection). */
  readonly onStale?: (silentMs: number) => void;
  /**
   * Told when the status changes kind, or when a check finds healthiness changed
   * without one (stale, or reconnecting for too long), with the health after it.
   */
  readonly onTransition?: (transition: HealthTransition) => void;
}

/** A change of a stream's status or healthiness. */
export interface HealthTransition {
  readonly from: StreamStatus["kind"];
  readonly to: StreamStatus["kind"];
  readonly healthy: boolean;
}

/** Creates a health monitor; it starts `Disconnected`. */
export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const { clock } = options;
  const heartbeatMs = options.heartbeatMs ?? PIPELINE_DEFAULTS.heartbeatMs;
  const staleAfterMs = 2 * heartbeatMs;
  let status: StreamStatus = { kind: "Disconnected" };
  let lastEvent: number | undefined;
  let connectedAt = clock.monotonic();
  let reconnectingSince = clock.monotonic();
  let errors = 0;
  let events = 0;
  let staleReported = false;

  const silentMs = () => clock.monotonic() - Math.max(lastEvent ?? -Infinity, connectedAt);
  const isStale = () => status.kind === "Connected" && silentMs() > staleAfterMs;
  let wasHealthy = false;
  const setStatus = (next: StreamStatus) => {
    const from = status.kind;
    status = next;
    staleReported = false;
    if (options.onTransition !== undefined) transitioned(from);
  };
  /** Tells of a change of kind (from `from`) or of healthiness since the last one told. */
  const transitioned = (from: StreamStatus["kind"]) => {
    const healthy = monitor.isHealthy();
    if (from === status.kind && healthy === wasHealthy) return;
    wasHealthy = healthy;
    options.onTransition?.({ from, to: status.kind, healthy });
  };

  const monitor: HealthMonitor = {
    status: () => status,
    isHealthy() {
      if (status.kind === "Reconnecting") {
        return clock.monotonic() - reconnectingSince <= staleAfterMs;
      }
      return status.kind === "Connected" && !isStale();
    },
    recordEvent(count = 1) {
      lastEvent = clock.monotonic();
      events += count;
      staleReported = false;
    },
    recordConnection() {
      connectedAt = clock.monotonic();
      setStatus({ kind: "Connected" });
    },
    recordDisconnection() {
      setStatus({ kind: "Disconnected" });
    },
    recordReconnecting() {
      // Repeated attempts continue one reconnecting episode; its start is what counts.
      if (status.kind !== "Reconnecting") reconnectingSince = clock.monotonic();
      setStatus({ kind: "Reconnecting" });
    },
    recordError(message) {
      errors++;
      setStatus({ kind: "Error", message });
    },
    lastEventAgeMs: () => lastEvent === undefined ? undefined : clock.monotonic() - lastEvent,
    get errorCount() {
      return errors;
    },
    get eventCount() {
      return events;
    },
    check() {
      if (options.onTransition !== undefined) transitioned(status.kind);
      if (!isStale() || staleReported) return;
      staleReported = true;
      options.onStale?.(silentMs());
    },
    start() {
      let timer: Disposable | undefined;
      const tick = () => {
        monitor.check();
        timer = clock.setTimer(heartbeatMs, tick);
      };
      timer = clock.setTimer(heartbeatMs, tick);
      return { [Symbol.dispose]: () => timer?.[Symbol.dispose]() };
    },
  };
  return monitor;
}
