/** Source kinds `PHAROS_SOURCES` may list. */
export const SOURCE_KINDS = ["demo", "ingest", "upstream", "replay"] as const;
/** A source kind. */
export type SourceKind = (typeof SOURCE_KINDS)[number];
/** Replay pace: as recorded (event timestamps) or as fast as the pipeline takes them. */
export type ReplayPace = "recorded" | "fast";

/** The demo source, named as `createDemoSource`'s options. */
export interface DemoConfig {
  /**
   * `PHAROS_DEMO_RATE`: events per second; 0 pauses the generator.
   * @default {10}
   */
  readonly ratePerSecond: number;
  /**
   * `PHAROS_DEMO_KEYS`: distinct mints the demo source cycles through.
   * @default {20}
   */
  readonly keys: number;
}

/** The ingest source, named as `createIngestSource`'s options. */
export interface IngestConfig {
  /**
   * `PHAROS_INGEST_TOKEN`: bearer token for `/ingest`; empty means not set.
   * @default {""}
   */
  readonly token: string;
  /**
   * `PHAROS_INGEST_MAX_BYTES`: largest POST body and WebSocket ingest message.
   * @default {1048576}
   */
  readonly maxBodyBytes: number;
}

/** The upstream source, named as `createUpstreamSource`'s options; empty means not set. */
export interface UpstreamConfig {
  /**
   * `PHAROS_UPSTREAM_URL`: ws:// or wss:// URL of the upstream feed.
   * @default {""}
   */
  readonly url: string;
  /**
   * `PHAROS_UPSTREAM_TOKEN`: sent as `Authorization: Bearer`.
   * @default {""}
   */
  readonly token: string;
  /**
   * `PHAROS_UPSTREAM_SUBSCRIBE`: JSON object sent on every (re)connect.
   * @default {""}
   */
  readonly subscribe: string;
}

/** The replay source, named as `createReplaySource`'s options. */
export interface ReplayConfig {
  /**
   * `PHAROS_REPLAY_FILE`: NDJSON file of events; empty means not set.
   * @default {""}
   */
  readonly file: string;
  /**
   * `PHAROS_REPLAY_PACE`: as the events' timestamps say, or as fast as the pipeline takes them.
   * @default {"recorded"}
   */
  readonly pace: ReplayPace;
}

/** Which sources run and how each kind is configured. */
export interface SourcesConfig {
  /**
   * `PHAROS_SOURCES`: one source per kind, named after it. Empty means not set: the stack module's
   * sources run, else the demo source.
   * @default {[]}
   */
  readonly kinds: readonly SourceKind[];
  /** The `demo` source. */
  readonly demo: DemoConfig;
  /** The `ingest` source (`POST /ingest` and WebSocket `/ingest`). */
  readonly ingest: IngestConfig;
  /** The `upstream` source. */
  readonly upstream: UpstreamConfig;
  /** The `replay` source. */
  readonly replay: ReplayConfig;
}

/** Defaults of the `sources` slice. */
export const SOURCES_DEFAULTS: SourcesConfig = Object.freeze({
  kinds: Object.freeze([] as SourceKind[]),
  demo: Object.freeze({ ratePerSecond: 10, keys: 20 }),
  ingest: Object.freeze({ token: "", maxBodyBytes: 1024 * 1024 }),
  upstream: Object.freeze({ url: "", token: "", subscribe: "" }),
  replay: Object.freeze({ file: "", pace: "recorded" }),
});
