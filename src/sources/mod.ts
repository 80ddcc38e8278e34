/**
 * Upstream adapters behind one `Source` interface; the built-in demo generator.
 * @module
 */
export { type Backoff, type BackoffOptions, createBackoff } from "./backoff.ts";
export { createDemoSource, type DemoSourceOptions } from "./demo_source.ts";
export {
  createIngestSource,
  type IngestSource,
  type IngestSourceOptions,
} from "./ingest_source.ts";
export { createReplaySource, type ReplaySourceOptions } from "./replay_source.ts";
export type {
  AppendOutcome,
  EventSink,
  SocketEvents,
  SocketTransport,
  SocketUpgrader,
  Source,
  SourceContext,
  SourceStatus,
} from "./types.ts";
export {
  createUpstreamSource,
  type UpstreamSource,
  type UpstreamSourceOptions,
} from "./upstream_source.ts";
