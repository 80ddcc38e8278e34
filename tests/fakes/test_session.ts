import { getLogger } from "../../src/log/mod.ts";
import {
  type Access,
  type Admitted,
  DEFAULT_SESSION_LIMITS,
  Session,
  type SessionLimits,
} from "../../src/ws/mod.ts";
import { MemoryTransport } from "./memory_transport.ts";
import type { TestProjector } from "./test_projector.ts";

/** What {@link connectSession} may set; everything else is a fixed test value. */
export interface TestSessionOptions {
  readonly id?: string;
  readonly limits?: Partial<SessionLimits>;
  readonly auth?: Admitted;
  /** What the client may see; default every view, no claims. */
  readonly access?: Access;
}

/**
 * A session on `fixture`'s projector and bus, sending into a MemoryTransport, with the
 * default limits except those given.
 */
export function connectSession(
  fixture: TestProjector,
  options: TestSessionOptions = {},
): { transport: MemoryTransport; session: Session } {
  const transport = new MemoryTransport();
  const session = new Session({
    id: options.id ?? crypto.randomUUID(),
    peer: "127.0.0.1:50000",
    transport,
    directory: fixture.projector.directory,
    bus: fixture.bus,
    clock: fixture.clock,
    log: getLogger(["pharos", "test"]),
    telemetry: fixture.telemetry.ws,
    limits: { ...DEFAULT_SESSION_LIMITS, ...options.limits },
    ...(options.auth === undefined ? {} : { auth: options.auth }),
    ...(options.access === undefined ? {} : { access: options.access }),
  });
  return { transport, session };
}
