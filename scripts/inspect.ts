// deno-lint-ignore-file no-console -- a command-line tool reports on stdout/stderr
/**
 * Takes a heap snapshot or a CPU profile of a running Pharos started with `--inspect`, over
 * the V8 inspector protocol, for hosts without a browser (see docs/operations.md):
 *
 *   deno run --allow-net=127.0.0.1:9229 --allow-write=. scripts/inspect.ts heap [out]
 *   deno run --allow-net=127.0.0.1:9229 --allow-write=. scripts/inspect.ts cpu 30 [out]
 *
 * `--at=host:port` (first) picks another inspector than 127.0.0.1:9229. With `--inspect-wait`
 * the process waits for a debugger: this tool lets it run first. Open the files in Chrome
 * DevTools (Memory / Performance panel) or VS Code.
 * @module
 */
const args = [...Deno.args];
const inspector = args[0]?.startsWith("--at=") ? args.shift()!.slice(5) : "127.0.0.1:9229";
const [mode, ...rest] = args;
if (mode !== "heap" && mode !== "cpu") {
  console.error("usage: inspect.ts [--at=host:port] heap [out] | cpu SECONDS [out]");
  Deno.exit(2);
}
const seconds = mode === "cpu" ? Number(rest.shift()) : 0;
if (mode === "cpu" && !(seconds > 0)) {
  console.error("inspect.ts cpu needs a positive number of seconds");
  Deno.exit(2);
}
const stamp = new Date().toISOString().replaceAll(":", "-");
const out = rest[0] ?? `pharos-${stamp}.${mode === "heap" ? "heapsnapshot" : "cpuprofile"}`;

const targets = await (await fetch(`http://${inspector}/json/list`)).json() as {
  webSocketDebuggerUrl: string;
  title: string;
}[];
if (targets[0] === undefined) throw new Error(`no inspector target at ${inspector}`);
console.error(`inspecting ${targets[0].title}`);
const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  socket.onopen = resolve;
  socket.onerror = () => reject(new Error(`cannot connect to ${inspector}`));
});

const file = await Deno.open(out, { write: true, create: true, truncate: true });
const encoder = new TextEncoder();
let written = 0;
let nextId = 0;
const replies = new Map<number, (reply: { result?: unknown; error?: unknown }) => void>();
socket.onmessage = ({ data }) => {
  const message = JSON.parse(data);
  if (message.method === "HeapProfiler.addHeapSnapshotChunk") {
    const bytes = encoder.encode(message.params.chunk);
    written += file.writeSync(bytes);
  } else if (typeof message.id === "number") {
    replies.get(message.id)?.(message);
  }
};
/** Sends one inspector command and resolves with its result. */
async function call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
  const id = ++nextId;
  const reply = await new Promise<{ result?: unknown; error?: unknown }>((resolve) => {
    replies.set(id, resolve);
    socket.send(JSON.stringify({ id, method, params }));
  });
  if (reply.error !== undefined) throw new Error(`${method}: ${JSON.stringify(reply.error)}`);
  return reply.result;
}

await call("Runtime.runIfWaitingForDebugger"); // no-op unless started with --inspect-wait
if (mode === "heap") {
  await call("HeapProfiler.enable");
  await call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
} else {
  await call("Profiler.enable");
  await call("Profiler.start");
  console.error(`profiling for ${seconds} s`);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const { profile } = await call("Profiler.stop") as { profile: unknown };
  written += file.writeSync(encoder.encode(JSON.stringify(profile)));
}
file.close();
socket.close();
console.log(`${out}: ${written} bytes`);
