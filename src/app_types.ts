import type { Authorize } from "./ws/mod.ts";
import type { Bus } from "./bus/mod.ts";
import type { Config } from "./config/mod.ts";
import type { HealthBoard } from "./health/mod.ts";
import type { HttpHandler, MetricsRenderer } from "./http/mod.ts";
import type { Logger, LoggingHandle, RecentRecords } from "./log/mod.ts";
import type { Intake, Pipeline } from "./pipeline/mod.ts";
import type { Projector } from "./projector/mod.ts";
import type { Source } from "./sources/mod.ts";
import type { Stack } from "./stack/mod.ts";
import type { Telemetry } from "./telemetry/mod.ts";
import type { Clock, Ids } from "./util/mod.ts";
import type { Vm } from "./vm/mod.ts";
import type { WsServer } from "./ws/mod.ts";

/** Everything `createApp` needs; dependencies are explicit, tunables come from `config`. */
export interface AppOptions {
  readonly config: Config;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Default: random ids. */
  readonly ids?: Ids;
  /** Root logger (category `pharos`); components log under its children. */
  readonly log: Logger;
  readonly telemetry: Telemetry;
  /**
   * The environment handed to the handler hosts, which keep only the variables their stack
   * declares. Default: none.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Where a relative `PHAROS_STACK` path resolves. Default: `.`. */
  readonly cwd?: string;
  /**
   * The stack, given as a value instead of `PHAROS_STACK`: its handlers run in this process
   * (functions cannot be sent to a handler host). Default: the config's stack module, or the
   * built-in demo Token stack, in handler hosts unless `PHAROS_HANDLER_ISOLATION=inline`.
   */
  readonly stack?: Stack;
  /** Sources to run instead of those the config and stack ask for. */
  readonly sources?: readonly Source[];
  /**
   * Upgrade authorization hook; replaces the one built from the configuration
   * (`PHAROS_AUTH`, `PHAROS_ALLOWED_ORIGINS`).
   */
  readonly authorize?: Authorize;
  /** Renders `GET /metrics`; without it the route is absent. */
  readonly metrics?: MetricsRenderer;
  /** The latest warnings and errors, for the console (`boot.ts` installs the ring). */
  readonly recentLogs?: RecentRecords;
  /**
   * The process's logging (`configureLogging`'s handle), whose filter `PUT /debug/log` changes
   * while running; without it that admin endpoint is absent (a library host owns its logging).
   */
  readonly logging?: Pick<LoggingHandle, "filter" | "setFilter">;
}

/** A wired Pharos server, not yet listening: hand `handler` to `Deno.serve`. */
export interface App {
  readonly handler: HttpHandler;
  /** `/metrics`, `/status`, `/health`, `/ready` for the admin port, when one is configured. */
  readonly adminHandler: HttpHandler | undefined;
  /** Starts the sources; resolves once they run. */
  start(): Promise<void>;
  /**
   * Tells the app the port its main listener got (`PORT=0` picks one): the console, when
   * served on the admin port, sends its page there for entities.
   */
  listening(port: number): void;
  /**
   * Drains: `/ready` turns 503, the cluster gives its lease up, sources stop, queued events
   * finish, clients get 1001, handler hosts stop. Once, however often it is called.
   */
  shutdown(): Promise<void>;
  /**
   * Kills the handler hosts at once, for a process that is exiting without a shutdown: a
   * host stuck in a loop must not outlive it.
   */
  killNow(): void;
  readonly pipeline: Pipeline;
  readonly health: HealthBoard;
  readonly sources: readonly Source[];
  readonly intake: Intake;
  readonly vm: Vm;
  readonly projector: Projector;
  readonly bus: Bus;
  readonly ws: WsServer;
}
