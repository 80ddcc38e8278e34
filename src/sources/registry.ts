import type { Logger } from "../log/mod.ts";
import type { SourceSpec } from "../stack/mod.ts";
import type { Clock } from "../util/mod.ts";
import { demoKind } from "./demo/kind.ts";
import { ingestKind } from "./ingest/kind.ts";
import type { SourceKind, SourceOption } from "./kind.ts";
import { replayKind } from "./replay/kind.ts";
import type { SocketUpgrader, Source } from "./types.ts";
import { upstreamKind } from "./upstream/kind.ts";

/**
 * Every kind of source, in the order README lists them. A new kind is a folder beside these
 * (its options, factory and `kind.ts`), one line here, and its README section.
 */
export const SOURCE_KINDS = [demoKind, ingestKind, upstreamKind, replayKind] as const;

/** The kind that runs when neither `PHAROS_SOURCES` nor the stack module chooses. */
export const DEFAULT_SOURCE_KIND = demoKind.kind;

type AnyKind = (typeof SOURCE_KINDS)[number];
/** The name of a kind of source (`demo`, `ingest`, …). */
export type SourceKindName = AnyKind["kind"];
type OptionsOf<K> = K extends SourceKind<string, infer Options> ? Options : never;

/** Which sources run, and each kind's options: the configuration's `sources` slice. */
export type SourcesConfig =
  & {
    /**
     * `PHAROS_SOURCES`: one source per kind, named after it. Empty means not set: the stack
     * module's sources run, else the demo source.
     */
    readonly kinds: readonly SourceKindName[];
  }
  & { readonly [K in AnyKind as K["kind"]]: OptionsOf<K> };

/** The `sources` slice's defaults: no `PHAROS_SOURCES`, each kind's own defaults. */
export const SOURCES_DEFAULTS: SourcesConfig = Object.freeze({
  kinds: Object.freeze([]),
  ...Object.fromEntries(SOURCE_KINDS.map((kind) => [kind.kind, kind.defaults])),
}) as unknown as SourcesConfig;

/** The kinds' names, in registry order. */
export const SOURCE_KIND_NAMES: readonly SourceKindName[] = Object.freeze(
  SOURCE_KINDS.map((kind) => kind.kind),
);

/** A kind as the registry hands it out, its options seen as a plain record. */
type RegisteredKind = SourceKind<SourceKindName, Record<string, unknown>>;

const BY_NAME: ReadonlyMap<string, RegisteredKind> = new Map(
  SOURCE_KINDS.map((kind) => [kind.kind, kind as unknown as RegisteredKind]),
);

/** One kind's option, with where it goes in the configuration (`sources.<kind>.<field>`). */
export interface SourceOptionRow {
  readonly path: string;
  readonly option: SourceOption<Record<string, unknown>>;
}

/** Every kind's options, kind by kind in registry order. */
export function sourceOptionRows(): SourceOptionRow[] {
  return [...BY_NAME.values()].flatMap((kind) =>
    kind.options.map((option) => ({ path: `sources.${kind.kind}.${option.field}`, option }))
  );
}

/** The kinds whose sources run only on the cluster's lease holder. */
export function singletonKindNames(): SourceKindName[] {
  return [...BY_NAME.values()].filter((kind) => kind.singleton).map((kind) => kind.kind);
}

/** Whether a source of `kind` runs only on the cluster's lease holder (unknown kinds: yes). */
export function isSingletonKind(kind: string): boolean {
  return BY_NAME.get(kind)?.singleton ?? true;
}

const optionsOf = (config: SourcesConfig, kind: RegisteredKind) =>
  (config as unknown as Record<string, Record<string, unknown>>)[kind.kind]!;

/**
 * Problems between `PHAROS_SOURCES` and the kinds' options. None when `PHAROS_SOURCES` is
 * unset: the stack module may choose the sources, checked as they are built.
 */
export function sourceOptionProblems(config: SourcesConfig): string[] {
  if (config.kinds.length === 0) return [];
  return [...BY_NAME.values()].flatMap((kind) =>
    kind.optionProblems(optionsOf(config, kind), config.kinds.includes(kind.kind))
  );
}

/**
 * The source specs in force: `PHAROS_SOURCES` when set (one source per kind, named after
 * it, configured by the kinds' `PHAROS_*` options), else the stack module's, else the demo
 * source.
 */
export function sourceSpecs(
  config: SourcesConfig,
  stackSources: readonly SourceSpec[] | undefined,
): readonly SourceSpec[] {
  if (config.kinds.length === 0) return stackSources ?? [{ kind: DEFAULT_SOURCE_KIND }];
  return config.kinds.map((name): SourceSpec => {
    const kind = BY_NAME.get(name)!;
    return { kind: name, ...kind.specOf(optionsOf(config, kind)) };
  });
}

/** What building sources needs besides their specs. */
export interface BuildSourcesDeps {
  /** Each kind's options (the defaults a spec leaves to them). */
  readonly config: SourcesConfig;
  readonly clock: Clock;
  /** `pharos.sources`: each kind logs under `pharos.sources.<kind>`. */
  readonly log: Logger;
  readonly upgrade: SocketUpgrader;
}

/** Builds the sources of `specs`, or lists every problem with them (a spec's index names it). */
export function buildSources(
  specs: readonly SourceSpec[],
  deps: BuildSourcesDeps,
): { readonly sources: Source[]; readonly problems: string[] } {
  const sources: Source[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  specs.forEach((spec, i) => {
    const at = `source ${i}`;
    const kind = BY_NAME.get(spec.kind);
    if (kind === undefined) {
      problems.push(`${at}: kind must be one of ${SOURCE_KIND_NAMES.join(", ")}`);
      return;
    }
    if (kind.unique && seen.has(kind.kind)) {
      problems.push(`${at}: only one ${kind.kind} source`);
      return;
    }
    seen.add(kind.kind);
    const specProblems = kind.specProblems(spec, at);
    if (specProblems.length > 0) {
      problems.push(...specProblems);
      return;
    }
    const built = kind.create(spec, optionsOf(deps.config, kind), {
      name: spec.name ?? kind.kind,
      clock: deps.clock,
      // One target per kind (`pharos.sources.upstream`), as the folders are; each line
      // names its source in the `source` field.
      log: deps.log.getChild(kind.kind),
      upgrade: deps.upgrade,
    });
    if ("problems" in built) problems.push(...built.problems);
    else sources.push(built.source);
  });
  return { sources, problems };
}
