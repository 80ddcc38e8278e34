/**
 * The handler host: stack handlers in a child process with only the stack's declared
 * permissions, batched JSON-lines IPC with progress marks, a watchdog that kills a run
 * over its budget, a warm spare, and the server-side VM that keeps the authoritative state.
 * @module
 */
export {
  type Handlers,
  type HandlerSettings,
  openHandlers,
  type OpenHandlersOptions,
} from "./handlers.ts";
export {
  type HostCapture,
  HostCaptureError,
  type HostCaptureFailure,
  type HostCaptures,
} from "./capture_channel.ts";
export { createHostedVm, type HostedVmOptions } from "./hosted_vm.ts";
export { HostPool, type HostPoolOptions, type HostStatus } from "./host_pool.ts";
export {
  HostDiedError,
  type HostExit,
  HostProcess,
  type HostProcessOptions,
} from "./host_process.ts";
export {
  DEMO_STACK_MODULE,
  findConfig,
  openSandbox,
  type Sandbox,
  SandboxError,
  type SandboxOptions,
  WATCHDOG_GRACE_MS,
} from "./open.ts";
export { hostLaunch, type HostSpec, permissionFlags, type StackModule } from "./host_command.ts";
export { type CaptureKind, HOST_FLAG, type HostSettings, type StackManifest } from "./protocol.ts";
