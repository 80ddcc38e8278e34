/** Runs `deno task` commands of deno.json as subprocesses, the way the task runner would. */
import assert from "node:assert/strict";

/** The repository root (tasks run there). */
export const ROOT: URL = new URL("../../", import.meta.url);

const tasks = (JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
  tasks: Record<string, string>;
}).tasks;

/**
 * The arguments of `deno task <name>`: its command without the leading `deno`. Only plain
 * `deno …` commands are supported (no env prefixes, quotes or `&&`), and -A is refused: tasks
 * name their permissions.
 */
export function taskArgs(name: string): string[] {
  const command = tasks[name];
  assert.ok(command !== undefined, `deno.json has no task ${name}`);
  const words = command.trim().split(/\s+/);
  assert.equal(words[0], "deno", `task ${name} should be a plain deno command: ${command}`);
  assert.ok(
    !words.some((w) => w === "-A" || w === "--allow-all" || /["'$&|;]/.test(w)),
    `task ${name} should name its permissions and need no shell: ${command}`,
  );
  return words.slice(1);
}

/** Names of the tasks starting with `prefix`. */
export function taskNames(prefix: string): string[] {
  return Object.keys(tasks).filter((name) => name.startsWith(prefix));
}

/** What a finished task printed. */
export interface TaskOutput {
  readonly code: number;
  readonly signal: Deno.Signal | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/**
 * Runs `deno <args>` in the repository root with `NO_COLOR=1` plus `env`; kills it after
 * `timeoutMs` (the result then has `signal: "SIGKILL"`).
 */
export async function runDeno(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<TaskOutput> {
  const started = Date.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }, options.timeoutMs ?? 60_000);
  try {
    const output = await child.output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      signal: output.signal,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
      elapsedMs: Date.now() - started,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `deno task <name> [extra…]` and asserts it exited 0 by itself. */
export async function runTask(
  name: string,
  extra: string[] = [],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<TaskOutput> {
  const result = await runDeno([...taskArgs(name), ...extra], options);
  assert.equal(
    result.code,
    0,
    `task ${name} exited with ${result.code} (signal ${result.signal}) after ${result.elapsedMs} ms\n` +
      `stdout:\n${result.stdout.slice(-3000)}\nstderr:\n${result.stderr.slice(-3000)}`,
  );
  return result;
}
