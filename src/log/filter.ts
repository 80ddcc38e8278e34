import { editDistance } from "../util/mod.ts";
import { closestLogTarget, isLogTarget, type LogTarget } from "./targets.ts";

/** Levels a log filter directive may name, least to most severe, then `off`. */
export const FILTER_LEVELS = [
  "trace",
  "debug",
  "info",
  "warning",
  "error",
  "fatal",
  "off",
] as const;
/** A filter level; `off` disables a target. */
export type FilterLevel = (typeof FILTER_LEVELS)[number];

/** One `target=level` directive; `target` is a dotted category prefix. */
export interface FilterDirective {
  readonly target: readonly string[];
  readonly level: FilterLevel;
}

/**
 * A parsed `RUST_LOG`-style filter: `info`, `pharos.ws=debug`,
 * `info,pharos.projector=debug,pharos.ws=trace`, `off`.
 */
export interface LogFilter {
  /**
   * The filter in force, normalised (`::` → `.`, `warn` → `warning`), without the
   * ignored directives.
   */
  readonly spec: string;
  /** Directives left out because Pharos has no such target (empty when none was). */
  readonly ignored: readonly IgnoredTarget[];
  /** Level for categories no directive matches. */
  readonly defaultLevel: FilterLevel;
  /** Target directives, most specific first. */
  readonly directives: readonly FilterDirective[];
  /** The most verbose level any category may log at (`off` when all are off). */
  readonly lowestLevel: FilterLevel;
  /** The level in force for a category: the longest matching target wins. */
  levelFor(category: readonly string[]): FilterLevel;
  /** True when a record of `level` in `category` passes. */
  allows(category: readonly string[], level: string): boolean;
}

/** A directive the filter left out: its target is none Pharos logs under. */
export interface IgnoredTarget {
  /** The target as written (normalised: `::` → `.`). */
  readonly target: string;
  /** The known target closest to it, for the warning or the refusal that names it. */
  readonly closest: LogTarget;
}

// A target is a dotted name (Rust's `::` becomes `.`); whether Pharos has it is checked apart.
const TARGET = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/;
const ALIASES: Record<string, FilterLevel> = { warn: "warning", err: "error", none: "off" };
const LEVEL_WORDS = [...FILTER_LEVELS, ...Object.keys(ALIASES)];
const LEVEL_LIST = FILTER_LEVELS.map((level) => level === "warning" ? "warn" : level).join(", ");

function toLevel(word: string): FilterLevel | undefined {
  const lower = word.toLowerCase();
  if ((FILTER_LEVELS as readonly string[]).includes(lower)) return lower as FilterLevel;
  return ALIASES[lower];
}

/**
 * The level a bare word is a typo of, one edit away (`debg`, `infoo`, `errors`). In the
 * grammar a bare word is a target, and an unknown target is only ignored, so `PHAROS_LOG=debg`
 * would otherwise start quietly at info.
 */
function mistypedLevel(word: string): string | undefined {
  const lower = word.toLowerCase();
  if (lower.includes(".") || lower.includes(":")) return undefined;
  return LEVEL_WORDS.find((level) => editDistance(lower, level) <= 1);
}

const rank = (level: string): number => {
  const at = (FILTER_LEVELS as readonly string[]).indexOf(level);
  return at < 0 ? FILTER_LEVELS.length : at;
};

/**
 * Parses the `RUST_LOG` grammar: comma-separated directives, each a level (the default
 * for everything), `target=level`, or a bare `target` (everything from that target).
 * Targets are dotted categories (`pharos.ws`; Rust's `::` works too); without a bare level
 * the default is `info`.
 *
 * A well-formed target Pharos does not log under ({@link LOG_TARGETS}: `hyper=warn` or
 * `hyperstack_server=debug` from a shared `RUST_LOG`) is left out and listed in `ignored`
 * with the closest known target. A malformed target, an unknown level, or a bare word one
 * edit from a level (`debg`) throws a `SyntaxError` naming every bad directive.
 */
export function parseLogFilter(spec: string): LogFilter {
  const problems: string[] = [];
  const ignored = new Map<string, IgnoredTarget>();
  let defaultLevel: FilterLevel | undefined;
  const byTarget = new Map<string, FilterLevel>();
  const addTarget = (target: string, level: FilterLevel) => {
    if (isLogTarget(target)) byTarget.set(target, level);
    else ignored.set(target, { target, closest: closestLogTarget(target) });
  };
  for (const raw of spec.split(",")) {
    const directive = raw.trim();
    if (directive === "") continue;
    const eq = directive.indexOf("=");
    if (eq < 0) {
      const level = toLevel(directive);
      const target = directive.replaceAll("::", ".");
      const near = level === undefined ? mistypedLevel(directive) : undefined;
      if (level !== undefined) defaultLevel = level;
      else if (near !== undefined) {
        problems.push(
          `"${directive}": unknown level (did you mean ${near}? use ${LEVEL_LIST}, ` +
            `or ${directive}=trace for a target of that name)`,
        );
      } else if (TARGET.test(target)) addTarget(target, "trace");
      else problems.push(`"${directive}" is neither a level nor a target such as pharos.ws`);
      continue;
    }
    const target = directive.slice(0, eq).trim().replaceAll("::", ".");
    const word = directive.slice(eq + 1).trim();
    const level = toLevel(word);
    if (!TARGET.test(target)) {
      problems.push(`"${directive}": "${target}" is not a target such as pharos.ws`);
    } else if (level === undefined) {
      problems.push(`"${directive}": unknown level "${word}" (use ${LEVEL_LIST})`);
    } else addTarget(target, level);
  }
  if (problems.length > 0) {
    throw new SyntaxError(`Invalid log filter: ${problems.join("; ")}`);
  }
  const directives = [...byTarget]
    .map(([target, level]) => ({ target: target.split("."), level }))
    .sort((a, b) => b.target.length - a.target.length);
  const fallback = defaultLevel ?? "info";
  const lowestLevel = [fallback, ...directives.map((d) => d.level)]
    .reduce((a, b) => rank(a) <= rank(b) ? a : b);

  function levelFor(category: readonly string[]): FilterLevel {
    for (const directive of directives) {
      if (directive.target.length > category.length) continue;
      if (directive.target.every((segment, i) => category[i] === segment)) return directive.level;
    }
    return fallback;
  }

  const normalised = [
    ...(defaultLevel === undefined ? [] : [defaultLevel]),
    ...[...byTarget].map(([target, level]) => `${target}=${level}`),
  ].join(",");
  return {
    spec: normalised === "" ? fallback : normalised,
    ignored: [...ignored.values()],
    defaultLevel: fallback,
    directives,
    lowestLevel,
    levelFor,
    allows(category, level) {
      const threshold = levelFor(category);
      return threshold !== "off" && rank(level) >= rank(threshold);
    },
  };
}

/**
 * The ignored targets for a person: `hyper (closest known target: pharos.http), tokio (…)`.
 */
export function describeIgnored(ignored: readonly IgnoredTarget[]): string {
  return ignored.map(({ target, closest }) => `${target} (closest known target: ${closest})`)
    .join(", ");
}
