import type { HealthBoard, SourceReport } from "../health/mod.ts";
import type { Intake } from "./intake.ts";

/** The event path's part of `GET /status`. */
export interface PipelineStatus {
  readonly status: string;
  readonly message?: string;
  readonly healthy: boolean;
  readonly ready: boolean;
  readonly draining: boolean;
  readonly last_event_age_ms: number | null;
  readonly error_count: number;
  readonly sources: readonly SourceReport[];
  readonly pipeline: { readonly pending: number; readonly capacity: number };
  readonly stack: string;
}

/** Reads the status report from the health board and the intake. */
export function toPipelineStatus(parts: {
  readonly health: HealthBoard;
  readonly intake: Intake;
  readonly stack: string;
  readonly ready: boolean;
  readonly draining: boolean;
}): PipelineStatus {
  const { health, intake } = parts;
  const status = health.status();
  const age = health.lastEventAgeMs();
  return {
    status: status.kind,
    ...(status.kind === "Error" ? { message: status.message } : {}),
    healthy: health.isHealthy(),
    ready: parts.ready,
    draining: parts.draining,
    last_event_age_ms: age === undefined ? null : Math.round(age),
    error_count: health.errorCount,
    sources: health.sources(),
    pipeline: { pending: intake.pending, capacity: intake.capacity },
    stack: parts.stack,
  };
}
