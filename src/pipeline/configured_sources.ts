import { type Config, ConfigError, type SourcesConfig } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  createDemoSource,
  createIngestSource,
  createReplaySource,
  createUpstreamSource,
  type IngestSource,
  type SocketUpgrader,
  type Source,
} from "../sources/mod.ts";
import type { SourceSpec, Stack } from "../stack/mod.ts";
import type { Clock } from "../util/mod.ts";

/** The sources an app runs, and the ingest endpoint among them if any. */
export interface ConfiguredSources {
  readonly sources: readonly Source[];
  readonly ingest?: IngestSource;
}

/** What building sources needs besides the specs. */
export interface SourceDeps {
  /** The `sources` slice, and the `pipeline` slice's `requiredSources`. */
  readonly config: Pick<Config, "sources" | "pipeline">;
  readonly clock: Clock;
  readonly log: Logger;
  /** Upgrades WebSocket ingest requests (the ws component's `upgradeToSocket`). */
  readonly upgrade: SocketUpgrader;
}

/**
 * The source specs in force: `PHAROS_SOURCES` when set (one source per kind, named after
 * it, configured by the other `PHAROS_*` options), else the stack module's `sources`,
 * else the demo source.
 */
export function toSourceSpecs(config: SourcesConfig, stack: Stack): readonly SourceSpec[] {
  const { kinds, upstream, replay } = config;
  if (kinds.length === 0) return stack.sources ?? [{ kind: "demo" }];
  return kinds.map((kind): SourceSpec => {
    switch (kind) {
      case "demo":
        return { kind };
      case "ingest":
        return { kind };
      case "upstream":
        return {
          kind,
          url: upstream.url,
          ...(upstream.token === "" ? {} : { token: upstream.token }),
          ...(upstream.subscribe === "" ? {} : { subscribe: JSON.parse(upstream.subscribe) }),
        };
      case "replay":
        return { kind, file: replay.file, pace: replay.pace };
    }
  });
}

/** Builds the sources for `specs`; throws a ConfigError listing what is missing. */
export function createConfiguredSources(
  specs: readonly SourceSpec[],
  deps: SourceDeps,
): ConfiguredSources {
  const { clock } = deps;
  const { demo, ingest: ingestConfig, replay } = deps.config.sources;
  const problems: string[] = [];
  const sources: Source[] = [];
  let ingest: IngestSource | undefined;
  for (const spec of specs) {
    const name = spec.name ?? spec.kind;
    // One target per kind (`pharos.sources.upstream`), as the folders are; each line names
    // its source in the `source` field.
    const log = deps.log.getChild(spec.kind);
    switch (spec.kind) {
      case "demo":
        sources.push(createDemoSource({
          clock,
          log,
          name,
          ratePerSecond: spec.ratePerSecond ?? demo.ratePerSecond,
          keys: spec.keys ?? demo.keys,
        }));
        break;
      case "ingest":
        if (ingestConfig.token === "") {
          problems.push(
            `source "${name}" is ingest: set PHAROS_INGEST_TOKEN (ingest is never open)`,
          );
          break;
        }
        ingest = createIngestSource({
          name,
          ...ingestConfig,
          clock,
          log,
          upgrade: deps.upgrade,
        });
        sources.push(ingest);
        break;
      case "upstream":
        sources.push(createUpstreamSource({
          name,
          url: spec.url,
          clock,
          log,
          ...(spec.token === undefined ? {} : { token: spec.token }),
          ...(spec.headers === undefined ? {} : { headers: spec.headers }),
          ...(spec.subscribe === undefined ? {} : { subscribe: JSON.stringify(spec.subscribe) }),
        }));
        break;
      case "replay":
        sources.push(createReplaySource({
          name,
          file: spec.file,
          pace: spec.pace ?? replay.pace,
          clock,
          log,
        }));
        break;
    }
  }
  const names = new Set(sources.map((source) => source.name));
  const unknown = deps.config.pipeline.requiredSources.filter((name) => !names.has(name));
  if (unknown.length > 0) {
    problems.push(
      `PHAROS_REQUIRED_SOURCES names ${unknown.join(", ")}, not among the sources (${
        [...names].join(", ")
      })`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return ingest === undefined ? { sources } : { sources, ingest };
}
