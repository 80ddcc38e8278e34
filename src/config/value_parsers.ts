import { type Cidr, parseCidr, ViewGrant } from "../util/mod.ts";
import { AUTH_MODES, type AuthMode, JWS_ALGORITHMS, type JwsAlgorithm } from "./auth_config.ts";
import { ISOLATION_MODES, type IsolationMode } from "./vm_config.ts";
import { LOG_FORMATS, type LogFormat, parseLogFilter } from "../log/mod.ts";
import type { OptionKind, OptionSpec } from "./options.ts";

/**
 * Turns an option's trimmed value into its typed value, or throws naming the option by
 * `where` (which, for a secret, leaves the value out).
 */
type ValueParser = (value: string, where: string, spec: OptionSpec) => unknown;

const INTEGER = /^-?\d+$/;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The items of a comma-separated list, trimmed, empty ones left out. */
export function list(value: string): string[] {
  return value.split(",").map((item) => item.trim()).filter((item) => item !== "");
}

/** True for a serialised origin: scheme, host and optional port, nothing else. */
export function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === value;
  } catch {
    return false;
  }
}

/** Kinds whose values may hold a password or token. */
const SECRET_KINDS: ReadonlySet<OptionKind> = new Set(["secret", "secretList", "redisUrl"]);

/** Parses one option's raw value (from `origin`: an environment variable or a flag). */
export function parseValue(spec: OptionSpec, raw: string, origin: string): unknown {
  const value = raw.trim();
  // Secrets are never echoed back, not even in an error message.
  const where = SECRET_KINDS.has(spec.kind) ? origin : `${origin}=${JSON.stringify(raw)}`;
  return VALUE_PARSERS[spec.kind](value, where, spec);
}

function parsePort(value: string, where: string): number {
  if (!INTEGER.test(value)) throw new TypeError(`${where}: expected a port number 0-65535`);
  const port = Number(value);
  if (port < 0 || port > 65535) {
    throw new RangeError(`${where}: expected a port number 0-65535`);
  }
  return port;
}

function parseInteger(value: string, where: string, spec: OptionSpec): number {
  if (!INTEGER.test(value)) throw new TypeError(`${where}: expected an integer`);
  const n = Number(value);
  const min = spec.min ?? Number.MIN_SAFE_INTEGER;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  if (n < min || n > max) throw new RangeError(`${where}: expected ${min}..${max}`);
  return n;
}

function parseBool(value: string, where: string): boolean {
  const lower = value.toLowerCase();
  if (["1", "true", "yes", "on"].includes(lower)) return true;
  if (["0", "false", "no", "off"].includes(lower)) return false;
  throw new TypeError(`${where}: expected 1 or 0 (true/false, yes/no, on/off)`);
}

/** `value` when it is one of `choices`; the error lists them joined by `separator`. */
function checkChoice<T extends string>(
  value: string,
  where: string,
  choices: readonly T[],
  separator: string,
): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new TypeError(`${where}: expected ${choices.join(separator)}`);
  }
  return value as T;
}

function parseChoiceList(value: string, where: string, spec: OptionSpec): readonly string[] {
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

function parseNames(value: string, where: string): readonly string[] {
  const names = list(value);
  const bad = names.filter((name) => !NAME.test(name));
  if (bad.length > 0) throw new TypeError(`${where}: not a source name: ${bad.join(", ")}`);
  return Object.freeze(names);
}

function parseWsUrl(value: string, where: string): string {
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

function parseSecretList(value: string, where: string): readonly string[] {
  const items = list(value);
  if (items.length === 0 || items.some((item) => /\s/.test(item))) {
    throw new TypeError(`${where}: expected comma-separated tokens without whitespace`);
  }
  return Object.freeze(items);
}

function parseViewPatterns(value: string, where: string): readonly string[] {
  const patterns = list(value);
  const grant = ViewGrant.parse(patterns);
  if (patterns.length === 0 || !(grant instanceof ViewGrant)) {
    const problems = grant instanceof ViewGrant ? ["no pattern"] : grant.problems;
    throw new TypeError(
      `${where}: expected comma-separated view patterns like Token/list or Order/* (${
        problems.join("; ")
      })`,
    );
  }
  return Object.freeze(grant.patterns);
}

function parseOrigins(value: string, where: string): readonly string[] {
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

function parseRedisUrl(value: string, where: string): string {
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

function parseKeyPrefix(value: string, where: string, spec: OptionSpec): string {
  if (value === "" && spec.path === "cluster.instanceId") return "";
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value)) {
    throw new TypeError(`${where}: expected 1-64 characters of A-Z a-z 0-9 _ . -`);
  }
  return value;
}

function parseCidrs(value: string, where: string): readonly Cidr[] {
  const ranges: Cidr[] = [];
  for (const item of list(value)) {
    try {
      ranges.push(Object.freeze(parseCidr(item)));
    } catch (error) {
      throw new RangeError(`${where}: ${(error as Error).message}`);
    }
  }
  return Object.freeze(ranges);
}

function parseAlgorithms(value: string, where: string): readonly JwsAlgorithm[] {
  const algorithms = list(value);
  const bad = algorithms.filter((alg) => !(JWS_ALGORITHMS as readonly string[]).includes(alg));
  if (algorithms.length === 0 || bad.length > 0) {
    throw new TypeError(
      `${where}: expected comma-separated algorithms of ${JWS_ALGORITHMS.join(", ")}`,
    );
  }
  return Object.freeze([...new Set(algorithms)] as JwsAlgorithm[]);
}

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:e-?\d+)?$/i;

/** A share from 0 to 1, as a decimal (`0.01`, `1e-3`). */
function parseRatio(value: string, where: string): number {
  const ratio = DECIMAL.test(value) ? Number(value) : NaN;
  if (!(ratio >= 0 && ratio <= 1)) throw new TypeError(`${where}: expected a ratio from 0 to 1`);
  return ratio;
}

/** The JSON text itself, once it is known to hold an object. */
function parseJsonObject(value: string, where: string): string {
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

/** How each kind of option reads its value. */
const VALUE_PARSERS: { readonly [Kind in OptionKind]: ValueParser } = {
  port: parsePort,
  int: parseInteger,
  ratio: parseRatio,
  bool: parseBool,
  logFilter: (value, where) => {
    try {
      return parseLogFilter(value);
    } catch (error) {
      throw new SyntaxError(`${where}: ${(error as Error).message}`);
    }
  },
  logFormat: (value, where): LogFormat => checkChoice(value, where, LOG_FORMATS, " or "),
  host: (value, where) => {
    if (value === "" || /\s/.test(value)) throw new TypeError(`${where}: expected a hostname`);
    return value;
  },
  string: (value) => value,
  secret: (value, where) => {
    if (/\s/.test(value)) throw new TypeError(`${where}: must not contain whitespace`);
    return value;
  },
  choiceList: parseChoiceList,
  names: parseNames,
  wsUrl: parseWsUrl,
  isolation: (value, where): IsolationMode => checkChoice(value, where, ISOLATION_MODES, " or "),
  choice: (value, where, spec) => checkChoice(value, where, spec.choices ?? [], " or "),
  authMode: (value, where): AuthMode => checkChoice(value, where, AUTH_MODES, ", "),
  secretList: parseSecretList,
  origins: parseOrigins,
  redisUrl: parseRedisUrl,
  keyPrefix: parseKeyPrefix,
  cidrs: parseCidrs,
  algorithms: parseAlgorithms,
  viewPatterns: parseViewPatterns,
  jsonObject: parseJsonObject,
};
