import { type Config, ConfigError } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { buildSources, type SocketUpgrader, type Source, sourceSpecs } from "../sources/mod.ts";
import type { SourceSpec, Stack } from "../stack/mod.ts";
import type { Clock } from "../util/mod.ts";

/** What building sources needs besides the specs. */
export interface SourceDeps {
  /** The `sources` slice, and the `pipeline` slice's `requiredSources`. */
  readonly config: Pick<Config, "sources" | "pipeline">;
  readonly clock: Clock;
  readonly log: Logger;
  /** Upgrades WebSocket requests on a source's path (the ws component's `upgradeToSocket`). */
  readonly upgrade: SocketUpgrader;
}

/**
 * The source specs in force: `PHAROS_SOURCES` when set, else the stack module's `sources`,
 * else the registry's default source (the registry says how each kind reads its options).
 */
export function toSourceSpecs(config: Config["sources"], stack: Stack): readonly SourceSpec[] {
  return sourceSpecs(config, stack.sources);
}

/**
 * Builds the sources for `specs`; throws a ConfigError listing every problem (a spec the
 * registry refuses, a required source that is not among them).
 */
export function createConfiguredSources(
  specs: readonly SourceSpec[],
  deps: SourceDeps,
): readonly Source[] {
  const { sources, problems } = buildSources(specs, {
    config: deps.config.sources,
    clock: deps.clock,
    log: deps.log,
    upgrade: deps.upgrade,
  });
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
  return sources;
}
