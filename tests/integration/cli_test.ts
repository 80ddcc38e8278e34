/**
 * The command line as a user meets it, through `deno task start` as the README shows it:
 * `--help` and `--version` (also behind the `--` that `deno task start -- …` passes on),
 * an unknown flag's error naming the closest valid one, and the README's own example.
 */
import assert from "node:assert/strict";
import { OPTIONS } from "../../src/config/mod.ts";
import { freePort } from "../fakes/auth_keys.ts";
import { until } from "../wait.ts";

const ROOT = new URL("../../", import.meta.url);
const README = await Deno.readTextFile(new URL("README.md", ROOT));
const decoder = new TextDecoder();

/** Runs `deno task <args>` in the repository; its exit code and output. */
async function task(args: readonly string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("deno task start --help (and -- --help) lists every option and exits 0", async () => {
  for (const args of [["start", "--help"], ["start", "--", "--help"], ["start", "-h"]]) {
    const { code, stdout, stderr } = await task(args);
    assert.equal(code, 0, `${args.join(" ")}: ${stderr}`);
    assert.match(stdout, /^Pharos \d+\.\d+\.\d+: /);
    assert.match(stdout, /^Usage:$/m);
    for (const option of OPTIONS) {
      const entry = stdout.slice(stdout.indexOf(`  --${option.flag} `));
      assert.ok(stdout.includes(`  --${option.flag} `), `--help lacks --${option.flag}`);
      assert.match(
        entry.split("\n")[1] ?? "",
        new RegExp(`^ {6}env ${option.env}\\b.*; default `),
        `--${option.flag}: its variable and default`,
      );
    }
    assert.match(stdout, /--version/);
  }
});

Deno.test("deno task start --version prints the version of Pharos and of Deno", async () => {
  const deno = await import("../../deno.json", { with: { type: "json" } });
  for (const args of [["start", "--version"], ["start", "--", "-V"]]) {
    const { code, stdout } = await task(args);
    assert.equal(code, 0);
    assert.equal(
      stdout,
      `pharos ${deno.default.version} (deno ${Deno.version.deno}, v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})\n`,
    );
  }
});

Deno.test("an unknown flag names the closest valid one, and nothing starts", async () => {
  const { code, stderr } = await task(["start", "--", "--prot", "9000", "--log-fromat=json"]);
  assert.equal(code, 2);
  assert.match(stderr, /unknown flag --prot \(did you mean --port\?\)/);
  assert.match(stderr, /unknown flag --log-fromat \(did you mean --log-format\?\)/);
  const far = await task(["start", "--frobnicate", "1"]);
  assert.equal(far.code, 2);
  assert.match(far.stderr, /unknown flag --frobnicate \(see --help\)/);
  const bare = await task(["start", "9000"]);
  assert.match(bare.stderr, /unexpected argument "9000"/);
});

Deno.test("the README's configuration example starts a server", async () => {
  const example = README.match(/^Example: `([^`]+)`/m)?.[1];
  assert.ok(example, "README has no configuration example");
  // `VAR=value … deno task start -- ARGS`, with the port swapped for a free one.
  const match = example.match(/^((?:[A-Z_]+=\S+ )*)deno task (start(?: .*)?)$/);
  assert.ok(match, `cannot run ${example}`);
  const env = Object.fromEntries(match[1]!.trim().split(" ").map((pair) => pair.split("=")));
  const port = freePort();
  const args = match[2]!.split(" ").map((arg) => (arg === "9000" ? String(port) : arg));
  assert.ok(args.includes(String(port)), "the example sets --port 9000");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", ...args, "--host", "127.0.0.1"],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([child.stdout, child.stderr].map((s) => new Response(s).text()));
  try {
    await until(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/ready`);
        await response.body?.cancel();
        return response.status === 200;
      },
      "the example's server to answer /ready",
      { timeoutMs: 20_000, everyMs: 50 },
    );
  } finally {
    child.kill("SIGTERM");
  }
  const [code, [stdout]] = await Promise.all([child.status.then((s) => s.code), output]);
  assert.equal(code, 0, "SIGTERM drains and exits 0");
  assert.match(stdout!, new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
  assert.match(stdout!, /Source demo starting \(kind: demo, stream: Transfer events, 200\/s/);
});
