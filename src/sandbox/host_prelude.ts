/**
 * Imported first by the handler host's entry, before the stack module runs: from here on
 * guest `console` output is captured instead of written to stdout (the IPC channel), and
 * an error no handler caught (a rejected promise nobody awaited, a throwing timer) is
 * logged instead of ending the process and being blamed on whichever run is current. An
 * error before the host runs (the stack module failed to load) is reported to the server
 * as fatal, and the host exits 1.
 */
import { type ConsoleCapture, installConsoleCapture } from "./console_capture.ts";
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

function uncaught(event: Event, what: string, error: unknown): void {
  event.preventDefault();
  if (running) {
    capture.push("error", `${what} in guest code: ${describe(error)}`);
    return;
  }
  const fatal: FatalMessage = { t: "fatal", message: describe(error) };
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(fatal) + "\n"));
  Deno.exit(1);
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
