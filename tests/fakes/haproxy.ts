/**
 * A real haproxy (Debian's package `haproxy`; `.ci/run` installs it) in front of test
 * instances, running the shipped `ops/haproxy/haproxy.cfg` with only its addresses changed:
 * the frontend binds a free loopback port and the servers `pharos-a`, `pharos-b` point at
 * the given loopback ports (Docker's DNS resolvers are dropped: there is no Docker here).
 * Not a fake: the folder's name is historical.
 */
import { freePort } from "./auth_keys.ts";
import { holdsWithin } from "../wait.ts";

const SHIPPED = new URL("../../ops/haproxy/haproxy.cfg", import.meta.url);
const STARTUP_TIMEOUT_MS = 10_000;

/** A running haproxy. */
export interface Haproxy extends AsyncDisposable {
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/`. */
  readonly wsUrl: string;
  /** What haproxy printed so far (its log goes to stdout). */
  output(): string;
}

/**
 * The shipped configuration with the frontend on `port` and the servers on `servers`
 * (`pharos-a` first); throws when the shipped file no longer has a line this rewrites.
 */
export function toLoopbackConfig(
  shipped: string,
  port: number,
  servers: readonly [number, number],
): string {
  const rewrites: [RegExp, string][] = [
    [/^(\s*)bind :8878$/m, `$1bind 127.0.0.1:${port}`],
    [/^(\s*)server pharos-a pharos-a:8877$/m, `$1server pharos-a 127.0.0.1:${servers[0]}`],
    [/^(\s*)server pharos-b pharos-b:8877$/m, `$1server pharos-b 127.0.0.1:${servers[1]}`],
    [/ resolvers docker\b/, ""],
    [/^resolvers docker\n(?:[ \t]+\S.*\n)+/m, ""],
  ];
  let config = shipped;
  for (const [pattern, replacement] of rewrites) {
    if (!pattern.test(config)) throw new Error(`haproxy.cfg: no line matches ${pattern}`);
    config = config.replace(pattern, replacement);
  }
  return config;
}

/** Starts haproxy on the shipped configuration; waits until its frontend accepts connections. */
export async function startHaproxy(servers: readonly [number, number]): Promise<Haproxy> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "pharos-haproxy-" });
  const config = `${dir}/haproxy.cfg`;
  await Deno.writeTextFile(
    config,
    toLoopbackConfig(await Deno.readTextFile(SHIPPED), port, servers),
  );
  let child: Deno.ChildProcess;
  try {
    // -db: stay in the foreground, so the test owns the process.
    child = new Deno.Command("haproxy", {
      args: ["-db", "-f", config],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        "haproxy is not installed: install the Debian package `haproxy` " +
          "(.ci/run does: apt-get install -y haproxy)",
      );
    }
    throw error;
  }
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) output += text;
  };
  const collected = Promise.all([collect(child.stdout), collect(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const dispose = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await status;
    await collected;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };

  const listening = await holdsWithin(async () => {
    if (exited) return true; // nothing more to wait for
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  }, { timeoutMs: STARTUP_TIMEOUT_MS, everyMs: 20 });
  if (!listening || exited) {
    await dispose();
    throw new Error(`haproxy did not listen on ${port}:\n${output}`);
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/`,
    output: () => output,
    [Symbol.asyncDispose]: dispose,
  };
}
