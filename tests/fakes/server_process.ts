/** A `main.ts` server run as a child process, as `deno task start` runs it. */
export interface ServerProcess extends AsyncDisposable {
  readonly child: Deno.ChildProcess;
  /** Resolves with the port once the server logs that it is listening. */
  readonly port: Promise<number>;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the exit status; output is fully read by then. */
  readonly exited: Promise<Deno.CommandStatus>;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Starts `deno run main.ts` with `env` and `args`; stdout/stderr are collected. */
export function spawnServer(env: Record<string, string>, args: string[] = []): ServerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", MAIN, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  let onPort: (port: number) => void = () => {};
  const port = new Promise<number>((resolve) => (onPort = resolve));
  const collect = async (stream: ReadableStream<Uint8Array>, append: (text: string) => void) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) append(chunk);
  };
  const reading = Promise.all([
    collect(child.stdout, (text) => {
      out += text;
      const match = out.match(/listening on [^\s]+:(\d+)/);
      if (match) onPort(Number(match[1]));
    }),
    collect(child.stderr, (text) => (err += text)),
  ]);
  const exited = reading.then(() => child.status);
  return {
    child,
    port,
    stdout: () => out,
    stderr: () => err,
    exited,
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
