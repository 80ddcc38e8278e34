import type { Logger } from "../log/mod.ts";
import {
  describePermissions,
  type Stack,
  type StackPermissions,
  validatePermissions,
} from "../stack/mod.ts";
import type { VmTelemetry } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import { hostLaunch, type HostSpec, type StackModule } from "./host_command.ts";
import { HostPool, type HostPoolOptions } from "./host_pool.ts";
import { HostProcess } from "./host_process.ts";
import { stackFromManifest } from "./manifest.ts";
import type { HostSettings } from "./protocol.ts";

/**
 * A handler overrunning its budget is killed this long after the budget: async runs are
 * cancelled by the host itself at the budget, so the watchdog only meets runs that
 * never gave way (a loop), and still kills them well inside budget + 100 ms.
 */
export const WATCHDOG_GRACE_MS = 50;

/** The built-in demo stack, as a module the host can load. */
export const DEMO_STACK_MODULE: StackModule = Object.freeze({
  url: new URL("../stack/demo_stack.ts", import.meta.url).href,
  exportName: "demoStack",
});

/**
 * The stack's handlers cannot be set up (its module does not load, or the handler hosts do
 * not start): the server should refuse to start (exit 2).
 */
export class SandboxError extends Error {
  override readonly name = "SandboxError";
}

/** Options for {@link openSandbox}. */
export interface SandboxOptions {
  readonly module: StackModule;
  readonly settings: HostSettings;
  readonly memoryMb: number;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly clock: Clock;
  /** `pharos.vm`. */
  readonly log: Logger;
  readonly telemetry: VmTelemetry;
  /** See {@link HostPoolOptions.detach}. */
  readonly detach?: <T>(fn: () => T) => T;
  /**
   * Let the hosts take CPU profiles for the server's diagnostics (`/debug/profile`): see
   * {@link HostSpec.inspector}. Heap snapshots need nothing. Default false.
   */
  readonly diagnostics?: boolean;
}

/** Running handler hosts and the stack they serve. */
export interface Sandbox {
  /** The server's view of the stack (entities, views, sources; handlers run in the host). */
  readonly stack: Stack;
  readonly pool: HostPool;
  readonly permissions: StackPermissions | undefined;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The `deno.json` whose import map stack modules resolve against: the working
 * directory's, else the one beside Pharos's own sources. (A `data:` entry module finds
 * no configuration by itself.)
 */
export function findConfig(cwd: string): string | undefined {
  for (const name of ["deno.json", "deno.jsonc"]) {
    if (exists(`${cwd}/${name}`)) return `${cwd}/${name}`;
  }
  const own = new URL("../../deno.json", import.meta.url);
  return own.protocol === "file:" && exists(own.pathname) ? own.pathname : undefined;
}

function checkCanSpawn(): void {
  if (Deno.build.standalone) return; // the executable runs itself, granted at compile time
  const state = Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state;
  if (state !== "granted") {
    throw new SandboxError(
      "PHAROS_HANDLER_ISOLATION=process runs handlers in a child process and needs " +
        "--allow-run; grant it (deno task start does), or set PHAROS_HANDLER_ISOLATION=inline " +
        "on hosts that cannot start processes",
    );
  }
}

/**
 * Starts the handler hosts. The stack module is loaded first in a host with no
 * permissions at all: the server never runs guest code, and learns the stack's shape and
 * declared permissions from the host. When the stack declares permissions, that host is
 * replaced by one granted exactly those. Throws a {@link SandboxError} when the module
 * cannot be loaded there or declares something malformed.
 */
export async function openSandbox(options: SandboxOptions): Promise<Sandbox> {
  checkCanSpawn();
  const { clock, log, telemetry } = options;
  const watchdogMs = options.settings.handlerTimeoutMs + WATCHDOG_GRACE_MS;
  const base: HostSpec = {
    module: options.module,
    settings: options.settings,
    permissions: undefined,
    memoryMb: options.memoryMb,
    configPath: findConfig(options.cwd),
    env: options.env,
    inspector: options.diagnostics === true,
  };
  const probe = HostProcess.spawn({ launch: hostLaunch(base), clock, watchdogMs });
  let stack: Stack;
  let permissions: StackPermissions | undefined;
  try {
    const ready = await probe.ready;
    const problems = validatePermissions(ready.manifest.permissions);
    if (problems.length > 0) throw new Error(`invalid permissions: ${problems.join("; ")}`);
    permissions = ready.manifest.permissions;
    stack = stackFromManifest(ready.manifest);
  } catch (error) {
    probe.kill("crash");
    await probe.exited;
    throw new SandboxError(
      `The handler host could not load the stack module ${options.module.url}: ${
        (error as Error).message
      }`,
    );
  }
  const declared = describePermissions(permissions);
  const spec: HostSpec = { ...base, permissions };
  const poolOptions: HostPoolOptions = {
    spec,
    clock,
    log,
    telemetry,
    watchdogMs,
    ...(options.detach === undefined ? {} : { detach: options.detach }),
  };
  let pool: HostPool;
  if (declared === "none") pool = new HostPool(poolOptions, probe);
  else {
    probe.kill("crash");
    await probe.exited;
    pool = new HostPool(poolOptions);
  }
  const host = await pool.acquire();
  pool.startSpare();
  log.info(
    "Handlers run in handler host {pid} (isolation process, permissions {permissions}, heap limit {memoryMb} MiB)",
    { pid: host.pid, permissions: declared, memoryMb: options.memoryMb },
  );
  return { stack, pool, permissions };
}
