/**
 * The process's own options: its listeners, the stack module it loads, and its shutdown
 * deadline (read by `boot.ts`, `main.ts` and the app's HTTP wiring).
 */
export interface ServerConfig {
  /**
   * `PORT`: TCP port for HTTP and WebSocket; 0 picks a free port.
   * @default {8877}
   */
  readonly port: number;
  /**
   * `PHAROS_HOST`: interface to listen on.
   * @default {"0.0.0.0"}
   */
  readonly hostname: string;
  /**
   * `PHAROS_STACK`: path or URL of a stack module; empty means the built-in demo stack.
   * @default {""}
   */
  readonly stackModule: string;
  /**
   * `PHAROS_ADMIN_PORT`: serve `/metrics` and `/status` on this port only; -1 is off.
   * @default {-1}
   */
  readonly adminPort: number;
  /**
   * `PHAROS_ADMIN_TOKEN`: bearer token for `/metrics` and `/status`; empty means none.
   * @default {""}
   */
  readonly adminToken: string;
  /**
   * `PHAROS_SHUTDOWN_TIMEOUT_MS`: graceful shutdown deadline after SIGINT/SIGTERM.
   * @default {10000}
   */
  readonly shutdownTimeoutMs: number;
  /**
   * `PHAROS_TRACE_REQUESTS_PER_SECOND`: most HTTP request spans per second while spans are
   * exported; requests over it are served without one.
   * @default {50}
   */
  readonly traceRequestsPerSecond: number;
}

/** Defaults of the `server` slice. */
export const SERVER_DEFAULTS: ServerConfig = Object.freeze({
  port: 8877,
  hostname: "0.0.0.0",
  stackModule: "",
  adminPort: -1,
  adminToken: "",
  shutdownTimeoutMs: 10_000,
  traceRequestsPerSecond: 50,
});
