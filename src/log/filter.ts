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
  /** The filter as written (normalised: `::` → `.`, `warn` → `warning`). */
  readonly spec: string;
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

// Every Pharos record is under `pharos`, so a target elsewhere can only be a typo
// (`PHAROS_LOG=loud`, `pharo.ws=debug`): refuse it rather than filter nothing.
const TARGET = /^pharos(\.[A-Za-z_][A-Za-z0-9_-]*)*$/;
const ALIASES: Record<string, FilterLevel> = { warn: "warning", err: "error", none: "off" };

function toLevel(word: string): FilterLevel | undefined {
  const lower = word.toLowerCase();
  if ((FILTER_LEVELS as readonly string[]).includes(lower)) return lower as FilterLevel;
  return ALIASES[lower];
}

const rank = (level: string): number => {
  const at = (FILTER_LEVELS as readonly string[]).indexOf(level);
  return at < 0 ? FILTER_LEVELS.length : at;
};

/**
 * Parses the `RUST_LOG` grammar: comma-separated directives, each a level (the default
 * for everything), `target=level`, or a bare `target` (everything from that target).
 * Targets are dotted categories under `pharos` (`pharos.ws`; Rust's `::` works too).
 * Without a bare level the
 * default is `info`. Throws a `SyntaxError` naming every bad directive.
 */
export function parseLogFilter(spec: string): LogFilter {
  const problems: string[] = [];
  let defaultLevel: FilterLevel | undefined;
  const byTarget = new Map<string, FilterLevel>();
  for (const raw of spec.split(",")) {
    const directive = raw.trim();
    if (directive === "") continue;
    const eq = directive.indexOf("=");
    if (eq < 0) {
      const level = toLevel(directive);
      if (level !== undefined) {
        defaultLevel = level;
        continue;
      }
      const target = directive.replaceAll("::", ".");
      if (TARGET.test(target)) byTarget.set(target, "trace");
      else problems.push(`"${directive}" is neither a level nor a pharos.* target`);
      continue;
    }
    const target = directive.slice(0, eq).trim().replaceAll("::", ".");
    const word = directive.slice(eq + 1).trim();
    const level = toLevel(word);
    if (!TARGET.test(target)) {
      problems.push(`"${directive}": "${target}" is not a pharos.* target`);
    } else if (level === undefined) {
      problems.push(`"${directive}": unknown level "${word}" (use ${FILTER_LEVELS.join(", ")})`);
    } else byTarget.set(target, level);
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
