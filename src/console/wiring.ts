import type { ViewDirectory } from "../bus/mod.ts";
import type { RecentRecords } from "../log/mod.ts";
import type { Clock } from "../util/mod.ts";
import { createConsoleFeed } from "./feed.ts";
import { type ConsoleRoutes, createConsoleRoutes } from "./routes.ts";
import type { ConsoleSession, ConsoleView } from "./sampler.ts";
import type { ConsoleTap } from "./tap.ts";

/** What {@link createConsole} reads of the app. */
export interface ConsoleOptions {
  readonly tap: ConsoleTap;
  readonly clock: Clock;
  /** `GET /status`'s body. */
  readonly status: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  readonly directory: ViewDirectory;
  readonly viewIds: readonly string[];
  readonly sessions: () => Iterable<ConsoleSession>;
  readonly queueMaxFrames: number;
  /** The latest warnings and errors (the log ring `boot.ts` installs); none without it. */
  readonly recentLogs?: RecentRecords;
  /** The WebSocket port, when the console is served on another one (the admin port). */
  readonly wsPort?: () => number | undefined;
}

/** The console, ready to mount. */
export interface Console {
  readonly routes: ConsoleRoutes;
  /** Ends the open consoles' feeds (shutdown). */
  close(): void;
}

/** Builds the console's feed and routes over the app's parts. */
export function createConsole(options: ConsoleOptions): Console {
  const views: ConsoleView[] = options.viewIds.flatMap((id) => {
    const info = options.directory.describe(id);
    return info === undefined ? [] : [{ id, entity: info.entity, kind: info.kind }];
  });
  const feed = createConsoleFeed({
    tap: options.tap,
    clock: options.clock,
    readings: {
      status: options.status,
      views,
      sessions: options.sessions,
      queueMaxFrames: options.queueMaxFrames,
      recentLogs: (afterSeq) => options.recentLogs?.list(afterSeq) ?? [],
      wsPort: options.wsPort ?? (() => undefined),
    },
  });
  return { routes: createConsoleRoutes(feed), close: () => feed.close() };
}
