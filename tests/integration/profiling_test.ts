/**
 * The profiling recipes of docs/operations.md, run for real against `main.ts`: a CPU profile
 * written on graceful shutdown (`--cpu-prof`), and a heap snapshot and a CPU profile taken
 * over the inspector by `scripts/inspect.ts`, with `--inspect-wait` released by it.
 */
import assert from "node:assert/strict";
import { eventually, realTime } from "../wait.ts";
import { ROOT, runDeno } from "./_tasks.ts";

/** `deno run <flags> main.ts` on port 0; resolves `inspector` when the debugger line shows. */
function startMain(flags: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "--allow-net", "--allow-env", "--allow-read", "--allow-run", "main.ts"],
    cwd: ROOT,
    env: { NO_COLOR: "1", PORT: "0", PHAROS_HOST: "127.0.0.1", PHAROS_DEMO_RATE: "200" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const read = async (stream: ReadableStream<Uint8Array>, append: (text: string) => void) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) append(text);
  };
  const exited = Promise.all([
    read(child.stdout, (text) => (out += text)),
    read(child.stderr, (text) => (err += text)),
  ]).then(() => child.status);
  const waitFor = (pattern: RegExp, what: string): Promise<RegExpMatchArray> =>
    eventually(() => (out + err).match(pattern) ?? undefined, what, {
      timeoutMs: 20_000,
      everyMs: 20,
      detail: () => `${out}\n${err}`,
    });
  return {
    child,
    exited,
    waitFor,
    output: () => out + err,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await exited;
    },
  };
}

Deno.test("--cpu-prof writes a profile, its Markdown summary and flame graph on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "pharos-prof-" });
  try {
    await using server = startMain([
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      "--cpu-prof-name=pharos.cpuprofile",
      "--cpu-prof-md",
      "--cpu-prof-flamegraph",
    ]);
    // Sampling started with the process: start-up alone leaves samples in the profile.
    await server.waitFor(/listening on/, "listening line");
    server.child.kill("SIGTERM");
    assert.equal((await server.exited).code, 0, server.output());
    const profile = JSON.parse(await Deno.readTextFile(`${dir}/pharos.cpuprofile`));
    assert.ok(profile.nodes.length > 0 && profile.samples.length > 0);
    assert.match(await Deno.readTextFile(`${dir}/pharos.md`), /^# CPU Profile/);
    assert.match(await Deno.readTextFile(`${dir}/pharos.svg`), /<svg/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--inspect-wait + scripts/inspect.ts: released, then a heap snapshot and a CPU profile", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "pharos-inspect-" });
  try {
    await using server = startMain(["--inspect-wait=127.0.0.1:0"]);
    const [, at] = await server.waitFor(
      /Debugger listening on ws:\/\/(127\.0\.0\.1:\d+)\//,
      "debugger line",
    );
    await realTime(
      300,
      "a real process: time to start serving, had it not waited for the debugger",
    );
    assert.doesNotMatch(server.output(), /listening on 127/, "waits for the debugger");
    const tool = (...args: string[]) =>
      runDeno([
        "run",
        `--allow-net=${at}`,
        `--allow-write=${dir}`,
        "scripts/inspect.ts",
        `--at=${at}`,
        ...args,
      ], { timeoutMs: 60_000 });
    const heap = await tool("heap", `${dir}/pharos.heapsnapshot`);
    assert.equal(heap.code, 0, heap.stderr);
    await server.waitFor(/WebSocket server listening on 127\.0\.0\.1:\d+/, "the server to run");
    const snapshot = JSON.parse(await Deno.readTextFile(`${dir}/pharos.heapsnapshot`));
    assert.ok(snapshot.snapshot.node_count > 1000);
    const cpu = await tool("cpu", "1", `${dir}/pharos.cpuprofile`);
    assert.equal(cpu.code, 0, cpu.stderr);
    const profile = JSON.parse(await Deno.readTextFile(`${dir}/pharos.cpuprofile`));
    assert.ok(profile.nodes.length > 0 && profile.samples.length > 0);
    server.child.kill("SIGTERM");
    assert.equal((await server.exited).code, 0, server.output());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
