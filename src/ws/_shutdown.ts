import type { Logger } from "../log/mod.ts";
import { CloseCode } from "../protocol/mod.ts";
import type { IdleSweep } from "./_idle_sweep.ts";
import type { SessionRegistry } from "./_session_registry.ts";

/** How {@link shutdownSessions} closes the sessions and how long it waits for them. */
export interface ShutdownOptions {
  /** Default {@link CloseCode.GoingAway}. */
  readonly code?: number;
  /** Default "server shutting down". */
  readonly reason?: string;
  readonly timeoutMs: number;
}

/** What shutdown acts on. */
export interface ShutdownContext {
  readonly registry: SessionRegistry;
  readonly sweep: IdleSweep;
  /** Where shutdown's progress goes, at debug (`pharos.ws.server`). */
  readonly serverLog: Logger;
}

/** Closes every live session with `code` and `reason`, those already closing among them. */
export function closeEverySession(registry: SessionRegistry, code: number, reason: string): void {
  for (const session of registry.values()) session.close(code, reason);
}

/**
 * Stops accepting, closes every session, and waits (up to `timeoutMs`) for them to end;
 * then stops the idle sweep.
 */
export async function shutdownSessions(
  context: ShutdownContext,
  options: ShutdownOptions,
): Promise<void> {
  const { registry, serverLog } = context;
  const code = options.code ?? CloseCode.GoingAway;
  registry.stopAccepting();
  // Sessions already closed but not yet ended belong to peers that stopped reading:
  // their close frame cannot be written, so waiting for them would only stall.
  const awaited = [...registry.values()].filter((session) => !session.closed);
  if (registry.size > 0) {
    serverLog.debug(
      "Shutting down: closing {clients} clients ({closing} already closing)",
      () => ({
        clients: awaited.length,
        closing: registry.size - awaited.length,
        code: String(code),
      }),
    );
  }
  for (const session of awaited) session.close(code, options.reason ?? "server shutting down");
  const left = await registry.untilEnded(awaited, options.timeoutMs);
  if (left > 0) {
    serverLog.debug("Shutdown went on with {left} clients still closing", () => ({ left }));
  }
  context.sweep.stop();
}
