/**
 * Where events come from: the kinds of source (each in its own folder: the demo generator,
 * the ingest endpoint, an upstream feed, a replay), the registry that lists them for the
 * configuration, the pipeline and the cluster, and the `Source` interface they share.
 * @module
 */
export { type DemoSourceOptions } from "./demo/demo_source.ts";
export { createDemoSource } from "./demo/demo_source.ts";
export { DEMO_DEFAULTS, type DemoOptions } from "./demo/options.ts";
export {
  createIngestSource,
  INGEST_PATH,
  type IngestSource,
  type IngestSourceOptions,
} from "./ingest/ingest_source.ts";
export { INGEST_DEFAULTS, type IngestOptions } from "./ingest/options.ts";
export type { SourceBuildDeps, SourceKind, SourceOption, SourceOptionType } from "./kind.ts";
export {
  buildSources,
  type BuildSourcesDeps,
  DEFAULT_SOURCE_KIND,
  isSingletonKind,
  singletonKindNames,
  SOURCE_KIND_NAMES,
  SOURCE_KINDS,
  type SourceKindName,
  sourceOptionProblems,
  type SourceOptionRow,
  sourceOptionRows,
  SOURCES_DEFAULTS,
  type SourcesConfig,
  sourceSpecs,
} from "./registry.ts";
export {
  REPLAY_DEFAULTS,
  REPLAY_PACES,
  type ReplayOptions,
  type ReplayPace,
} from "./replay/options.ts";
export { createReplaySource, type ReplaySourceOptions } from "./replay/replay_source.ts";
export type {
  AppendOutcome,
  EventSink,
  SocketEvents,
  SocketTransport,
  SocketUpgrader,
  Source,
  SourceContext,
  SourceEndpoint,
  SourceStatus,
} from "./types.ts";
export { type Backoff, type BackoffOptions, createBackoff } from "./upstream/backoff.ts";
export { UPSTREAM_DEFAULTS, type UpstreamOptions } from "./upstream/options.ts";
export {
  createUpstreamSource,
  type UpstreamSource,
  type UpstreamSourceOptions,
} from "./upstream/upstream_source.ts";
