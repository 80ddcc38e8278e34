import type { Logger } from "../log/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { SocketUpgrader, Source } from "./types.ts";

/** How an option's text becomes its value (the configuration's parsers do the work). */
export type SourceOptionType =
  | { readonly kind: "int"; readonly min: number; readonly max: number }
  | { readonly kind: "string" }
  /** Never echoed back, not even in an error message. */
  | { readonly kind: "secret" }
  | { readonly kind: "wsUrl" }
  /** A JSON object, kept as its text. */
  | { readonly kind: "jsonObject" }
  | { readonly kind: "choice"; readonly choices: readonly string[] };

/** One `PHAROS_*` option of a source kind: a row of the configuration table. */
export interface SourceOption<Options> {
  /** The field of the kind's options it sets. */
  readonly field: keyof Options & string;
  readonly env: string;
  /** Command-line flag, without the leading `--`. */
  readonly flag: string;
  readonly type: SourceOptionType;
  readonly description: string;
  /** How README and `--help` show the default, when the value itself says too little. */
  readonly defaultText?: string;
}

/** What building a source needs besides its spec and options. */
export interface SourceBuildDeps {
  /** The instance name (the spec's, else the kind's). */
  readonly name: string;
  readonly clock: Clock;
  /** The kind's own logger (`pharos.sources.<kind>`). */
  readonly log: Logger;
  /** Upgrades a request to a WebSocket (the ws component's `upgradeToSocket`). */
  readonly upgrade: SocketUpgrader;
}

/** A source, or why it cannot be built (each problem one line, naming what to set). */
export type SourceBuild = { readonly source: Source } | { readonly problems: readonly string[] };

/**
 * Everything Pharos knows about one kind of source, in the kind's own folder: its options
 * with their defaults and rules, the spec a stack module or `PHAROS_SOURCES` gives, how to
 * build it, and how it runs in cluster mode. The registry (`registry.ts`) lists the kinds;
 * configuration, pipeline and cluster ask it and never name a kind.
 */
export interface SourceKind<Kind extends string, Options extends object> {
  /** The kind's name: in `PHAROS_SOURCES`, a stack's `sources`, logs and `/status`. */
  readonly kind: Kind;
  /**
   * In cluster mode, runs only on the instance holding the lease, because its events come
   * from one place (a generator, a feed, a file) that one instance reads for all. A source
   * that is not a singleton runs on every instance (producers post to any of them).
   */
  readonly singleton: boolean;
  /** At most one source of this kind per server (it owns a path). */
  readonly unique: boolean;
  /** Its `PHAROS_*` options. */
  readonly options: readonly SourceOption<Options>[];
  readonly defaults: Options;
  /** Problems between its options, given whether `PHAROS_SOURCES` lists the kind. */
  optionProblems(options: Options, listed: boolean): string[];
  /** The spec `PHAROS_SOURCES=<kind>` stands for, made from its options. */
  specOf(options: Options): Readonly<Record<string, unknown>>;
  /** Problems with a spec's own fields (a stack module's), each prefixed with `at`. */
  specProblems(spec: Readonly<Record<string, unknown>>, at: string): string[];
  /** Builds the source from a spec without problems, with the options' defaults. */
  create(
    spec: Readonly<Record<string, unknown>>,
    options: Options,
    deps: SourceBuildDeps,
  ): SourceBuild;
}

/** A problem when `value` is set but not a non-negative integer. */
export function nonNegativeInteger(value: unknown, what: string): string[] {
  return value === undefined || (Number.isInteger(value) && (value as number) >= 0)
    ? []
    : [`${what} must be a non-negative integer`];
}
