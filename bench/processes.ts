/**
 * Child processes for the benchmark: servers (Pharos or a baseline) and the load
 * generator, with their RSS and CPU time read from /proc.
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** A running server process. */
export interface ServerChild extends AsyncDisposable {
  readonly pid: number;
  readonly port: number;
  /** Output lines the server wrote (counted, not kept). */
  readonly linesWritten: () => number;
}

/**
 * Which server to start: Pharos, the fan-out baseline (`baseline_server.ts`) or the
 * event-path baseline (`event_baseline_server.ts`, which reads `PHAROS_INGEST_TOKEN`).
 */
export interface ServerSpec {
  readonly kind: "pharos" | "baseline" | "runtime";
  readonly env?: Record<string, string>;
  /** Extra `deno run` flags for Pharos (`--server-flags`, e.g. a CPU profile). */
  readonly denoFlags?: readonly string[];
}

/** Deno arguments that run `spec` on `port` (Pharos takes its port from `PORT`). */
export function serverArgs(spec: ServerSpec, port: number): string[] {
  if (spec.kind === "pharos") {
    return [
      "run",
      ...(spec.denoFlags ?? []),
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-run",
      "main.ts",
    ];
  }
  return spec.kind === "baseline"
    ? ["run", "--allow-net", "bench/baseline_server.ts", String(port)]
    : [
      "run",
      "--allow-net",
      "--allow-env=PHAROS_INGEST_TOKEN",
      "bench/event_baseline_server.ts",
      String(port),
    ];
}

/**
 * Starts `spec` on a free loopback port and resolves once it answers HTTP (a log line
 * would not do: the telemetry-off run logs only warnings).
 */
export async function startServer(spec: ServerSpec): Promise<ServerChild> {
  const port = freePort();
  const args = serverArgs(spec, port);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", PORT: String(port), PHAROS_HOST: "127.0.0.1", ...spec.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let lines = 0;
  let output = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      for (let i = chunk.indexOf("\n"); i >= 0; i = chunk.indexOf("\n", i + 1)) lines++;
      if (output.length < 16 * 1024) output += chunk;
    }
  };
  const reading = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exitedEarly = false;
  const exited = child.status.then((status) => {
    exitedEarly = true;
    return status;
  });
  const deadline = performance.now() + 30_000;
  for (;;) {
    if (exitedEarly) throw new Error(`${spec.kind} exited before listening:\n${output}`);
    if (performance.now() > deadline) throw new Error(`${spec.kind} did not listen:\n${output}`);
    if (await answers(`http://127.0.0.1:${port}/health`)) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const boundPort = port;
  return {
    pid: child.pid,
    port: boundPort,
    linesWritten: () => lines,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 10_000);
      await exited;
      await reading;
      clearTimeout(timer);
    },
  };
}

/**
 * Reads a /proc file of another process. Deno grants /proc/<pid> only with --allow-all,
 * so it is read through `cat`, which --allow-run already covers.
 */
async function readProc(pid: number | "self", file: string): Promise<string> {
  const path = pid === "self" ? `/proc/${file}` : `/proc/${pid}/${file}`;
  const output = await new Deno.Command("cat", { args: [path] }).output();
  if (!output.success) throw new Error(`cannot read ${path}`);
  return new TextDecoder().decode(output.stdout);
}

/** True when `url` gives any HTTP answer. */
export async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** Resident set size of `pid` in bytes. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readProc(pid, "status");
  const match = status.match(/VmRSS:\s+(\d+) kB/);
  if (match === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** User + system CPU seconds `pid` has used. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readProc(pid, "stat");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds every process on the machine has used, steal time included. */
async function machineBusySeconds(): Promise<number> {
  const stat = await readProc("self", "stat");
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is in user)
  const [user, nice, system, , , irq, softirq, steal] = stat.slice(0, stat.indexOf("\n"))
    .split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    TICKS_PER_SECOND;
}

/** Server CPU per load phase, from the load generator's `phase-start` and `phase-end` lines. */
export interface PhaseCpu {
  /** Feed it every load generator line. */
  onLine(line: Record<string, unknown>): void;
  /** The server's CPU, % of one core per phase name, once every phase-end has been sampled. */
  result(): Promise<Record<string, number>>;
  /** The whole machine's busy CPU (every process, steal included), % of one core per phase. */
  machine(): Promise<Record<string, number>>;
  /** The server's CPU seconds per phase name (user + system, in ticks of 10 ms). */
  serverSeconds(): Promise<Record<string, number>>;
}

/** Samples `pid`'s and the machine's CPU time at the start and end of each phase. */
export function createPhaseCpu(pid: number): PhaseCpu {
  const starts: Record<string, Promise<[number, number, number]>> = {};
  const cpu: Record<string, number> = {};
  const machine: Record<string, number> = {};
  const serverSeconds: Record<string, number> = {};
  const pending: Promise<void>[] = [];
  const sample = async (): Promise<[number, number, number]> => {
    const [server, busy] = await Promise.all([cpuSeconds(pid), machineBusySeconds()]);
    return [server, busy, performance.now()];
  };
  return {
    onLine(line) {
      const phase = line.event === "phase-end"
        ? (line.result as { phase: string }).phase
        : line.phase as string;
      if (line.event === "phase-start") starts[phase] = sample();
      if (line.event !== "phase-end" || starts[phase] === undefined) return;
      const start = starts[phase];
      pending.push((async () => {
        const [cpuBefore, busyBefore, before] = await start;
        const [cpuAfter, busyAfter, after] = await sample();
        const seconds = (after - before) / 1000;
        cpu[phase] = Math.round(((cpuAfter - cpuBefore) / seconds) * 100);
        serverSeconds[phase] = Math.round((cpuAfter - cpuBefore) * 100) / 100;
        machine[phase] = Math.round(((busyAfter - busyBefore) / seconds) * 100);
      })());
    },
    async result() {
      await Promise.all(pending);
      return { ...cpu };
    },
    async machine() {
      await Promise.all(pending);
      return { ...machine };
    },
    async serverSeconds() {
      await Promise.all(pending);
      return { ...serverSeconds };
    },
  };
}

/** A port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A load generator process running `plan`; `onLine` gets each JSON line it prints. */
export interface LoadChild extends AsyncDisposable {
  readonly pid: number;
  /** Resolves when the load generator exits (0 expected). */
  readonly done: Promise<void>;
  /** Closes its stdin (idle plans hold their connections until then). */
  release(): Promise<void>;
}

/** Starts the load generator process with `plan`. */
export function startLoad(
  plan: unknown,
  onLine: (line: Record<string, unknown>) => void,
): LoadChild {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "bench/load_gen.ts", JSON.stringify(plan)],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let errors = "";
  const readLines = async () => {
    let pending = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim().length > 0) onLine(JSON.parse(line));
      }
    }
  };
  const readErrors = async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) errors += chunk;
  };
  const done = Promise.all([readLines(), readErrors(), child.status]).then(([, , status]) => {
    if (!status.success) throw new Error(`load generator exited ${status.code}:\n${errors}`);
  });
  const writer = child.stdin.getWriter();
  return {
    pid: child.pid,
    done,
    release: () => writer.close().catch(() => {}),
    async [Symbol.asyncDispose]() {
      await writer.close().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await done.catch(() => {});
    },
  };
}
