import type { Logger } from "../log/mod.ts";
import type { WsTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { Session } from "./session.ts";

/** Options for {@link SessionRegistry}. */
export interface SessionRegistryOptions {
  readonly clock: Clock;
  /** Where the connect and disconnect lines go (`pharos.ws`, as the sessions' own). */
  readonly log: Logger;
  readonly telemetry: WsTelemetry;
  readonly maxClients: number;
}

/**
 * Who holds a client place: live sessions (those closed but not yet ended among them) and
 * upgrades answered but not yet open. Also whether the server still takes new clients, and
 * who is waiting for sessions to end.
 */
export class SessionRegistry {
  readonly maxClients: number;
  readonly #o: SessionRegistryOptions;
  readonly #sessions = new Set<Session>();
  readonly #endWaiters = new Set<() => void>();
  #reserved = 0; // upgrades answered but not yet open
  #accepting = true;
  /** The latest revocation check: sessions opening later are held to it too. */
  #isRevoked: ((session: Session) => boolean) | undefined;

  constructor(options: SessionRegistryOptions) {
    this.#o = options;
    this.maxClients = options.maxClients;
  }

  /** False once shutdown began: upgrades are refused, sockets opening then are closed. */
  get accepting(): boolean {
    return this.#accepting;
  }

  stopAccepting(): void {
    this.#accepting = false;
  }

  /** Live sessions, without the upgrades still opening. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Connected (or connecting) clients, including those still closing. */
  get clientCount(): number {
    return this.#sessions.size + this.#reserved;
  }

  /** Whether another upgrade would take the server past `maxClients`. */
  get isFull(): boolean {
    return this.clientCount >= this.maxClients;
  }

  /** Sessions closed by the server whose socket has not finished closing. */
  get closingCount(): number {
    let closing = 0;
    for (const session of this.#sessions) if (session.closed) closing++;
    return closing;
  }

  values(): Iterable<Session> {
    return this.#sessions.values();
  }

  has(session: Session): boolean {
    return this.#sessions.has(session);
  }

  /** Holds a place for an upgrade answered but not yet open. */
  reserve(): void {
    this.#reserved++;
  }

  /** Gives back a place taken by {@link reserve}. */
  unreserve(): void {
    this.#reserved--;
  }

  /**
   * Ends every live session `isRevoked` matches with {@link Session.revoke}, and from now
   * on every session that opens while it is the latest check given: an upgrade admitted
   * just before the list changed opens after this sweep. Returns how many it ended now.
   */
  revoke(isRevoked: (session: Session) => boolean): number {
    this.#isRevoked = isRevoked;
    let ended = 0;
    for (const session of this.#sessions) {
      if (session.closed || !isRevoked(session)) continue;
      session.revoke();
      ended++;
    }
    return ended;
  }

  /** Counts a session whose socket opened (and ends it at once if it is revoked). */
  opened(session: Session): void {
    this.#sessions.add(session);
    this.#o.telemetry.connectionOpened();
    this.#o.log.info("New WebSocket connection from {peer} ({count}/{max} clients)", {
      peer: session.peer,
      count: this.#sessions.size,
      max: this.maxClients,
    });
    this.#o.log.info("WebSocket connection established for client {client_id}", {
      client_id: session.id,
    });
    if (this.#isRevoked?.(session)) session.revoke();
  }

  /** Forgets a session whose socket ended; false when it was already forgotten. */
  ended(session: Session, code: number, reason: string): boolean {
    if (!this.#sessions.delete(session)) return false;
    const durationSeconds = (this.#o.clock.monotonic() - session.openedAt) / 1000;
    this.#o.telemetry.connectionClosed(durationSeconds);
    // `code` is a string on every line (README, Logging): close codes, error codes alike.
    this.#o.log.info("Client {client_id} disconnected", {
      client_id: session.id,
      code: String(code),
      reason,
      duration_s: Number(durationSeconds.toFixed(3)),
    });
    for (const wake of this.#endWaiters) wake();
    return true;
  }

  /**
   * Waits until none of `sessions` is live, or `timeoutMs` passed; returns how many are
   * still live.
   */
  async untilEnded(sessions: readonly Session[], timeoutMs: number): Promise<number> {
    const isLive = (session: Session) => this.#sessions.has(session);
    if (!sessions.some(isLive)) return 0;
    let timer: Disposable | undefined;
    let waiter: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      waiter = () => {
        if (!sessions.some(isLive)) resolve();
      };
      this.#endWaiters.add(waiter);
      timer = this.#o.clock.setTimer(timeoutMs, resolve);
    });
    timer?.[Symbol.dispose]();
    if (waiter !== undefined) this.#endWaiters.delete(waiter);
    return sessions.filter(isLive).length;
  }
}
