/**
 * Imported first by the handler host's entry, before the stack module runs: from here on
 * guest `console` output is captured instead of written to stdout (the IPC channel), and
 * an error no handler caught (a rejected promise nobody awaited, a throwing timer) is
 * logged instead of ending the process and being blamed on whichever run is current. An
 * error before the host runs (the stack module failed to load) is reported to the server
 * as fatal, and the host exits 1. It also opens the host's inspector session, if the
 * server allowed one, and revokes `sys` before the stack module runs (see
 * `host_inspector.ts`).
 */
import { type ConsoleCapture, installConsoleCapture } from "./console_capture.ts";
import { type InspectorPost, openInspector } from "./host_inspector.ts";
import type { FatalMessage } from "./protocol.ts";

/** The host's console capture. */
export const capture: ConsoleCapture = installConsoleCapture();

let running = false;

/** From now on, uncaught guest errors are logged, not fatal. */
export function markRunning(): void {
  running = true;
}

function describe(error: unknown): string {
  return error instanceof Error
    ? (error.stack ?? `${error.name}: ${error.message}`)
    : String(error);
}

/** Tells the server why the host cannot run, and ends it. */
function fatal(error: unknown): never {
  const message: FatalMessage = { t: "fatal", message: describe(error) };
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(message) + "\n"));
  Deno.exit(1);
}

function uncaught(event: Event, what: string, error: unknown): void {
  event.preventDefault();
  if (running) {
    capture.push("error", `${what} in guest code: ${describe(error)}`);
    return;
  }
  fatal(error);
}

globalThis.addEventListener("unhandledrejection", (event) => {
  uncaught(event, "Unhandled rejection", event.reason);
});
globalThis.addEventListener("error", (event) => {
  uncaught(event, "Uncaught error", event.error ?? event.message);
});

// Ctrl-C and `kill <group>` reach the host too; the server decides when it ends (it closes
// stdin, or kills it), so a draining server's in-flight batch is not lost to the signal.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  try {
    Deno.addSignalListener(signal, () => {});
  } catch {
    // not supported on this platform
  }
}

/** The host's inspector, for CPU profiles; undefined when the server allowed none. */
export const inspector: InspectorPost | undefined = (() => {
  try {
    return openInspector();
  } catch (error) {
    return fatal(error);
  }
})();
