/**
 * The handler host inside a `deno compile` executable, which runs itself with
 * {@link HOST_FLAG}. A compiled executable cannot be given new permission flags, so the
 * host starts with the executable's own grants and revokes every kind the stack did not
 * declare before any guest code runs, except `read`, revoked right after the stack module
 * has loaded (it may not be embedded). A declared kind keeps the executable's grant for
 * that kind, which may be wider than the declared list: Deno cannot narrow a grant.
 */
import { capture } from "./host_prelude.ts";
import { runHost } from "./host_main.ts";
import type { HostSettings } from "./protocol.ts";
import type { StackModule } from "./host_command.ts";
import type { StackPermissions } from "../stack/mod.ts";

const REVOCABLE = ["net", "env", "write", "run", "ffi", "sys", "import"] as const;

/** Runs the host described by the JSON argument `hostLaunch` passed. */
export async function runStandaloneHost(requestJson: string): Promise<void> {
  const request = JSON.parse(requestJson) as {
    module: StackModule;
    settings: HostSettings;
    permissions: StackPermissions;
  };
  const declared = request.permissions as Record<string, readonly string[] | undefined>;
  for (const name of REVOCABLE) {
    if ((declared[name]?.length ?? 0) === 0) await Deno.permissions.revoke({ name });
  }
  const module = await import(request.module.url) as Record<string, unknown>;
  if ((declared.read?.length ?? 0) === 0) await Deno.permissions.revoke({ name: "read" });
  capture.push("debug", "Running as the handler host of a compiled executable");
  await runHost(module, request.module.exportName, request.settings);
}
