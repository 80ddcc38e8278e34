/**
 * Runs Prometheus' `promtool check metrics` on an exposition text (stdin), the linter that
 * flags bad names, missing `_total` on counters, missing HELP and parse errors. `.ci/run`
 * installs it (Debian package `prometheus`); tests skip with a message when it is missing.
 * @module
 */

/** Result of `promtool check metrics`: `ok` is exit code 0; `output` is stdout + stderr. */
export interface PromtoolResult {
  ok: boolean;
  /** Exit code: 0 clean, 1 parse error, 3 lint problems (promtool 2.x). */
  code: number;
  output: string;
}

let available: boolean | undefined;

/** True when `promtool` can be run (checked once per process). */
export async function hasPromtool(): Promise<boolean> {
  if (available === undefined) {
    try {
      const out = await new Deno.Command("promtool", {
        args: ["--version"],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      available = out.success;
    } catch {
      available = false;
    }
  }
  return available;
}

/** Message for tests that skip because promtool is missing. */
export const PROMTOOL_MISSING =
  "promtool not installed (Debian package `prometheus`; .ci/run installs it): skipped";

/**
 * `promtool check metrics < text`. Resolves `undefined` when promtool is not installed.
 */
export async function promtoolCheckMetrics(text: string): Promise<PromtoolResult | undefined> {
  if (!(await hasPromtool())) return undefined;
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    ok: out.success,
    code: out.code,
    output: (decoder.decode(out.stdout) + decoder.decode(out.stderr)).trim(),
  };
}
