/**
 * A real `redis-server` (Debian's package `redis-server`; `.ci/run` installs it) on a free
 * loopback port, for cluster tests. Not a fake: the name of the folder is historical.
 * Persistence is off unless asked for (`appendonly`), and nothing is written outside its
 * own temporary directory.
 */
import { freePort } from "./auth_keys.ts";
import { until } from "../wait.ts";

/** A running redis-server; `stop` and `start` keep the port (a Redis restart). */
export interface RedisServer extends AsyncDisposable {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops the server (SIGKILL with `kill: true`, else SHUTDOWN NOSAVE-like SIGTERM). */
  stop(options?: { readonly kill?: boolean }): Promise<void>;
  /** Starts it again on the same port and directory (with its AOF, when `appendonly`). */
  start(): Promise<void>;
  /** Runs `redis-cli` against it and returns its stdout, trimmed. */
  cli(...args: string[]): Promise<string>;
}

/** Options for {@link startRedis}. */
export interface RedisServerOptions {
  /** `appendonly yes` with `appendfsync always`: what production runs with. Default false. */
  readonly appendonly?: boolean;
}

const STARTUP_TIMEOUT_MS = 10_000;

async function waitForPing(port: number): Promise<void> {
  await until(
    async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(new TextEncoder().encode("PING\r\n"));
        const buffer = new Uint8Array(16);
        const read = await conn.read(buffer);
        return read !== null &&
          new TextDecoder().decode(buffer.subarray(0, read)).startsWith("+PONG");
      } finally {
        conn.close();
      }
    },
    `redis-server on port ${port} to answer PING`,
    { timeoutMs: STARTUP_TIMEOUT_MS, everyMs: 20 },
  );
}

/** Starts a real redis-server; fails with how to install it when the binary is missing. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "pharos-redis-" });
  let child: Deno.ChildProcess | undefined;

  async function start(): Promise<void> {
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      options.appendonly ? "yes" : "no",
      "--appendfsync",
      "always",
    ];
    try {
      child = new Deno.Command("redis-server", {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error(
          "redis-server is not installed: install the Debian package `redis-server` " +
            "(.ci/run does: apt-get install -y redis-server)",
        );
      }
      throw error;
    }
    child.stderr.cancel().catch(() => {});
    await waitForPing(port);
  }

  async function stop(stopOptions: { readonly kill?: boolean } = {}): Promise<void> {
    const running = child;
    child = undefined;
    if (running === undefined) return;
    try {
      running.kill(stopOptions.kill ? "SIGKILL" : "SIGTERM");
    } catch {
      // already gone
    }
    await running.status;
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    async cli(...args) {
      const out = await new Deno.Command("redis-cli", {
        args: ["-p", String(port), ...args],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return new TextDecoder().decode(out.stdout).trim();
    },
    async [Symbol.asyncDispose]() {
      await stop({ kill: true });
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
