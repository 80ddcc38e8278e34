import { type Clock, LruMap, ViewGrant } from "../util/mod.ts";
import type { ErrorAnswer, TokenLimits } from "../protocol/mod.ts";

/**
 * What a client may see: the views its grant covers, and the claims row rules compare
 * (README "Security"). From its token, else the server's default.
 */
export interface Access {
  readonly views: ViewGrant;
  /** The token's claims (a JWT's payload; a static token's configured ones). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Every view, and no claims: the access of clients when nothing narrows it. */
export const OPEN_ACCESS: Access = Object.freeze({ views: ViewGrant.ALL, claims: {} });

/** Outcome of a successful `refresh_auth`: the new expiry (unix seconds), access and token id. */
export interface Refreshed {
  readonly expiresAt: number | undefined;
  /** The new token's access; absent: the session's stays. */
  readonly access?: Access;
  /** The new token's id (its JWT `jti`); absent when it has none. */
  readonly tokenId?: string;
}

/** A client the authorize hook let in, with what its credentials say. */
export interface Admitted {
  readonly kind: "admitted";
  /** Who the credentials belong to (the per-subject connection limit counts by it). */
  readonly subject?: string;
  /** When the credentials expire, unix seconds: the session then ends with `token-expired`. */
  readonly expiresAt?: number;
  /** The token's id (its JWT `jti`), which a revocation list may name; absent without one. */
  readonly tokenId?: string;
  readonly limits?: TokenLimits;
  /** What the client may see; absent: the server's default access. */
  readonly access?: Access;
  /**
   * Checks a `refresh_auth` token (same subject); rejects with an Error whose `code` says
   * why. Absent: in-band refresh is not supported for these credentials.
   */
  readonly refresh?: (token: string) => Promise<Refreshed>;
}

/** Connection and handshake limits per peer, subject and origin; 0 means no limit. */
export interface AdmissionLimits {
  readonly maxConnectionsPerIp: number;
  readonly maxConnectionsPerSubject: number;
  readonly maxConnectionsPerOrigin: number;
  readonly handshakesPerMinutePerIp: number;
}

/** No limits. */
export const NO_ADMISSION_LIMITS: AdmissionLimits = Object.freeze({
  maxConnectionsPerIp: 0,
  maxConnectionsPerSubject: 0,
  maxConnectionsPerOrigin: 0,
  handshakesPerMinutePerIp: 0,
});

/** A held connection slot; release it when the connection ends (idempotent). */
export interface Slot {
  release(): void;
}

/** Which limit refused a client: a bounded metric label. */
export type AdmissionLimit =
  | "handshake-rate"
  | "connections-per-ip"
  | "connections-per-subject"
  | "connections-per-origin";

/** A refusal, with the limit that caused it. */
export interface Refusal {
  readonly limit: AdmissionLimit;
  readonly rejection: ErrorAnswer;
}

/** Handshake windows remembered at most (one per recent client IP); older ones are forgotten. */
const RATE_WINDOWS = 100_000;
const MINUTE_MS = 60_000;

/**
 * Counts connections per IP, subject and origin, and upgrades per IP per minute. Memory is
 * bounded: connection counts exist only for open connections (at most the client limit),
 * and handshake windows are an LRU of recent IPs.
 */
export class Admission {
  readonly #limits: AdmissionLimits;
  readonly #clock: Clock;
  readonly #perIp = new Map<string, number>();
  readonly #perSubject = new Map<string, number>();
  readonly #perOrigin = new Map<string, number>();
  readonly #windows = new LruMap<string, { start: number; count: number }>(RATE_WINDOWS);

  constructor(limits: AdmissionLimits, clock: Clock) {
    this.#limits = limits;
    this.#clock = clock;
  }

  /** Counts one upgrade attempt from `ip`; a refusal once it is over the per-minute rate. */
  checkHandshakeRate(ip: string): Refusal | undefined {
    const limit = this.#limits.handshakesPerMinutePerIp;
    if (limit <= 0) return undefined;
    const now = this.#clock.monotonic();
    let window = this.#windows.get(ip);
    if (window === undefined || now - window.start >= MINUTE_MS) {
      window = { start: now, count: 0 };
    }
    window.count++;
    this.#windows.set(ip, window);
    if (window.count <= limit) return undefined;
    const retryAfterSeconds = Math.max(1, Math.ceil((window.start + MINUTE_MS - now) / 1000));
    return {
      limit: "handshake-rate",
      rejection: {
        status: 429,
        code: "rate-limit-exceeded",
        message: `More than ${limit} WebSocket upgrades per minute from this address`,
        retryable: true,
        retryAfterSeconds,
      },
    };
  }

  /**
   * Takes a connection slot for `ip`, `subject` and `origin`, or refuses with 429
   * `connection-limit-exceeded`. `subjectLimit` (a token's `max_connections`) replaces the
   * per-subject default.
   */
  acquire(
    ip: string,
    subject: string | undefined,
    origin: string | undefined,
    subjectLimit?: number,
  ): Slot | Refusal {
    const limits = this.#limits;
    const refusal = refuseOver(this.#perIp, ip, limits.maxConnectionsPerIp, "connections-per-ip") ??
      refuseOver(
        this.#perSubject,
        subject,
        subjectLimit ?? limits.maxConnectionsPerSubject,
        "connections-per-subject",
      ) ??
      refuseOver(
        this.#perOrigin,
        origin,
        limits.maxConnectionsPerOrigin,
        "connections-per-origin",
      );
    if (refusal !== undefined) return refusal;
    countUp(this.#perIp, ip);
    countUp(this.#perSubject, subject);
    countUp(this.#perOrigin, origin);
    return new HeldSlot(this.#perIp, this.#perSubject, this.#perOrigin, ip, subject, origin);
  }

  /**
   * The client addresses with the most open connections, most first (ties by address):
   * what the per-IP limit counts, for `/status`.
   */
  busiestAddresses(count: number): { address: string; connections: number }[] {
    return [...this.#perIp]
      .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
      .slice(0, count)
      .map(([address, connections]) => ({ address, connections }));
  }

  /** Distinct keys counted, for tests and /status. */
  get tracked(): { ips: number; subjects: number; origins: number; windows: number } {
    return {
      ips: this.#perIp.size,
      subjects: this.#perSubject.size,
      origins: this.#perOrigin.size,
      windows: this.#windows.size,
    };
  }
}

/** Whose connections each per-key limit counts, as its refusal message says. */
const WHOSE: Readonly<Record<Exclude<AdmissionLimit, "handshake-rate">, string>> = Object.freeze({
  "connections-per-ip": "this address",
  "connections-per-subject": "these credentials",
  "connections-per-origin": "this origin",
});

/** A refusal when `key` already holds `limit` connections (0: no limit). */
function refuseOver(
  counts: Map<string, number>,
  key: string | undefined,
  limit: number,
  name: Exclude<AdmissionLimit, "handshake-rate">,
): Refusal | undefined {
  if (key === undefined || limit <= 0 || (counts.get(key) ?? 0) < limit) return undefined;
  return {
    limit: name,
    rejection: {
      status: 429,
      code: "connection-limit-exceeded",
      message: `At most ${limit} connections for ${WHOSE[name]}`,
      retryable: true,
      retryAfterSeconds: 5,
      suggestedAction: "close other connections first",
    },
  };
}

function countUp(counts: Map<string, number>, key: string | undefined): void {
  if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
}

function countDown(counts: Map<string, number>, key: string | undefined): void {
  if (key === undefined) return;
  const left = (counts.get(key) ?? 1) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
}

/**
 * A held slot: the counts it added and the keys it added them under. A class rather than
 * a closure over arrays of pairs: it lives as long as the connection (0.4 KB less each).
 */
class HeldSlot implements Slot {
  readonly #perIp: Map<string, number>;
  readonly #perSubject: Map<string, number>;
  readonly #perOrigin: Map<string, number>;
  readonly #ip: string;
  readonly #subject: string | undefined;
  readonly #origin: string | undefined;
  #released = false;
  constructor(
    perIp: Map<string, number>,
    perSubject: Map<string, number>,
    perOrigin: Map<string, number>,
    ip: string,
    subject: string | undefined,
    origin: string | undefined,
  ) {
    this.#perIp = perIp;
    this.#perSubject = perSubject;
    this.#perOrigin = perOrigin;
    this.#ip = ip;
    this.#subject = subject;
    this.#origin = origin;
  }
  release(): void {
    if (this.#released) return;
    this.#released = true;
    countDown(this.#perIp, this.#ip);
    countDown(this.#perSubject, this.#subject);
    countDown(this.#perOrigin, this.#origin);
  }
}

/** The IP part of a `host:port` peer (IPv6 in brackets or bare). */
export function ipOf(peer: string): string {
  if (peer.startsWith("[")) return peer.slice(1, peer.indexOf("]"));
  const colon = peer.lastIndexOf(":");
  if (colon < 0 || peer.indexOf(":") !== colon) return peer; // no port, or bare IPv6
  return peer.slice(0, colon);
}
