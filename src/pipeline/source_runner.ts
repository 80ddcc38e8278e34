import type { HealthMonitor } from "../health/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Source, SourceContext, SourceStatus } from "../sources/mod.ts";
import type { SourceTelemetry, Tracing } from "../telemetry/mod.ts";
import type { Intake } from "./intake.ts";

/** What starting one source needs. */
export interface SourceRunnerDeps {
  readonly intake: Intake;
  readonly monitor: HealthMonitor;
  readonly log: Logger;
  readonly telemetry: SourceTelemetry;
  readonly tracing: Tracing;
  /** The stack's name, for the start line. */
  readonly stack: string;
  /** Turns the local context into the one the source runs with (cluster mode). */
  readonly wrap?: (local: SourceContext) => SourceContext;
}

function sourceAttributes(source: Source, phase: string) {
  return {
    "source.name": source.name,
    "source.kind": source.kind,
    "source.stream": source.stream,
    phase,
  };
}

/**
 * The context a source runs with: its events go to the intake, counted and recorded on
 * its health monitor once per offer (not per event), and its status changes become
 * health, logs and `source` spans.
 */
export function toSourceContext(source: Source, deps: SourceRunnerDeps): SourceContext {
  const { intake, monitor, telemetry } = deps;
  const name = source.name;
  return {
    sink: (event) => {
      monitor.recordEvent();
      telemetry.eventReceived(name);
      return intake.submit(name, event);
    },
    offer: (events) => {
      if (!intake.offer(name, events)) return false;
      if (events.length > 0) {
        monitor.recordEvent(events.length);
        telemetry.eventReceived(name, events.length);
      }
      return true;
    },
    capacity: intake.capacity,
    onStatus: (status, message) => recordStatus(source, status, message, deps),
  };
}

/** Mirrors a source's status into its health monitor, the log and a `source` span. */
function recordStatus(
  source: Source,
  status: SourceStatus,
  message: string | undefined,
  { monitor, log, tracing }: SourceRunnerDeps,
): void {
  const fields = { source: source.name, status, ...(message ? { message } : {}) };
  if (status === "error") log.warn("Source {source} is {status}: {message}", fields);
  else log.info("Source {source} is {status}", fields);
  if (status === "connected" || status === "reconnecting") {
    const phase = status === "connected" ? "connect" : "reconnect";
    tracing.inSpan("source", sourceAttributes(source, phase), () => {}, { root: true });
  }
  if (status === "connected") monitor.recordConnection();
  else if (status === "reconnecting") monitor.recordReconnecting();
  else if (status === "disconnected") monitor.recordDisconnection();
  else monitor.recordError(message ?? "source error");
}

/** Starts `source` inside a `source` span, logging the start. */
export async function startSource(source: Source, deps: SourceRunnerDeps): Promise<void> {
  deps.log.info("Source {source} starting (kind: {kind}, stream: {stream})", {
    source: source.name,
    kind: source.kind,
    stream: source.stream,
    stack: deps.stack,
  });
  await deps.tracing.inSpan(
    "source",
    sourceAttributes(source, "start"),
    () => {
      const local = toSourceContext(source, deps);
      return source.start(deps.wrap === undefined ? local : deps.wrap(local));
    },
    { root: true },
  );
}
