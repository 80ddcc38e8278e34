import type { Bus, ViewDirectory } from "../bus/mod.ts";
import { WS_DEFAULTS } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { CloseCode } from "../protocol/mod.ts";
import { noopTracing, type Tracing, type WsTelemetry } from "../telemetry/mod.ts";
import type { Clock, Ids } from "../util/mod.ts";
import { type Access, Admission, type AdmissionLimits } from "./admission.ts";
import { upgradeToSocket } from "./deno_socket.ts";
import { IdleSweep } from "./_idle_sweep.ts";
import type { SendScheduler } from "./send_scheduler.ts";
import type { Session, SessionLimits } from "./session.ts";
import { SessionRegistry } from "./_session_registry.ts";
import { closeEverySession, shutdownSessions } from "./_shutdown.ts";
import { type Authorize, type UpgradeContext, UpgradeHandler, type Upgrader } from "./upgrade.ts";

/** Options for {@link createWsServer}. */
export interface WsServerOptions {
  readonly directory: ViewDirectory;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly log: Logger;
  readonly telemetry: WsTelemetry;
  /** Spans: one `ws.connection` trace per connection, `bus.cleanup` per idle sweep. */
  readonly tracing?: Tracing;
  /** Default {@link WS_DEFAULTS}. */
  readonly maxClients?: number;
  /** Close clients silent this long, ms; default {@link WS_DEFAULTS}. */
  readonly idleTimeoutMs?: number;
  readonly limits?: Partial<SessionLimits>;
  /** Default: allow everyone. */
  readonly authorize?: Authorize;
  /**
   * What a client whose credentials say nothing of it may see (`PHAROS_DEFAULT_VIEWS`, no
   * claims); default {@link OPEN_ACCESS}.
   */
  readonly defaultAccess?: Access;
  readonly upgrade?: Upgrader;
  /** Paces fan-out sends across clients (see {@link SendScheduler}); default: send at once. */
  readonly scheduler?: SendScheduler;
  /** Connections per IP, subject, origin; upgrades per IP a minute. Default {@link WS_DEFAULTS}. */
  readonly admission?: AdmissionLimits;
}

/** The WebSocket part of `GET /status`. */
export interface WsStatus {
  readonly connections: number;
  readonly connections_closing: number;
  readonly max_connections: number;
  /** The busiest client addresses (at most 10) and their open connections. */
  readonly client_addresses: readonly { address: string; connections: number }[];
}

/** The WebSocket side of the server. */
export interface WsServer {
  /** Handles a request carrying `Upgrade: websocket`. */
  handleUpgrade(request: Request, peer: string): Promise<Response>;
  /** Connected (or connecting) clients, including those still closing. */
  readonly clientCount: number;
  /**
   * Clients closed by the server whose socket has not finished closing: usually peers
   * that stopped reading, whose close frame waits behind unread data. They keep their
   * client slot until the peer reads or disconnects.
   */
  readonly closingCount: number;
  /** Live sessions. */
  sessions(): Iterable<Session>;
  /** The WebSocket part of `GET /status`. */
  status(): WsStatus;
  /**
   * Closes every session with {@link CloseCode.ServiceRestart} and `reason`, so clients
   * reconnect and subscribe again (the state was replaced). Keeps accepting new clients.
   */
  restartClients(reason: string): void;
  /**
   * Ends every live session whose token `isRevoked` says is revoked (checking each once):
   * the fatal error frame `token-revoked`, then close 1008 (`Session.revoke`). Sessions
   * that open later are held to the same check until the next call replaces it, so an
   * upgrade admitted just before the list changed cannot slip through. Returns how many
   * sessions it ended now.
   */
  revokeSessions(isRevoked: (session: Session) => boolean): number;
  /** Stops accepting, closes every session with `code`, and waits (up to `timeoutMs`) for them to end. */
  shutdown(options: { code?: number; reason?: string; timeoutMs: number }): Promise<void>;
}

/** Default session limits (docs/protocol.md §5): the config's `ws.limits`, and the socket bound. */
export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({
  ...WS_DEFAULTS.limits,
  // Kept small because it is also what a peer that stopped reading can pin: Deno offers
  // no way to cut a socket whose writes are blocked, so the close frame waits behind it.
  socketHighWaterBytes: 256 * 1024,
});

/** Client addresses `/status` lists, the busiest first. */
const STATUS_ADDRESSES = 10;

/**
 * Creates the WebSocket server: upgrades, client limit, sessions and the idle sweep. Its
 * parts, one file each: the upgrade's checks and authorization (`upgrade.ts`,
 * `_handshake.ts`), each connection's socket events and session (`_connection.ts`), who
 * holds a client place (`_session_registry.ts`), the idle sweep (`_idle_sweep.ts`) and
 * shutdown (`_shutdown.ts`).
 */
export function createWsServer(options: WsServerOptions): WsServer {
  const context = createServerParts(options);
  const { registry, admission } = context;
  const upgrades = new UpgradeHandler(context);
  return {
    handleUpgrade: (request, peer) => upgrades.handle(request, peer),
    get clientCount() {
      return registry.clientCount;
    },
    get closingCount() {
      return registry.closingCount;
    },
    status: () => ({
      connections: registry.clientCount,
      connections_closing: registry.closingCount,
      max_connections: registry.maxClients,
      // The client addresses the per-IP limit counts (behind trusted proxies, the
      // forwarded ones), the busiest first.
      client_addresses: admission.busiestAddresses(STATUS_ADDRESSES),
    }),
    sessions: () => registry.values(),
    restartClients: (reason) => closeEverySession(registry, CloseCode.ServiceRestart, reason),
    revokeSessions: (isRevoked) => registry.revoke(isRevoked),
    shutdown: (shutdownOptions) => shutdownSessions(context, shutdownOptions),
  };
}

/** The server's parts, built from its options with their defaults. */
function createServerParts(options: WsServerOptions): UpgradeContext {
  const { clock, log, telemetry } = options;
  // Sessions log under `pharos.ws`; what concerns the listener (handshakes refused, the idle
  // sweep, shutdown) under `pharos.ws.server`, as main.ts's "listening" line.
  const serverLog = log.getChild("server");
  const tracing = options.tracing ?? noopTracing;
  const registry = new SessionRegistry({
    clock,
    log,
    telemetry,
    maxClients: options.maxClients ?? WS_DEFAULTS.maxClients,
  });
  const sweep = new IdleSweep(registry, {
    clock,
    tracing,
    log,
    serverLog,
    idleTimeoutMs: options.idleTimeoutMs ?? WS_DEFAULTS.idleTimeoutMs,
  });
  return {
    registry,
    sweep,
    admission: new Admission(options.admission ?? WS_DEFAULTS.admission, clock),
    directory: options.directory,
    bus: options.bus,
    clock,
    ids: options.ids,
    log,
    serverLog,
    telemetry,
    tracing,
    limits: { ...DEFAULT_SESSION_LIMITS, ...options.limits },
    scheduler: options.scheduler,
    upgrade: options.upgrade ?? upgradeToSocket,
    authorize: options.authorize,
    ...(options.defaultAccess === undefined ? {} : { defaultAccess: options.defaultAccess }),
  };
}
