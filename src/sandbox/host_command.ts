import { PERMISSION_KINDS, type StackPermissions } from "../stack/mod.ts";
import { HOST_FLAG, type HostSettings } from "./protocol.ts";

/** Which module the host loads its stack from. */
export interface StackModule {
  /** Module URL (`file:`, `https:`, …). */
  readonly url: string;
  /** The export holding the stack: `default` for user modules. */
  readonly exportName: string;
}

/** Everything that decides how a host process is started. */
export interface HostSpec {
  readonly module: StackModule;
  readonly settings: HostSettings;
  /** The stack's declared permissions; the host gets these and nothing else. */
  readonly permissions: StackPermissions | undefined;
  /** V8 heap limit of the host, MiB. */
  readonly memoryMb: number;
  /** `deno.json` whose import map the stack module needs; none when undefined. */
  readonly configPath: string | undefined;
  /** The server's environment: the host gets only what Deno needs plus the declared names. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Start the host with `sys`, which its prelude uses to open an inspector session for CPU
   * profiles and then revokes before the stack module runs (see `host_inspector.ts`).
   * Default false.
   */
  readonly inspector?: boolean;
}

/** A resolved `Deno.Command` invocation. */
export interface HostLaunch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
}

/**
 * What Deno itself needs to find its cache and load the stack's modules (a registry or a
 * proxy); handlers still cannot read these without a declared `env` permission.
 */
const RUNTIME_ENV = [
  "HOME",
  "DENO_DIR",
  "XDG_CACHE_HOME",
  "TZ",
  "LANG",
  "NPM_CONFIG_REGISTRY",
  "DENO_CERT",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
];

function hostEnv(spec: HostSpec, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...extra };
  for (const name of RUNTIME_ENV) {
    const value = spec.env[name];
    if (value !== undefined) env[name] = value;
  }
  for (const allowed of spec.permissions?.env ?? []) {
    const prefix = allowed.endsWith("*") ? allowed.slice(0, -1) : undefined;
    for (const [name, value] of Object.entries(spec.env)) {
      if (prefix === undefined ? name === allowed : name.startsWith(prefix)) env[name] = value;
    }
  }
  return env;
}

/** `--allow-net=a,b` etc. for each declared kind with entries. */
export function permissionFlags(permissions: StackPermissions | undefined): string[] {
  const flags: string[] = [];
  for (const kind of PERMISSION_KINDS) {
    const entries = permissions?.[kind] ?? [];
    if (entries.length > 0) flags.push(`--allow-${kind}=${entries.join(",")}`);
  }
  return flags;
}

/**
 * The host's entry module, as a `data:` URL: modules a main module imports statically are
 * loaded without read permission, so the host needs none for its own code. The prelude
 * comes first so the stack module's top-level `console` calls are captured too.
 */
function entryModule(spec: HostSpec): string {
  const prelude = new URL("./host_prelude.ts", import.meta.url).href;
  const main = new URL("./host_main.ts", import.meta.url).href;
  const code = [
    `import ${JSON.stringify(prelude)};`,
    `import * as stack from ${JSON.stringify(spec.module.url)};`,
    `import { runHost } from ${JSON.stringify(main)};`,
    `await runHost(stack, ${JSON.stringify(spec.module.exportName)}, ${
      JSON.stringify(spec.settings)
    });`,
  ].join("\n");
  return `data:application/javascript,${encodeURIComponent(code)}`;
}

/**
 * How to start a handler host: `deno run --no-prompt` with the stack's permissions and a
 * V8 heap cap, or, inside a `deno compile` executable, the executable itself with
 * {@link HOST_FLAG} (it narrows its own permissions: see `standalone_host.ts`).
 */
export function hostLaunch(spec: HostSpec, standalone = Deno.build.standalone): HostLaunch {
  const heap = `--max-old-space-size=${spec.memoryMb}`;
  if (standalone) {
    const request = {
      module: spec.module,
      settings: spec.settings,
      permissions: spec.permissions ?? {},
    };
    return {
      command: Deno.execPath(),
      args: [HOST_FLAG, JSON.stringify(request)],
      env: hostEnv(spec, { DENO_V8_FLAGS: heap }),
    };
  }
  return {
    command: Deno.execPath(),
    args: [
      "run",
      "--no-prompt",
      "--quiet",
      `--v8-flags=${heap}`,
      ...(spec.inspector === true ? ["--allow-sys"] : []),
      ...(spec.configPath === undefined ? [] : ["--config", spec.configPath]),
      ...permissionFlags(spec.permissions),
      entryModule(spec),
    ],
    env: hostEnv(spec, {}),
  };
}
