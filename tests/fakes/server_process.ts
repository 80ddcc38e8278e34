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
  return spawnDeno(
    ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-run", MAIN, ...args],
    env,
  );
}

/** How long a server may take to log that it listens before `port` rejects. */
const PORT_TIMEOUT_MS = 30_000;

/**
 * Runs Deno with `args` (a server entry point) and collects its output; `port` resolves
 * from the "listening on HOST:PORT" log line, and rejects (instead of hanging the test)
 * when none appears in time.
 */
export function spawnDeno(
  args: readonly string[],
  env: Record<string, string>,
  options: { readonly cwd?: string | URL } = {},
): ServerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  }).spawn();
  let out = "";
  let err = "";
  let onPort: (port: number) => void = () => {};
  const listening = new Promise<number>((resolve) => (onPort = resolve));
  const collect = async (stream: ReadableStream<Uint8Array>, append: (text: string) => void) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) append(chunk);
  };
  const reading = Promise.all([
    collect(child.stdout, (text) => {
      out += text;
      const match = out.match(/WebSocket server listening on [^\s]+:(\d+)/);
      if (match) onPort(Number(match[1]));
    }),
    collect(child.stderr, (text) => (err += text)),
  ]);
  const exited = reading.then(() => child.status);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no "listening on" line:\n${out}\n${err}`)),
      PORT_TIMEOUT_MS,
    );
  });
  // A process that exits without listening (a config error) fails `port` at once.
  const exitedFirst = exited.then((status) => {
    throw new Error(`exited (code ${status.code}) without listening:\n${out}\n${err}`);
  });
  const port = Promise.race([listening, timeout, exitedFirst]).finally(() => clearTimeout(timer));
  port.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  exitedFirst.catch(() => {});
  return {
    child,
    port,
    stdout: () => out,
    stderr: () => err,
    exited,
    async [Symbol.asyncDispose]() {
      clearTimeout(timer);
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await exited;
    },
  };
}
