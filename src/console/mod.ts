/**
 * The live console at `GET /console`: a page served by Pharos itself (no build step, nothing
 * fetched from elsewhere) showing health, sources, views, clients, charts, recent warnings
 * and a view's entities as they change. Its data comes from a read-only admin feed
 * (`GET /console/feed`, server-sent events) that runs only while a console is open, and from
 * the HyperStack protocol for entities.
 * @module
 */
export { type ConsoleFeed, type ConsoleFeedOptions, createConsoleFeed } from "./feed.ts";
export {
  type ConsolePoint,
  type ConsoleReadings,
  type ConsoleSession,
  type ConsoleView,
} from "./sampler.ts";
export {
  type ConsoleRoute,
  type ConsoleRoutes,
  createConsoleRoutes,
  type ReadAsset,
} from "./routes.ts";
export { type BatchTimes, type ConsoleCounts, type ConsoleTap, createConsoleTap } from "./tap.ts";
export { type Console, type ConsoleOptions, createConsole } from "./wiring.ts";
