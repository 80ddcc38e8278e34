/**
 * The handler host: the child process that runs a stack's handlers (and key functions)
 * with only the permissions the stack declared. It keeps a mirror of the server's state
 * tables (seeded by the server, then changed by the same merges in the same order, so
 * both evict the same keys), runs each batch with the in-process VM, and answers with the
 * batch's raw patches and failures. The server applies them to its own tables; a host
 * that dies loses nothing the server had.
 */
import process from "node:process";
import { isStack, type PharosEvent, type Stack } from "../stack/mod.ts";
import { noopTelemetry, type VmTelemetry } from "../telemetry/mod.ts";
import { errorMessage, systemClock } from "../util/mod.ts";
import { createVm, encodeRaw, type Vm } from "../vm/mod.ts";
import { toManifest } from "./manifest.ts";
import {
  type ConsoleLine,
  type DoneMessage,
  type HostMessage,
  type HostSettings,
  MARK,
  type RunMessage,
  type SeedMessage,
  type ServerMessage,
  type UsageMessage,
  type WireFailure,
  type WireMutation,
  type WireRun,
} from "./protocol.ts";
import { HostCaptures } from "./host_capture.ts";
import { capture, inspector, markRunning } from "./host_prelude.ts";

const encoder = new TextEncoder();
const MARK_BYTES = new Uint8Array([MARK]);
const MAX_MESSAGE_CHARS = 1024;
const MEMORY_REPORT_MS = 1000;

/** Writes all of `bytes` to stdout (a pipe may take less than all of it per write). */
function writeAll(bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
}

function send(message: HostMessage): void {
  writeAll(encoder.encode(JSON.stringify(message) + "\n"));
}

function messageOf(error: unknown): [string, string] {
  const name = error instanceof Error ? error.name : "Error";
  const text = errorMessage(error);
  return [name, text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text];
}

/** Finds the stack a module exports as `exportName`. */
function stackOf(module: Record<string, unknown>, exportName: string): Stack {
  const stack = module[exportName];
  if (!isStack(stack)) {
    throw new TypeError(
      `export "${exportName}" of the stack module was not created with defineStack()`,
    );
  }
  return stack;
}

/** Runs batches for the server until stdin closes. Never returns normally before then. */
export async function runHost(
  module: Record<string, unknown>,
  exportName: string,
  settings: HostSettings,
): Promise<void> {
  let stack: Stack;
  try {
    stack = stackOf(module, exportName);
  } catch (error) {
    send({ t: "fatal", message: messageOf(error)[1] });
    return;
  }
  const durations: [string, string, number][] = [];
  const telemetry: VmTelemetry = {
    ...noopTelemetry.vm,
    handlerDuration: (entity, handler, seconds) => void durations.push([entity, handler, seconds]),
  };
  let vm: Vm = createHostVm(stack, settings, telemetry);
  markRunning();
  const ready = { t: "ready" as const, pid: Deno.pid, manifest: toManifest(stack) };
  const startLog = capture.take();
  send(startLog.length === 0 ? ready : { ...ready, log: startLog });

  let events: PharosEvent[] = [];
  let lastMemoryReport = -Infinity;
  const captures = new HostCaptures({ send, inspector, clock: systemClock });
  for await (const line of readLines(Deno.stdin.readable)) {
    const message = JSON.parse(line) as ServerMessage;
    if (message.t === "usage") {
      send(usage());
      continue;
    }
    if (message.t === "seed") {
      vm = createHostVm(stack, settings, telemetry);
      seedTables(vm, message);
      continue;
    }
    if (message.t !== "run") {
      // No run starts while V8 holds the thread for a capture; a profile then samples on.
      await captures.handle(message);
      continue;
    }
    if (message.events !== undefined) events = message.events as PharosEvent[];
    const done = await run(vm, events, message, durations);
    const now = systemClock.monotonic();
    if (now - lastMemoryReport >= MEMORY_REPORT_MS) {
      lastMemoryReport = now;
      const usage = Deno.memoryUsage();
      send({ ...done, mem: [usage.rss, usage.heapUsed] });
    } else send(done);
  }
  // The server closed stdin (it is gone or done with us): timers guest code left behind
  // must not keep this process alive.
  Deno.exit(0);
}

/**
 * This process's memory and CPU time. Both readings need no permission (`getrusage`, and V8's
 * own figures), so a host granted nothing can still give them; the server could not read
 * them itself, since Deno asks for `--allow-all` to read `/proc/<pid>`.
 */
function usage(): UsageMessage {
  const { rss, heapUsed } = Deno.memoryUsage();
  const { user, system } = process.cpuUsage();
  return { t: "usage", rss, heapUsed, cpu: (user + system) / 1e6 };
}

function createHostVm(stack: Stack, settings: HostSettings, telemetry: VmTelemetry): Vm {
  return createVm({
    stack,
    clock: systemClock,
    telemetry,
    stateTableSize: settings.stateTableSize,
    handlerTimeoutMs: settings.handlerTimeoutMs,
    functionCallMetrics: settings.functionCallMetrics,
    output: "raw",
    onRunStart: () => writeAll(MARK_BYTES),
  });
}

/** Replaces the mirror with the server's tables (numbering `_seq` is the server's job). */
function seedTables(vm: Vm, message: SeedMessage): void {
  vm.importState({ tables: message.tables, seq: { slot: null, next: 0 } });
}

async function run(
  vm: Vm,
  events: readonly PharosEvent[],
  message: RunMessage,
  durations: [string, string, number][],
): Promise<DoneMessage> {
  const startedAt = systemClock.monotonic();
  const result = await vm.processBatch(events, {
    from: message.from,
    ...(message.budgetMs === null ? {} : { budgetMs: message.budgetMs }),
    timings: message.timings,
    ...(message.skip.length === 0 ? {} : { skip: new Set(message.skip) }),
    ...(message.runs === true ? { runs: true } : {}),
  });
  const m: WireMutation[] = result.mutations.map((mutation, i) => [
    mutation.entity,
    mutation.key,
    encodeRaw(mutation.patch),
    result.mutationEvents[i]!,
  ]);
  const f: WireFailure[] = result.failures.map((failure) => {
    const code = failure.code;
    return [failure.entity, failure.handler, code, ...messageOf(failure.error), failure.event];
  });
  const done: { -readonly [K in keyof DoneMessage]: DoneMessage[K] } = {
    t: "done",
    id: message.id,
    next: result.next,
    m,
    f,
  };
  if (durations.length > 0) done.d = durations.splice(0);
  if (result.endedAt !== undefined) done.e = result.endedAt.map((at) => at - startedAt);
  if (result.runs !== undefined) {
    done.r = result.runs.map((run): WireRun => [
      run.entity,
      run.handler,
      run.event,
      run.key,
      run.durationMs,
    ]);
  }
  const log: ConsoleLine[] = capture.take();
  if (log.length > 0) done.log = log;
  return done;
}

/**
 * Lines of a byte stream (without their `\n`). Only each new chunk is searched for the
 * end of the line: a seed of many megabytes arrives in many chunks.
 */
async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pieces: string[] = [];
  for await (const chunk of stream) {
    let text = decoder.decode(chunk, { stream: true });
    let newline = text.indexOf("\n");
    while (newline !== -1) {
      pieces.push(text.slice(0, newline));
      yield pieces.join("");
      pieces = [];
      text = text.slice(newline + 1);
      newline = text.indexOf("\n");
    }
    if (text !== "") pieces.push(text);
  }
}
