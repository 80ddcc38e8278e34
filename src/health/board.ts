import type { Clock } from "../util/mod.ts";
import {
  createHealthMonitor,
  type HealthMonitor,
  type HealthTransition,
  type StreamStatus,
} from "./readiness.ts";

/** One source's line in the `/status` report. */
export interface SourceReport {
  readonly name: string;
  readonly kind: string;
  readonly required: boolean;
  readonly status: StreamStatus["kind"];
  readonly message?: string;
  readonly healthy: boolean;
  readonly last_event_age_ms: number | null;
  readonly events: number;
  readonly errors: number;
}

/** Health of every source, and readiness over the required ones. */
export interface HealthBoard {
  /** Registers a source and returns its monitor. */
  add(name: string, kind: string): HealthMonitor;
  /** The monitor of `name`. */
  get(name: string): HealthMonitor | undefined;
  /** True when every required source is healthy (and at least one source exists). */
  isHealthy(): boolean;
  /** The worst status among required sources: Error, Disconnected, Reconnecting, Connected. */
  status(): StreamStatus;
  /** Per-source detail for `/status`. */
  sources(): SourceReport[];
  /** Errors over all sources. */
  readonly errorCount: number;
  /** Milliseconds since the newest event of any source, or undefined before the first. */
  lastEventAgeMs(): number | undefined;
  /** Starts every monitor's staleness checks; dispose to stop them. */
  start(): Disposable;
}

/** Options for {@link createHealthBoard}. */
export interface HealthBoardOptions {
  readonly clock: Clock;
  /** Each source is stale after 2 × this, ms; default `PIPELINE_DEFAULTS.heartbeatMs`. */
  readonly heartbeatMs?: number;
  /** Sources that must be healthy for readiness; empty or omitted means all. */
  readonly required?: readonly string[];
  /** Told once per stale episode of a source. */
  readonly onStale?: (source: string, silentMs: number) => void;
  /** Told of every change of a source's status or healthiness (see `HealthMonitorOptions`). */
  readonly onTransition?: (source: string, transition: HealthTransition) => void;
}

const SEVERITY: Record<StreamStatus["kind"], number> = {
  Connected: 0,
  Reconnecting: 1,
  Disconnected: 2,
  Error: 3,
};

/** Creates the health board. */
export function createHealthBoard(options: HealthBoardOptions): HealthBoard {
  const entries = new Map<string, { kind: string; monitor: HealthMonitor }>();
  const required = new Set(options.required ?? []);
  const isRequired = (name: string) => required.size === 0 || required.has(name);
  const requiredMonitors = () =>
    [...entries].filter(([name]) => isRequired(name)).map(([, entry]) => entry.monitor);

  return {
    add(name, kind) {
      if (entries.has(name)) throw new TypeError(`A source named "${name}" is already registered`);
      const monitor = createHealthMonitor({
        clock: options.clock,
        ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
        onStale: (silentMs) => options.onStale?.(name, silentMs),
        ...(options.onTransition === undefined
          ? {}
          : { onTransition: (transition) => options.onTransition?.(name, transition) }),
      });
      entries.set(name, { kind, monitor });
      return monitor;
    },
    get: (name) => entries.get(name)?.monitor,
    isHealthy() {
      const monitors = requiredMonitors();
      return monitors.length > 0 && monitors.every((monitor) => monitor.isHealthy());
    },
    status() {
      let worst: StreamStatus = { kind: "Disconnected" };
      let first = true;
      for (const monitor of requiredMonitors()) {
        const status = monitor.status();
        if (first || SEVERITY[status.kind] > SEVERITY[worst.kind]) worst = status;
        first = false;
      }
      return worst;
    },
    sources() {
      return [...entries].map(([name, { kind, monitor }]) => {
        const status = monitor.status();
        const age = monitor.lastEventAgeMs();
        return {
          name,
          kind,
          required: isRequired(name),
          status: status.kind,
          ...(status.kind === "Error" ? { message: status.message } : {}),
          healthy: monitor.isHealthy(),
          last_event_age_ms: age === undefined ? null : Math.round(age),
          events: monitor.eventCount,
          errors: monitor.errorCount,
        };
      });
    },
    get errorCount() {
      let total = 0;
      for (const { monitor } of entries.values()) total += monitor.errorCount;
      return total;
    },
    lastEventAgeMs() {
      let newest: number | undefined;
      for (const { monitor } of entries.values()) {
        const age = monitor.lastEventAgeMs();
        if (age !== undefined && (newest === undefined || age < newest)) newest = age;
      }
      return newest;
    },
    start() {
      const running = [...entries.values()].map(({ monitor }) => monitor.start());
      return { [Symbol.dispose]: () => running.forEach((r) => r[Symbol.dispose]()) };
    },
  };
}
