/**
 * The first start on a fresh machine, as a new user makes it: the start task's command and
 * `deno task start` each with an empty Deno module cache (so every npm package is downloaded
 * from the registry), `deno task start` again with the cache filled, then the serve task's
 * command. With `PHAROS_LOG_FORMAT=json` every line the process writes, stdout and stderr
 * together as a container runtime collects them, must be one JSON object: Deno's download
 * progress, its build-script notice and its permission-set warning must not appear. The
 * only lines allowed are the ones `deno task` itself prints before it runs the task. A
 * start-up failure is a JSON line too.
 */
import assert from "node:assert/strict";
import { spawnDeno } from "../fakes/server_process.ts";
import { ROOT, runDeno, taskArgs } from "../integration/_tasks.ts";

const JSON_ENV = { PORT: "0", PHAROS_HOST: "127.0.0.1", PHAROS_LOG_FORMAT: "json" };

/** The lines that are not one JSON object (a JSON line is an object, nothing else). */
function notJson(text: string): string[] {
  return text.split("\n").filter((line) => line !== "").filter((line) => {
    try {
      const value = JSON.parse(line);
      return typeof value !== "object" || value === null || Array.isArray(value);
    } catch {
      return true;
    }
  });
}

/** Whether `denoDir` holds downloaded npm packages (the test's premise: it started empty). */
async function hasNpmCache(denoDir: string): Promise<boolean> {
  try {
    return (await Deno.stat(`${denoDir}/npm/registry.npmjs.org`)).isDirectory;
  } catch {
    return false;
  }
}

/** `line` without the terminal colours Deno adds even when its output is piped. */
function plain(line: string): string {
  // deno-lint-ignore no-control-regex -- ANSI colour sequences
  return line.replace(/\x1b\[[0-9;]*m/g, "");
}

/** The line `deno task <name>` prints before it runs the task. */
function isTaskLine(line: string, name: string): boolean {
  return plain(line).startsWith(`Task ${name} `);
}

/** Deno's progress line for a package it downloads (`Download https://registry…`). */
function isDownloadLine(line: string): boolean {
  return /^Download https:\/\/\S+$/.test(plain(line));
}

/**
 * Runs `deno <args>` with `env` until it serves `/ready`, stops it with SIGTERM, and returns
 * its whole output (it must exit 0).
 */
async function serveAndStop(
  args: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; stderr: string }> {
  await using server = spawnDeno(args, env, { cwd: ROOT });
  const port = await server.port;
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  server.child.kill("SIGTERM");
  const status = await server.exited;
  assert.equal(status.code, 0, server.stderr());
  return { stdout: server.stdout(), stderr: server.stderr() };
}

Deno.test("deno task start prints only Pharos's own lines, on the first start and after", async (t) => {
  // An empty module cache: the first start downloads every package, as on a fresh machine.
  const denoDir = await Deno.makeTempDir({ prefix: "pharos-first-start-" });
  try {
    await t.step("deno run --quiet -P=server main.ts, the first start: no exception", async () => {
      const { stdout, stderr } = await serveAndStop(taskArgs("start"), {
        ...JSON_ENV,
        DENO_DIR: denoDir,
      });
      assert.deepEqual(notJson(stdout), [], "stdout: JSON lines only");
      assert.deepEqual(notJson(stderr), [], "stderr: JSON lines only");
      assert.match(stdout, /"message":"WebSocket server listening on 127\.0\.0\.1:\d+"/);
      assert.match(stdout, /"message":"Shutdown complete"/);
      assert.ok(await hasNpmCache(denoDir), "the start filled the empty module cache");
    });
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }

  const taskDir = await Deno.makeTempDir({ prefix: "pharos-first-start-" });
  try {
    for (const run of ["the first start (empty module cache)", "a later start"]) {
      await t.step(`deno task start, ${run}`, async () => {
        const cold = !(await hasNpmCache(taskDir));
        assert.equal(cold, run !== "a later start", "the module cache as the step says");
        const { stdout, stderr } = await serveAndStop(["task", "start"], {
          ...JSON_ENV,
          DENO_DIR: taskDir,
        });
        assert.deepEqual(notJson(stdout), [], "stdout: JSON lines only");
        // `deno task` itself prints its `Task start …` line and, before it, when its module
        // cache lacks the packages, one `Download …` line per package it fetches (a spinner
        // that clears itself on a terminal): nothing else that is not JSON, and never a
        // warning.
        const others = notJson(stderr);
        const task = others.findIndex((line) => isTaskLine(line, "start"));
        assert.ok(task >= 0, `the task runner's own line:\n${stderr}`);
        const before = others.slice(0, task);
        assert.deepEqual(others.slice(task + 1), [], "nothing after the task runner's line");
        assert.deepEqual(
          before.filter((line) => !isDownloadLine(line)),
          [],
          "before it, only the task runner's download progress",
        );
        if (run === "a later start") assert.deepEqual(before, [], "a filled cache: no download");
        assert.match(stdout, /"message":"Shutdown complete"/);
      });
    }
  } finally {
    await Deno.remove(taskDir, { recursive: true });
  }

  await t.step(
    "deno serve (the serve task's command, on port 0): no exception at all",
    async () => {
      const args = taskArgs("serve").map((arg) => arg === "8877" ? "0" : arg);
      const { stdout, stderr } = await serveAndStop([...args, "--host", "127.0.0.1"], JSON_ENV);
      assert.deepEqual(notJson(stdout), [], "stdout: JSON lines only");
      assert.deepEqual(notJson(stderr), [], "stderr: JSON lines only");
    },
  );

  await t.step("an invalid option: one FATAL JSON line on stderr, exit 2", async () => {
    const result = await runDeno(["task", "start", "--port", "not-a-port"], { env: JSON_ENV });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, "");
    const lines = result.stderr.split("\n").filter((line) => line !== "");
    const json = lines.filter((line) => !isTaskLine(line, "start"));
    assert.equal(json.length, 1, result.stderr);
    const record = JSON.parse(json[0]!);
    assert.equal(record.level, "FATAL");
    assert.equal(record.target, "pharos.runtime");
    assert.match(record.message, /^Invalid configuration:/);
    assert.deepEqual(record.problems, ['--port="not-a-port": expected a port number 0-65535']);
    assert.equal(record.exit_code, 2);
  });
});
