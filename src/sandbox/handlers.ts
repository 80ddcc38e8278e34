import { demoStack, loadStack, type Stack, toModuleUrl } from "../stack/mod.ts";
import type { HandlerHostReading } from "../telemetry/mod.ts";
import { createVm, type Vm } from "../vm/mod.ts";
import type { HostCaptures } from "./capture_channel.ts";
import { createHostedVm } from "./hosted_vm.ts";
import { DEMO_STACK_MODULE, openSandbox, SandboxError, type SandboxOptions } from "./open.ts";

/** How handlers run: the `vm` slice of the configuration. */
export interface HandlerSettings {
  /** `process`: in handler hosts with only the stack's permissions; `inline`: in this process. */
  readonly isolation: "process" | "inline";
  readonly memoryMb: number;
  readonly stateTableSize: number;
  readonly handlerTimeoutMs: number;
  readonly functionCallMetrics: boolean;
}

/**
 * Options for {@link openHandlers}: the handler hosts' environment and working directory
 * (where a relative `stackModule` resolves too), clock, `pharos.vm` logger, telemetry and
 * `detach`, as {@link SandboxOptions} takes them.
 */
export interface OpenHandlersOptions
  extends
    Pick<SandboxOptions, "env" | "cwd" | "clock" | "log" | "telemetry" | "detach" | "diagnostics"> {
  readonly settings: HandlerSettings;
  /** Path or URL of the stack module (`PHAROS_STACK`); empty: the built-in demo stack. */
  readonly stackModule: string;
  /**
   * A stack given as a value. Its handlers run in this process whatever `isolation` says:
   * functions cannot be sent to a host (name the module in `stackModule` to sandbox it).
   */
  readonly stack?: Stack;
}

/** A stack's handlers, ready to run: the stack, the VM that runs them, and their hosts. */
export interface Handlers {
  /** The server's view of the stack (from the host's manifest when handlers run there). */
  readonly stack: Stack;
  readonly vm: Vm;
  /** Captures of the active handler host (`/debug/…?target=host`); absent when handlers run inline. */
  readonly captures?: HostCaptures;
  /**
   * The handler hosts' memory and CPU time (`Observations.handlerHosts`); absent when
   * handlers run in this process, whose own `process_*` metrics then cover them.
   */
  readonly hostUsage?: () => HandlerHostReading;
  /** Stops the hosts, if any (shutdown). */
  close(): Promise<void>;
  /** Kills the hosts at once: a host stuck in a loop must not outlive the process. */
  killNow(): void;
}

/**
 * Loads the stack and starts what runs its handlers: the handler hosts (the server never
 * imports the module then), or the VM in this process. Throws a {@link SandboxError} when
 * the module cannot be loaded or the hosts cannot start.
 */
export async function openHandlers(options: OpenHandlersOptions): Promise<Handlers> {
  const { settings, clock, log, telemetry } = options;
  if (options.stack !== undefined || settings.isolation === "inline") {
    const stack = options.stack ?? await importStack(options.stackModule, options.cwd);
    return {
      stack,
      vm: createVm({ stack, clock, telemetry, ...settings }),
      close: () => Promise.resolve(),
      killNow() {},
    };
  }
  const sandbox = await openSandbox({
    module: options.stackModule === ""
      ? DEMO_STACK_MODULE
      : { url: toModuleUrl(options.stackModule, options.cwd), exportName: "default" },
    settings: {
      stateTableSize: settings.stateTableSize,
      handlerTimeoutMs: settings.handlerTimeoutMs,
      functionCallMetrics: settings.functionCallMetrics,
    },
    memoryMb: settings.memoryMb,
    env: options.env,
    cwd: options.cwd,
    clock,
    log,
    telemetry,
    ...(options.detach === undefined ? {} : { detach: options.detach }),
    ...(options.diagnostics === undefined ? {} : { diagnostics: options.diagnostics }),
  });
  const { stack, pool } = sandbox;
  return {
    stack,
    vm: createHostedVm({
      stack,
      pool,
      clock,
      telemetry,
      log,
      stateTableSize: settings.stateTableSize,
      handlerTimeoutMs: settings.handlerTimeoutMs,
    }),
    captures: pool,
    hostUsage: () => pool.usage(),
    close: () => pool.close(),
    killNow: () => pool.killNow(),
  };
}

/** The stack module imported into this process (inline handlers), or the demo stack. */
async function importStack(specifier: string, cwd: string): Promise<Stack> {
  if (specifier === "") return demoStack;
  try {
    return await loadStack(specifier, cwd);
  } catch (error) {
    throw new SandboxError((error as Error).message, { cause: error });
  }
}
