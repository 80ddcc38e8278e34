/**
 * A strict-enough parser of the Prometheus text exposition format,
 * grouping `_bucket`/`_sum`/`_count` samples under their histogram.
 */

/** One sample line. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One metric family: `# TYPE` plus its samples. */
export interface Family {
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses exposition text into families by name; throws on a line it cannot read. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let found = families.get(name);
    if (found === undefined) {
      found = { type: "untyped", help: "", samples: [] };
      families.set(name, found);
    }
    return found;
  };
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const meta = /^# (HELP|TYPE|UNIT) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta;
      if (kind === "TYPE") families.set(name!, { ...family(name!), type: rest! });
      if (kind === "HELP") families.set(name!, { ...family(name!), help: rest! });
      continue;
    }
    if (line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (match === null) {
      throw new SyntaxError(`Cannot parse exposition line ${JSON.stringify(line)}`);
    }
    const [, name, rawLabels, rawValue] = match;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (rawLabels ?? "").matchAll(LABEL)) labels[key!] = value!;
    const value = rawValue === "+Inf" ? Infinity : Number(rawValue);
    const base = /_(bucket|sum|count)$/.test(name!) &&
        families.get(name!.replace(/_(bucket|sum|count)$/, ""))?.type === "histogram"
      ? name!.replace(/_(bucket|sum|count)$/, "")
      : name!;
    family(base).samples.push({ name: name!, labels, value });
  }
  return families;
}
