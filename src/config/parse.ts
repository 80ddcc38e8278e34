import { parseArgs } from "node:util";
import { type Config, DEFAULT_CONFIG, LOG_LEVELS, type LogLevelName, OPTIONS } from "./options.ts";
import type { OptionSpec } from "./options.ts";

/** Every problem found in the configuration, reported together. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** One line per invalid option. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(`Invalid configuration:\n  - ${problems.join("\n  - ")}`, options);
    this.problems = problems;
  }
}

/** Where configuration comes from: an environment snapshot and command-line arguments. */
export interface ConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly args?: readonly string[];
}

const INTEGER = /^-?\d+$/;

function parseValue(spec: OptionSpec, raw: string, origin: string): unknown {
  const value = raw.trim();
  const where = `${origin}=${JSON.stringify(raw)}`;
  switch (spec.kind) {
    case "port": {
      if (!INTEGER.test(value)) throw new TypeError(`${where}: expected a port number 0-65535`);
      const port = Number(value);
      if (port < 0 || port > 65535) {
        throw new RangeError(`${where}: expected a port number 0-65535`);
      }
      return port;
    }
    case "int": {
      if (!INTEGER.test(value)) throw new TypeError(`${where}: expected an integer`);
      const n = Number(value);
      const min = spec.min ?? Number.MIN_SAFE_INTEGER;
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      if (n < min || n > max) throw new RangeError(`${where}: expected ${min}..${max}`);
      return n;
    }
    case "logLevel": {
      const level = value.toLowerCase() === "warn" ? "warning" : value.toLowerCase();
      if (!(LOG_LEVELS as readonly string[]).includes(level)) {
        throw new TypeError(`${where}: expected one of ${LOG_LEVELS.join(", ")}`);
      }
      return level as LogLevelName;
    }
    case "host": {
      if (value === "" || /\s/.test(value)) throw new TypeError(`${where}: expected a hostname`);
      return value;
    }
    case "string":
      return value;
  }
}

/**
 * Parses configuration from the environment and flags (flags win), validating every
 * option. Throws one {@link ConfigError} listing every problem; never a partial config.
 */
export function parseConfig(sources: ConfigSources): Config {
  const problems: string[] = [];
  const flagOptions = Object.fromEntries(
    OPTIONS.map((spec) => [spec.flag, { type: "string" as const }]),
  );
  let flags: Record<string, string | boolean | undefined> = {};
  try {
    const parsed = parseArgs({
      args: [...(sources.args ?? [])],
      options: flagOptions,
      strict: true,
      allowPositionals: false,
    });
    flags = parsed.values as Record<string, string | undefined>;
  } catch (error) {
    problems.push(`command line: ${error instanceof Error ? error.message : String(error)}`);
  }

  const config: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const spec of OPTIONS) {
    const flag = flags[spec.flag];
    const env = sources.env[spec.env];
    const [raw, origin] = typeof flag === "string"
      ? [flag, `--${spec.flag}`]
      : env !== undefined && env !== ""
      ? [env, spec.env]
      : [undefined, ""];
    if (raw === undefined) continue;
    try {
      config[spec.key] = parseValue(spec, raw, origin);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config) as unknown as Config;
}
