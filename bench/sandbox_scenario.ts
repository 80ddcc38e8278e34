/**
 * The sandbox scenario's own measurements (its throughput half is the event scenario run
 * with `process` and `inline` isolation): how long after a runaway handler's event the
 * next event's frame arrives, `/health` while handlers run away, and how long after its
 * host is killed from outside the next batch runs (the warm spare taking over).
 * @module
 */
import { type ServerSpec, startServer } from "./processes.ts";
import { BENCH_TOKEN, type BenchSettings } from "./scenarios.ts";
import { median } from "./summary.ts";

/** What the runaway and replacement runs measured. */
export interface SandboxResult {
  readonly budget_ms: number;
  /** Per runaway: POST of [spin, tick] → the tick's frame at a subscriber. */
  readonly runaway_next_frame_ms: readonly number[];
  /** The same for [tick] alone on a healthy host: what the path costs anyway. */
  readonly healthy_frame_ms: readonly number[];
  /** `/health` while handlers ran away (probed back to back). */
  readonly health_ms: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly health_probes: number;
  readonly health_failures: number;
  /** Per kill: SIGKILL of the active host → the next event's frame. */
  readonly kill_next_frame_ms: readonly number[];
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const round2 = (n: number) => Math.round(n * 100) / 100;

/** A WebSocket subscriber to `Tick/list` that resolves waits for a key's patch. */
async function subscriber(port: number) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
  socket.binaryType = "arraybuffer";
  const waiting = new Map<string, (at: number) => void>();
  const decoder = new TextDecoder();
  socket.onmessage = (message) => {
    const at = performance.now();
    const bytes = typeof message.data === "string" ? undefined : new Uint8Array(message.data);
    if (bytes !== undefined && bytes[0] === 0x1f && bytes[1] === 0x8b) return; // a gzipped snapshot
    const frame = JSON.parse(bytes === undefined ? message.data : decoder.decode(bytes));
    if (frame.op === "patch") waiting.get(String(frame.key))?.(at);
  };
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  socket.send(JSON.stringify({ type: "subscribe", view: "Tick/list" }));
  return {
    /** When the patch for `key` arrived; fails after 10 s rather than hang the benchmark. */
    frameOf: (key: string) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no frame for ${key} in 10 s`)), 10_000);
        waiting.set(key, (at) => {
          clearTimeout(timer);
          waiting.delete(key);
          resolve(at);
        });
      }),
    close: () => socket.close(),
  };
}

async function post(base: string, events: unknown[]): Promise<void> {
  const response = await fetch(`${base}/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": "application/x-ndjson" },
    body: events.map((e) => JSON.stringify(e)).join("\n"),
  });
  await response.body?.cancel();
  if (response.status !== 202) throw new Error(`ingest answered ${response.status}`);
}

async function hostStatus(base: string): Promise<{ pid: number | null; sparePid: number | null }> {
  const status = await (await fetch(`${base}/status`)).json();
  return status.handlers;
}

/** Waits until a spare is up (so a kill meets a warm spare, as in production). */
async function warmSpare(base: string): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const { pid, sparePid } = await hostStatus(base);
    if (pid !== null && sparePid !== null) return pid;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("no warm spare within 10 s");
}

/** Runs the runaway and kill measurements on a fresh Pharos with the runaway stack. */
export async function runSandbox(
  spec: ServerSpec,
  settings: BenchSettings,
): Promise<SandboxResult> {
  const budget = settings.sandboxBudgetMs;
  await using server = await startServer({
    ...spec,
    env: {
      ...spec.env,
      PHAROS_STACK: "bench/runaway_stack.ts",
      PHAROS_SOURCES: "ingest",
      PHAROS_HANDLER_TIMEOUT_MS: String(budget),
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  const client = await subscriber(server.port);
  try {
    let n = 0;
    const tick = () => ({ type: "Tick", key: `k${++n}`, data: {} });
    const timed = async (events: unknown[], key: string) => {
      const frame = client.frameOf(key);
      const sentAt = performance.now();
      await post(base, events);
      return (await frame) - sentAt;
    };
    // Warm-up: the first frames pay for JIT and the first snapshot.
    for (let i = 0; i < 20; i++) {
      const event = tick();
      await timed([event], event.key);
    }
    const healthy: number[] = [];
    const runaway: number[] = [];
    const health: number[] = [];
    let failures = 0;
    for (let i = 0; i < settings.sandboxRunaways; i++) {
      await warmSpare(base);
      const event = tick();
      healthy.push(await timed([event], event.key));
      const after = tick();
      let running = true;
      const probing = (async () => {
        while (running) {
          const startedAt = performance.now();
          try {
            const response = await fetch(`${base}/health`);
            await response.body?.cancel();
            if (response.status !== 200) failures++;
          } catch {
            failures++;
          }
          health.push(performance.now() - startedAt);
        }
      })();
      runaway.push(await timed([{ type: "Spin", key: `spin${i}`, data: {} }, after], after.key));
      running = false;
      await probing;
    }
    const kills: number[] = [];
    for (let i = 0; i < settings.sandboxKills; i++) {
      const pid = await warmSpare(base);
      const event = tick();
      const frame = client.frameOf(event.key);
      const killedAt = performance.now();
      Deno.kill(pid, "SIGKILL");
      await post(base, [event]);
      kills.push((await frame) - killedAt);
    }
    const sorted = [...health].sort((a, b) => a - b);
    return {
      budget_ms: budget,
      runaway_next_frame_ms: runaway.map(round2),
      healthy_frame_ms: healthy.map(round2),
      health_ms: {
        p50: round2(percentile(sorted, 0.5)),
        p99: round2(percentile(sorted, 0.99)),
        max: round2(sorted.at(-1) ?? NaN),
      },
      health_probes: health.length,
      health_failures: failures,
      kill_next_frame_ms: kills.map(round2),
    };
  } finally {
    client.close();
  }
}

/** Median and worst of a list of milliseconds, for the report. */
export function medianAndMax(values: readonly number[]): string {
  return `median ${round2(median([...values]))} ms, max ${round2(Math.max(...values))} ms`;
}
