import { describeDefault, type OptionKind, OPTIONS, type OptionSpec } from "./options.ts";
import { editDistance } from "../util/mod.ts";

/** What the command line asks for. */
export type CommandLine =
  | { readonly kind: "run"; readonly args: readonly string[] }
  | { readonly kind: "help" }
  | { readonly kind: "version" };

const HELP_FLAGS = new Set(["--help", "-h"]);
const VERSION_FLAGS = new Set(["--version", "-V"]);

/**
 * Reads what the command line asks for. A leading `--` is dropped: `deno task start -- …`
 * passes it through to the program. `--help` (`-h`) and `--version` (`-V`) win over every
 * other argument; anything else is left to `parseConfig`.
 */
export function parseCommandLine(args: readonly string[]): CommandLine {
  const rest = args[0] === "--" ? args.slice(1) : args;
  if (rest.some((arg) => HELP_FLAGS.has(arg))) return { kind: "help" };
  if (rest.some((arg) => VERSION_FLAGS.has(arg))) return { kind: "version" };
  return { kind: "run", args: rest };
}

/** How `--help` shows the value each kind of option takes. */
const PLACEHOLDERS: Readonly<Record<OptionKind, string>> = {
  port: "<port>",
  int: "<n>",
  ratio: "<0..1>",
  string: "<text>",
  secret: "<secret>",
  bool: "<0|1>",
  logFilter: "<filter>",
  logFormat: "<text|json>",
  host: "<host>",
  choiceList: "<names>",
  names: "<names>",
  wsUrl: "<ws-url>",
  choice: "<choice>",
  jsonObject: "<json>",
  authMode: "<none|static|jwt>",
  isolation: "<process|inline>",
  secretList: "<tokens>",
  origins: "<origins>",
  redisUrl: "<redis-url>",
  keyPrefix: "<name>",
  cidrs: "<cidrs>",
  algorithms: "<algs>",
  viewPatterns: "<patterns>",
};

/** What `--help` shows for an option's value: its choices when it has them. */
function placeholder(spec: OptionSpec): string {
  if (spec.kind === "choice" && spec.choices !== undefined) return `<${spec.choices.join("|")}>`;
  return PLACEHOLDERS[spec.kind];
}

/** The default as a terminal shows it (README's Markdown without the backticks). */
function plainDefault(spec: OptionSpec): string {
  return describeDefault(spec).replaceAll("`", "");
}

/** Wraps `text` at `width` columns, each line after the first indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.map((l) => indent + l).join("\n");
}

/**
 * `--help`: every option of {@link OPTIONS} (the table README's configuration section is
 * checked against) with its flag, environment variable, default and meaning.
 */
export function helpText(version: string): string {
  const options = OPTIONS.map((spec) => {
    const fallback = spec.fallbackEnv === undefined ? "" : ` (or ${spec.fallbackEnv})`;
    return [
      `  --${spec.flag} ${placeholder(spec)}`,
      `      env ${spec.env}${fallback}; default ${plainDefault(spec)}`,
      wrap(spec.description.replaceAll("`", ""), 96, "      "),
    ].join("\n");
  });
  return [
    `Pharos ${version}: a real-time state server speaking HyperStack's WebSocket protocol.`,
    "",
    "Usage:",
    "  deno task start [-- OPTIONS]        (from a clone of the repository)",
    "  pharos [OPTIONS]                    (the deno compile executable)",
    "",
    "Every option is a flag or an environment variable; a flag wins over its variable.",
    "A flag takes its value as --flag value or --flag=value.",
    "",
    "Options:",
    ...options,
    "  -h, --help",
    "      print this help and exit",
    "  -V, --version",
    "      print the version of Pharos and of Deno, and exit",
    "",
  ].join("\n");
}

/** `--version`: Pharos's version and the runtime's. */
export function versionText(version: string, deno: typeof Deno.version): string {
  return `pharos ${version} (deno ${deno.deno}, v8 ${deno.v8}, typescript ${deno.typescript})\n`;
}

/** The known flag closest to `flag` (without `--`), when one is reasonably close. */
export function closestFlag(flag: string, flags: readonly string[]): string | undefined {
  let best: { flag: string; distance: number } | undefined;
  for (const candidate of flags) {
    const d = editDistance(flag.toLowerCase(), candidate);
    if (best === undefined || d < best.distance) best = { flag: candidate, distance: d };
  }
  // Within a third of the name: `--prot` → `--port`, but `--x` suggests nothing.
  return best !== undefined && best.distance <= Math.max(2, Math.ceil(flag.length / 3))
    ? best.flag
    : undefined;
}

/**
 * Problems with the shape of `args` (flags of {@link OPTIONS} only, each with a value),
 * worded for a person: an unknown flag names the closest valid one.
 */
export function commandLineProblems(args: readonly string[]): string[] {
  const known = new Map(OPTIONS.map((spec) => [spec.flag, spec]));
  const problems: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      problems.push(
        `command line: unexpected argument ${
          JSON.stringify(arg)
        } (options are --flag value; see --help)`,
      );
      continue;
    }
    const equals = arg.indexOf("=");
    const name = arg.slice(2, equals < 0 ? undefined : equals);
    if (!known.has(name)) {
      const near = closestFlag(name, [...known.keys()]);
      problems.push(
        `command line: unknown flag --${name}` +
          (near === undefined ? " (see --help)" : ` (did you mean --${near}?)`),
      );
      if (equals < 0 && args[i + 1] !== undefined && !args[i + 1]!.startsWith("--")) i++;
      continue;
    }
    if (equals >= 0) continue;
    if (args[i + 1] === undefined || args[i + 1]!.startsWith("--")) {
      problems.push(`command line: --${name} needs a value (--${name} <value>)`);
    } else i++;
  }
  return problems;
}
