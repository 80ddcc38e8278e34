import type { Logger } from "../log/mod.ts";
import type { AuthTelemetry } from "../telemetry/mod.ts";
import type { Session, WsServer } from "../ws/mod.ts";
import { AuthError } from "./errors.ts";
import type { Identity } from "./identity.ts";
import type { Revocations } from "./revocations.ts";

/**
 * `verify`, refusing with `token-revoked` (401) a token the list in force names by its id
 * or subject: what the upgrade and `refresh_auth` check. The list is read after the
 * signature and claims are checked, with nothing awaited in between, so a change of list
 * cannot fall between this check and the caller's use of the identity.
 */
export function refusingRevoked<A extends unknown[]>(
  verify: (...args: A) => Promise<Identity>,
  revocations: Revocations,
): (...args: A) => Promise<Identity> {
  return async (...args) => {
    const identity = await verify(...args);
    if (revocations.revokes(identity.tokenId, identity.subject)) {
      throw new AuthError("token-revoked", "Token has been revoked");
    }
    return identity;
  };
}

/** What enforcing a revocation list reports through. */
export interface RevocationEnforcementOptions {
  /** `pharos.auth`: how many sessions each change closed. */
  readonly log: Logger;
  readonly telemetry: AuthTelemetry;
}

/**
 * Holds `sessions` to the revocation list: each time a new list is put in force, every
 * live session is checked once (by its token's id, which `refresh_auth` moves, and its
 * subject) and those it names are closed with `Session.revoke`; a session that opens
 * later is checked as it opens. Each closed session is counted
 * (`auth_revoked_sessions_closed_total`) and logged by the session, never its token.
 */
export function enforceRevocations(
  revocations: Revocations,
  sessions: Pick<WsServer, "revokeSessions">,
  options: RevocationEnforcementOptions,
): void {
  // Read against the list in force when called; returning true ends the session, so the
  // count is exact (see WsServer.revokeSessions).
  const isRevoked = (session: Session): boolean => {
    if (!revocations.revokes(session.tokenId, session.subject)) return false;
    options.telemetry.revokedSessionsClosed(1);
    return true;
  };
  const sweep = () => {
    const closed = sessions.revokeSessions(isRevoked);
    if (closed > 0) {
      options.log.info("Closed {count} sessions whose token the revocation list names", {
        count: closed,
      });
    }
  };
  sweep();
  revocations.onChange(sweep);
}
