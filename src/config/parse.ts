import { parseArgs } from "node:util";
import { errorMessage, parseCidr } from "../util/mod.ts";
import { AUTH_MODES, type AuthMode, JWS_ALGORITHMS, type JwsAlgorithm } from "./auth_config.ts";
import { commandLineProblems } from "./cli.ts";
import { ISOLATION_MODES, type IsolationMode } from "./vm_config.ts";
import { LOG_FORMATS, type LogFormat, parseLogFilter } from "../log/mod.ts";
import { type Config, DEFAULT_CONFIG, OPTIONS, type OptionSpec } from "./options.ts";
import { sourceOptionProblems } from "../sources/mod.ts";

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

const INTEGER = /^-?\d+$/;

function list(value: string): string[] {
  return value.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

function parseValue(spec: OptionSpec, raw: string, origin: string): unknown {
  const value = raw.trim();
  // Secrets are never echoed back, not even in an error message.
  const where = spec.kind === "secret" || spec.kind === "secretList" || spec.kind === "redisUrl"
    ? origin
    : `${origin}=${JSON.stringify(raw)}`;
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
    case "bool": {
      const lower = value.toLowerCase();
      if (["1", "true", "yes", "on"].includes(lower)) return true;
      if (["0", "false", "no", "off"].includes(lower)) return false;
      throw new TypeError(`${where}: expected 1 or 0 (true/false, yes/no, on/off)`);
    }
    case "logFilter":
      try {
        return parseLogFilter(value);
      } catch (error) {
        throw new SyntaxError(`${where}: ${(error as Error).message}`);
      }
    case "logFormat":
      if (!(LOG_FORMATS as readonly string[]).includes(value)) {
        throw new TypeError(`${where}: expected ${LOG_FORMATS.join(" or ")}`);
      }
      return value as LogFormat;
    case "host": {
      if (value === "" || /\s/.test(value)) throw new TypeError(`${where}: expected a hostname`);
      return value;
    }
    case "string":
      return value;
    case "secret":
      if (/\s/.test(value)) throw new TypeError(`${where}: must not contain whitespace`);
      return value;
    case "choiceList": {
      const choices = spec.choices ?? [];
      const items = list(value);
      const unknown = items.filter((item) => !choices.includes(item));
      if (items.length === 0 || unknown.length > 0) {
        throw new TypeError(`${where}: expected a comma-separated list of ${choices.join(", ")}`);
      }
      if (new Set(items).size !== items.length) {
        throw new TypeError(`${where}: lists a source twice`);
      }
      return Object.freeze(items);
    }
    case "names": {
      const names = list(value);
      const bad = names.filter((name) => !NAME.test(name));
      if (bad.length > 0) throw new TypeError(`${where}: not a source name: ${bad.join(", ")}`);
      return Object.freeze(names);
    }
    case "wsUrl": {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new TypeError(`${where}: expected a ws:// or wss:// URL`);
      }
      if (url.protocol !== "ws:" && url.protocol !== "wss:") {
        throw new TypeError(`${where}: expected a ws:// or wss:// URL`);
      }
      return url.href;
    }
    case "isolation":
      if (!(ISOLATION_MODES as readonly string[]).includes(value)) {
        throw new TypeError(`${where}: expected ${ISOLATION_MODES.join(" or ")}`);
      }
      return value as IsolationMode;
    case "choice": {
      const choices = spec.choices ?? [];
      if (!choices.includes(value)) {
        throw new TypeError(`${where}: expected ${choices.join(" or ")}`);
      }
      return value;
    }
    case "authMode":
      if (!(AUTH_MODES as readonly string[]).includes(value)) {
        throw new TypeError(`${where}: expected ${AUTH_MODES.join(", ")}`);
      }
      return value as AuthMode;
    case "secretList": {
      const items = list(value);
      if (items.length === 0 || items.some((item) => /\s/.test(item))) {
        throw new TypeError(`${where}: expected comma-separated tokens without whitespace`);
      }
      return Object.freeze(items);
    }
    case "origins": {
      const origins = list(value);
      const bad = origins.filter((origin) => !isOrigin(origin));
      if (origins.length === 0 || bad.length > 0) {
        throw new TypeError(
          `${where}: expected comma-separated origins like https://app.example.com (not: ${
            bad.join(", ")
          })`,
        );
      }
      return Object.freeze(origins);
    }
    case "redisUrl": {
      // The URL may carry a password: `where` never echoes it back.
      if (value === "") return "";
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new TypeError(`${where}: expected redis://[user:pass@]host:port[/db] or rediss://…`);
      }
      if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
        throw new TypeError(`${where}: expected a redis:// or rediss:// URL`);
      }
      if (url.hostname === "") throw new TypeError(`${where}: the URL names no host`);
      if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d{1,2}$/.test(url.pathname)) {
        throw new TypeError(`${where}: the path must be a database number (/0 … /15)`);
      }
      return value;
    }
    case "keyPrefix": {
      if (value === "" && spec.path === "cluster.instanceId") return "";
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value)) {
        throw new TypeError(`${where}: expected 1-64 characters of A-Z a-z 0-9 _ . -`);
      }
      return value;
    }
    case "cidrs": {
      const ranges = [];
      for (const item of list(value)) {
        try {
          ranges.push(Object.freeze(parseCidr(item)));
        } catch (error) {
          throw new RangeError(`${where}: ${(error as Error).message}`);
        }
      }
      return Object.freeze(ranges);
    }
    case "algorithms": {
      const algorithms = list(value);
      const bad = algorithms.filter((alg) => !(JWS_ALGORITHMS as readonly string[]).includes(alg));
      if (algorithms.length === 0 || bad.length > 0) {
        throw new TypeError(
          `${where}: expected comma-separated algorithms of ${JWS_ALGORITHMS.join(", ")}`,
        );
      }
      return Object.freeze([...new Set(algorithms)] as JwsAlgorithm[]);
    }
    case "jsonObject": {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new TypeError(`${where}: expected a JSON object`);
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new TypeError(`${where}: expected a JSON object`);
      }
      return value;
    }
  }
}

/** True for a serialised origin: scheme, host and optional port, nothing else. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === value;
  } catch {
    return false;
  }
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
