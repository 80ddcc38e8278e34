import type { ConsoleLine } from "./protocol.ts";

const MAX_LINES = 100;
const MAX_LINE_CHARS = 2048;

/** Console output of guest code, held until the next message to the server. */
export interface ConsoleCapture {
  /** The lines since the last call (at most 100, then one line saying how many were dropped). */
  take(): ConsoleLine[];
  /** Records a line (also used for errors nobody caught). */
  push(level: ConsoleLine[0], text: string): void;
}

function format(args: unknown[]): string {
  const text = args.map((arg) => typeof arg === "string" ? arg : Deno.inspect(arg, { depth: 4 }))
    .join(" ");
  return text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}…` : text;
}

/**
 * Replaces `console` so guest output cannot reach stdout (the IPC channel): each call is
 * kept, bounded, and sent to the server with the next message, which logs it under
 * `pharos.vm.handler`.
 */
export function installConsoleCapture(): ConsoleCapture {
  let lines: ConsoleLine[] = [];
  let dropped = 0;
  const push = (level: ConsoleLine[0], text: string) => {
    if (lines.length < MAX_LINES) lines.push([level, text]);
    else dropped++;
  };
  const at = (level: ConsoleLine[0]) => (...args: unknown[]) => push(level, format(args));
  const guest = globalThis.console as unknown as Record<string, unknown>;
  for (const name of ["log", "info"]) guest[name] = at("info");
  for (const name of ["debug", "trace"]) guest[name] = at("debug");
  guest.warn = at("warn");
  guest.error = at("error");
  guest.dir = at("info");
  guest.table = at("info");
  return {
    push,
    take() {
      const taken = lines;
      if (dropped > 0) taken.push(["warn", `${dropped} more console lines were dropped`]);
      lines = [];
      dropped = 0;
      return taken;
    },
  };
}
