/**
 * What a stack's handlers may reach from their sandbox (the handler host process). Each
 * list becomes the matching Deno flag of the host (`--allow-net=…`, `--allow-env=…`,
 * `--allow-read=…`, `--allow-write=…`); anything not listed is denied (`NotCapable`).
 */
export interface StackPermissions {
  /** Hosts, `host:port` or `[v6]:port`, e.g. `api.example.com:443`. */
  readonly net?: readonly string[];
  /** Environment variable names; a trailing `*` allows a prefix (`PRICE_*`). */
  readonly env?: readonly string[];
  /** Files or directories handlers may read; relative paths are from the server's working directory. */
  readonly read?: readonly string[];
  /** Files or directories handlers may write. */
  readonly write?: readonly string[];
}

/** The permission kinds a stack may declare. */
export const PERMISSION_KINDS = ["net", "env", "read", "write"] as const;

const MAX_ENTRIES = 64;
const HOST =
  /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*)(?::(\d{1,5}))?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;
/** The server's own settings and secrets (`PHAROS_INGEST_TOKEN`, keys) are never a handler's. */
const SERVER_PREFIX = "PHAROS_";

function entryProblem(kind: (typeof PERMISSION_KINDS)[number], entry: string): string | undefined {
  switch (kind) {
    case "net": {
      const match = HOST.exec(entry);
      if (match === null) return "is not a host, host:port or [v6]:port";
      if (match[2] !== undefined && (Number(match[2]) < 1 || Number(match[2]) > 65535)) {
        return "has a port outside 1..65535";
      }
      return undefined;
    }
    case "env": {
      if (!ENV_NAME.test(entry)) {
        return "is not a variable name (letters, digits, _; a trailing * for a prefix)";
      }
      const prefix = entry.endsWith("*") ? entry.slice(0, -1) : undefined;
      const reachesServer = prefix === undefined
        ? entry.startsWith(SERVER_PREFIX)
        : SERVER_PREFIX.startsWith(prefix) || prefix.startsWith(SERVER_PREFIX);
      return reachesServer
        ? "would give handlers the server's own PHAROS_* settings and secrets"
        : undefined;
    }
    default:
      if (entry.length > 4096) return "is longer than 4096 characters";
      return /[,\0\n\r]/.test(entry) ? "contains a comma, NUL or line break" : undefined;
  }
}

/** Every problem with a stack's `permissions` declaration (empty when valid or absent). */
export function validatePermissions(permissions: unknown): string[] {
  if (permissions === undefined) return [];
  if (typeof permissions !== "object" || permissions === null || Array.isArray(permissions)) {
    return ["permissions must be an object { net?, env?, read?, write? } of string lists"];
  }
  const problems: string[] = [];
  for (const [kind, list] of Object.entries(permissions)) {
    const at = `permissions.${kind}`;
    if (!(PERMISSION_KINDS as readonly string[]).includes(kind)) {
      problems.push(
        `${at}: unknown permission; a stack may declare ${PERMISSION_KINDS.join(", ")} ` +
          "(run, ffi and sys would let handlers leave the sandbox)",
      );
      continue;
    }
    if (!Array.isArray(list)) {
      problems.push(`${at}: must be a list of strings, e.g. ["api.example.com:443"]`);
      continue;
    }
    if (list.length > MAX_ENTRIES) problems.push(`${at}: at most ${MAX_ENTRIES} entries`);
    for (const entry of list) {
      if (typeof entry !== "string" || entry === "") {
        problems.push(`${at}: ${JSON.stringify(entry)} must be a non-empty string`);
        continue;
      }
      const problem = entryProblem(kind as (typeof PERMISSION_KINDS)[number], entry);
      if (problem !== undefined) problems.push(`${at}: ${JSON.stringify(entry)} ${problem}`);
    }
  }
  return problems;
}

/** One line for the start-up log: `net=[a:443] env=[KEY]`, or `none`. */
export function describePermissions(permissions: StackPermissions | undefined): string {
  const parts = PERMISSION_KINDS.filter((kind) => (permissions?.[kind]?.length ?? 0) > 0)
    .map((kind) => `${kind}=[${permissions![kind]!.join(",")}]`);
  return parts.length === 0 ? "none" : parts.join(" ");
}
