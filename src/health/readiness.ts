import type { Clock } from "../util/mod.ts";

/** Upstream stream status, as the seed's `StreamStatus`. */
export type StreamStatus =
  | { readonly kind: "Connected" }
  | { readonly kind: "Disconnected" }
  | { readonly kind: "Reconnecting" }
  | { readonly kind: "Error"; readonly message: string };

/** Tracks the upstream stream and answers readiness. */
export interface HealthMonitor {
  status(): StreamStatus;
  isHealthy(): boolean;
  recordEvent(): void;
  recordConnection(): void;
  recordDisconnection(): void;
  recordReconnecting(): void;
  recordError(message: string): void;
  /** Monotonic ms since the last event, or undefined before the first. */
  lastEventAgeMs(): number | undefined;
  /** Errors recorded so far. */
  readonly errorCount: number;
}

/** Options for {@link createHealthMonitor}. */
export interface HealthMonitorOptions {
  readonly clock: Clock;
  /** Expected event heartbeat; the stream is stale after 2 × this. Default 30 000 ms. */
  readonly heartbeatMs?: number;
}

/**
 * Creates a health monitor. Healthy: `Connected` with an event (or the connection
 * itself) within 2 × heartbeat, or actively `Reconnecting`; anything else is unhealthy.
 */
export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const { clock } = options;
  const staleAfterMs = 2 * (options.heartbeatMs ?? 30_000);
  let status: StreamStatus = { kind: "Disconnected" };
  let lastEvent: number | undefined;
  let connectedAt = clock.monotonic();
  let errors = 0;
  return {
    status: () => status,
    isHealthy() {
      if (status.kind === "Reconnecting") return true;
      if (status.kind !== "Connected") return false;
      const last = Math.max(lastEvent ?? -Infinity, connectedAt);
      return clock.monotonic() - last <= staleAfterMs;
    },
    recordEvent() {
      lastEvent = clock.monotonic();
    },
    recordConnection() {
      status = { kind: "Connected" };
      connectedAt = clock.monotonic();
    },
    recordDisconnection() {
      status = { kind: "Disconnected" };
    },
    recordReconnecting() {
      status = { kind: "Reconnecting" };
    },
    recordError(message) {
      errors++;
      status = { kind: "Error", message };
    },
    lastEventAgeMs: () => lastEvent === undefined ? undefined : clock.monotonic() - lastEvent,
    get errorCount() {
      return errors;
    },
  };
}
