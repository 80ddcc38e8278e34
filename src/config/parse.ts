import { parseArgs } from "node:util";
import { errorMessage } from "../util/mod.ts";
import { commandLineProblems } from "./cli.ts";
import type { LogFormat } from "../log/mod.ts";
import { type Config, DEFAULT_CONFIG, OPTIONS } from "./options.ts";
import { sourceOptionProblems } from "../sources/mod.ts";
import { isOrigin, list, parseValue } from "./value_parsers.ts";

/** Every problem found in the configuration, reported together. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** One line per invalid option. */
  readonly problems: readonly string[];
  /**
   * The log format asked for, read even though the configuration as a whole is invalid
   * (`text` when that option is absent or invalid itself), so the process reports the
   * error in the format its log shipper parses.
   */
  readonly logFormat: LogFormat;

  constructor(problems: readonly string[], logFormat: LogFormat = "text", options?: ErrorOptions) {
    super(`Invalid configuration:\n  - ${problems.join("\n  - ")}`, options);
    this.problems = problems;
    this.logFormat = logFormat;
  }
}

/** Where configuration comes from: an environment snapshot and command-line arguments. */
export interface ConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly args?: readonly string[];
}

/** The `KEY=ORIGIN` pairs of PHAROS_AUTH_PUBLISHABLE_KEYS, or the problem with them. */
export function parsePublishableKeys(value: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const pair of list(value)) {
    const at = pair.indexOf("=");
    const key = at < 0 ? "" : pair.slice(0, at);
    const origin = at < 0 ? "" : pair.slice(at + 1);
    if (key === "" || /\s/.test(key) || (origin !== "*" && !isOrigin(origin))) {
      throw new TypeError(
        "PHAROS_AUTH_PUBLISHABLE_KEYS: expected comma-separated KEY=ORIGIN pairs (ORIGIN an origin like https://app.example.com, or *)",
      );
    }
    keys.set(key, origin);
  }
  return keys;
}

/** Problems between the authentication options. */
function authProblems({ auth, server }: Config): string[] {
  const problems: string[] = [];
  if (auth.authMode === "static" && auth.tokens.length === 0) {
    problems.push("PHAROS_AUTH=static: set PHAROS_AUTH_TOKENS (no token could connect)");
  }
  if (auth.authMode !== "static" && auth.tokens.length > 0) {
    problems.push("PHAROS_AUTH_TOKENS is set but PHAROS_AUTH is not static");
  }
  if (auth.authMode === "jwt" && auth.publicKeys === "") {
    problems.push("PHAROS_AUTH=jwt: set PHAROS_AUTH_PUBLIC_KEYS (a JWKS file or URL)");
  }
  if (auth.revocationList !== "") {
    if (auth.authMode === "none") {
      problems.push(
        "PHAROS_AUTH_REVOKED is set but PHAROS_AUTH is none (only jwt and static tokens can be revoked)",
      );
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(auth.revocationList)) {
      let url: URL | undefined;
      try {
        url = new URL(auth.revocationList);
      } catch { /* reported below */ }
      if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
        problems.push("PHAROS_AUTH_REVOKED: expected a file path or an http(s) URL");
      }
    }
  }
  if (auth.authMode === "jwt" && auth.privateKey !== "" && !auth.algorithms.includes("EdDSA")) {
    problems.push(
      "PHAROS_AUTH_ALGORITHMS must include EdDSA while PHAROS_AUTH_PRIVATE_KEY is set (the token endpoint signs with it)",
    );
  }
  const endpoint = auth.privateKey !== "" || auth.publishableKeys !== "";
  if (endpoint) {
    if (auth.privateKey === "" || auth.publishableKeys === "") {
      problems.push(
        "the token endpoint needs both PHAROS_AUTH_PRIVATE_KEY and PHAROS_AUTH_PUBLISHABLE_KEYS",
      );
    }
    if (auth.issuer === "") {
      problems.push("the token endpoint needs PHAROS_AUTH_ISSUER (the tokens' iss)");
    }
    if (auth.publishableKeys !== "") {
      try {
        parsePublishableKeys(auth.publishableKeys);
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    if (auth.privateKey !== "") {
      let jwk: unknown;
      try {
        jwk = JSON.parse(auth.privateKey);
      } catch { /* reported below */ }
      const okp = jwk as { kty?: unknown; crv?: unknown; d?: unknown } | undefined;
      if (okp?.kty !== "OKP" || okp.crv !== "Ed25519" || typeof okp.d !== "string") {
        // Never echo the value: it is a private key.
        problems.push("PHAROS_AUTH_PRIVATE_KEY: expected an Ed25519 private JWK as one-line JSON");
      }
    }
  }
  if (server.adminPort >= 0 && server.adminPort === server.port && server.port !== 0) {
    problems.push("PHAROS_ADMIN_PORT must differ from PORT");
  }
  return problems;
}

/** Problems that only show when options are read together. */
function crossCheck(config: Config): string[] {
  const problems = authProblems(config);
  const { kinds } = config.sources;
  // With PHAROS_SOURCES unset the stack module may choose the sources; the app checks those.
  if (kinds.length === 0) return problems;
  problems.push(...sourceOptionProblems(config.sources));
  const unknown = config.pipeline.requiredSources.filter((name) =>
    !(kinds as readonly string[]).includes(name)
  );
  if (unknown.length > 0) {
    problems.push(
      `PHAROS_REQUIRED_SOURCES names ${unknown.join(", ")}, not among PHAROS_SOURCES (${
        kinds.join(", ")
      })`,
    );
  }
  return problems;
}

/** A frozen copy of `object` with `value` at the dotted `path`; the rest stays shared. */
function withValue(object: object, path: readonly string[], value: unknown): object {
  const [key, ...rest] = path;
  const fields = object as Record<string, object>;
  const next = rest.length === 0 ? value : withValue(fields[key!]!, rest, value);
  return Object.freeze({ ...fields, [key!]: next });
}

/**
 * Parses configuration from the environment and flags (flags win), validating every
 * option. Throws one {@link ConfigError} listing every problem; never a partial config.
 */
export function parseConfig(sources: ConfigSources): Config {
  const args = sources.args?.[0] === "--" ? sources.args.slice(1) : [...(sources.args ?? [])];
  const problems = commandLineProblems(args);
  let flags: Record<string, string | boolean | undefined> = {};
  if (problems.length === 0) {
    try {
      const parsed = parseArgs({
        args,
        options: Object.fromEntries(
          OPTIONS.map((spec) => [spec.flag, { type: "string" as const }]),
        ),
        strict: true,
        allowPositionals: false,
      });
      flags = parsed.values as Record<string, string | undefined>;
    } catch (error) {
      // What the shape check above lets through (`--port -1`: a value that looks like a flag).
      problems.push(`command line: ${errorMessage(error)}`);
    }
  }

  let config: Config = DEFAULT_CONFIG;
  for (const spec of OPTIONS) {
    const flag = flags[spec.flag];
    const primary = sources.env[spec.env];
    const fallback = spec.fallbackEnv === undefined ? undefined : sources.env[spec.fallbackEnv];
    const useFallback = (primary === undefined || primary === "") && fallback !== undefined &&
      fallback !== "";
    const env = useFallback ? fallback : primary;
    const envName = useFallback ? spec.fallbackEnv! : spec.env;
    const [raw, origin] = typeof flag === "string"
      ? [flag, `--${spec.flag}`]
      : env !== undefined && env !== ""
      ? [env, envName]
      : [undefined, ""];
    if (raw === undefined) continue;
    try {
      config = withValue(config, spec.path.split("."), parseValue(spec, raw, origin)) as Config;
    } catch (error) {
      problems.push(errorMessage(error));
    }
  }
  if (problems.length === 0) problems.push(...crossCheck(config));
  if (problems.length > 0) throw new ConfigError(problems, config.log.format);
  return config;
}
