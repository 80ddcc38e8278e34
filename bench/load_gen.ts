// deno-lint-ignore-file no-console -- a benchmark process reports on stdout
/**
 * The load generator, run as its own process so the server is what gets measured. It
 * opens the WebSocket clients, ingests events over HTTP and measures each delivery from
 * the moment its event was posted to the moment a client decoded it. Plans come as JSON
 * in the first argument; results go to stdout as JSON lines.
 * @module
 */
import process from "node:process";
import { Histogram, type LatencySummary } from "./histogram.ts";
import type { FanoutPlan, IdlePlan, LoadPlan, Phase } from "./plan.ts";

/** What one fan-out phase measured. */
export interface PhaseResult {
  readonly phase: string;
  readonly events_sent: number;
  readonly ingest_rejected: number;
  readonly expected_deliveries: number;
  readonly delivered: number;
  readonly lost: number;
  readonly delivered_per_s: number;
  readonly seconds: number;
  readonly latency_ms: LatencySummary;
  readonly clients_closed: number;
  readonly loadgen_cpu_pct: number;
}

const MAX_EVENTS = 4_000_000;
const decoder = new TextDecoder();
const SLOT_MARK = '"slot":';

function emit(line: Record<string, unknown>): void {
  console.log(JSON.stringify(line));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens `count` sockets, `concurrency` at a time, each subscribed to `view`. */
async function openClients(
  url: string,
  view: string,
  count: number,
  concurrency: number,
  onFrame: (data: ArrayBuffer | string) => void,
  onClose: (code: number) => void,
): Promise<{ sockets: WebSocket[]; failed: number }> {
  const sockets: WebSocket[] = [];
  let failed = 0;
  let next = 0;
  const openOne = () =>
    new Promise<void>((resolve) => {
      const socket = new WebSocket(url);
      socket.binaryType = "arraybuffer";
      let acked = false;
      socket.onopen = () => socket.send(JSON.stringify({ type: "subscribe", view }));
      socket.onmessage = (event) => {
        const text = acked
          ? ""
          : typeof event.data === "string"
          ? event.data
          : decoder.decode(event.data);
        if (!acked && text.includes('"subscribed"')) {
          acked = true;
          sockets.push(socket);
          resolve();
          return;
        }
        onFrame(event.data);
      };
      socket.onclose = (event) => {
        if (!acked) {
          failed++;
          resolve();
        } else onClose(event.code);
      };
      socket.onerror = () => {};
    });
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next++;
      await openOne();
    }
  });
  await Promise.all(workers);
  return { sockets, failed };
}

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

async function runFanout(plan: FanoutPlan): Promise<void> {
  const sentAt = new Float64Array(MAX_EVENTS);
  const received = new Uint32Array(MAX_EVENTS);
  let histogram = new Histogram();
  let delivered = 0;
  let lastReceipt = 0;
  let closed = 0;
  let alive = 0;
  // Events every live client has received, counted in order (each client gets them in order).
  let completed = 0;
  let sent = 0;
  let wakeSender: (() => void) | undefined;

  const advanceCompleted = () => {
    while (completed < sent && received[completed]! >= alive) completed++;
    if (wakeSender !== undefined) {
      const wake = wakeSender;
      wakeSender = undefined;
      wake();
    }
  };

  const onFrame = (data: ArrayBuffer | string) => {
    const now = performance.now();
    const text = typeof data === "string" ? data : decoder.decode(data);
    const at = text.indexOf(SLOT_MARK);
    if (at < 0) return;
    const slot = parseInt(text.slice(at + SLOT_MARK.length, at + SLOT_MARK.length + 12), 10);
    if (!(slot >= 0 && slot < MAX_EVENTS)) return;
    histogram.record(now - sentAt[slot]!);
    delivered++;
    lastReceipt = now;
    if (++received[slot]! >= alive && slot === completed) advanceCompleted();
  };
  const onClose = () => {
    closed++;
    alive--;
    advanceCompleted();
  };

  const connectStart = performance.now();
  const { sockets, failed } = await openClients(
    plan.wsUrl,
    plan.view,
    plan.clients,
    plan.connectConcurrency,
    onFrame,
    onClose,
  );
  alive = sockets.length;
  emit({
    event: "connected",
    clients: sockets.length,
    failed,
    connect_ms: Math.round(performance.now() - connectStart),
  });

  const headers = {
    "content-type": "application/x-ndjson",
    ...(plan.token === undefined ? {} : { authorization: `Bearer ${plan.token}` }),
  };
  let rejected = 0;
  const eventLine = (slot: number) =>
    JSON.stringify({
      type: "Transfer",
      slot,
      data: {
        mint: `mint${slot % plan.keys}`,
        from: `wallet${slot % 97}`,
        to: `wallet${(slot * 7) % 89}`,
        amount: String(1_000_000 + slot),
      },
    });
  /** Posts events [from, to); retries on 503 (pipeline full) until accepted. */
  const post = async (from: number, to: number): Promise<void> => {
    const lines: string[] = [];
    for (let slot = from; slot < to; slot++) lines.push(eventLine(slot));
    const body = lines.join("\n");
    for (;;) {
      const now = performance.now();
      for (let slot = from; slot < to; slot++) sentAt[slot] = now;
      const response = await fetch(plan.ingestUrl, { method: "POST", headers, body });
      await response.body?.cancel();
      if (response.ok) return;
      if (response.status !== 503) throw new Error(`ingest answered ${response.status}`);
      rejected++;
      await sleep(5);
    }
  };

  for (const phase of plan.phases) {
    const firstSlot = sent;
    histogram = new Histogram();
    const deliveredBefore = delivered;
    const closedBefore = closed;
    rejected = 0;
    const cpuBefore = cpuSeconds();
    emit({ event: "phase-start", phase: phase.name });
    const started = performance.now();
    await (phase.name === "fixed" ? sendFixed(phase) : sendFlood(phase));
    emit({ event: "phase-sent", phase: phase.name });
    // Drain: wait until every live client has every event, or progress stops.
    let lastProgress = performance.now();
    let lastDelivered = delivered;
    while (completed < sent && performance.now() - lastProgress < plan.drainIdleMs) {
      await sleep(20);
      if (delivered !== lastDelivered) {
        lastDelivered = delivered;
        lastProgress = performance.now();
      }
    }
    const events = sent - firstSlot;
    const deliveredInPhase = delivered - deliveredBefore;
    const expected = events * (sockets.length - closedBefore);
    const seconds = (Math.max(lastReceipt, started) - started) / 1000;
    const result: PhaseResult = {
      phase: phase.name,
      events_sent: events,
      ingest_rejected: rejected,
      expected_deliveries: expected,
      delivered: deliveredInPhase,
      lost: Math.max(0, expected - deliveredInPhase),
      delivered_per_s: seconds > 0 ? Math.round(deliveredInPhase / seconds) : 0,
      seconds: Math.round(seconds * 1000) / 1000,
      latency_ms: histogram.summary(),
      clients_closed: closed - closedBefore,
      loadgen_cpu_pct: Math.round(
        ((cpuSeconds() - cpuBefore) / ((performance.now() - started) / 1000)) * 100,
      ),
    };
    emit({ event: "phase-end", result });
  }
  for (const socket of sockets) socket.close(1000, "bench done");
  await sleep(200);

  async function sendFixed(phase: Extract<Phase, { name: "fixed" }>): Promise<void> {
    const start = performance.now();
    const total = Math.round(phase.rate * phase.seconds);
    const base = sent;
    const posts: Promise<void>[] = [];
    while (sent - base < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * phase.rate));
      if (due > sent - base) {
        const from = sent;
        sent = base + due;
        posts.push(post(from, sent));
      }
      await sleep(Math.max(1, 1000 / phase.rate / 2));
    }
    await Promise.all(posts);
  }

  async function sendFlood(phase: Extract<Phase, { name: "flood" }>): Promise<void> {
    const end = performance.now() + phase.seconds * 1000;
    let inFlight = 0;
    const posts = new Set<Promise<void>>();
    while (performance.now() < end && alive > 0) {
      if (sent - completed + phase.batch <= phase.window && inFlight < phase.maxPosts) {
        const from = sent;
        sent += phase.batch;
        inFlight++;
        const request = post(from, sent).finally(() => {
          inFlight--;
          posts.delete(request);
        });
        posts.add(request);
        continue;
      }
      // Wait for deliveries to complete events (or a post to finish), at most 5 ms.
      await Promise.race([
        new Promise<void>((resolve) => (wakeSender = resolve)),
        sleep(5),
        ...posts,
      ]);
    }
    await Promise.all(posts);
  }
}

async function runIdle(plan: IdlePlan): Promise<void> {
  let closed = 0;
  const started = performance.now();
  const { sockets, failed } = await openClients(
    plan.wsUrl,
    plan.view,
    plan.connections,
    plan.connectConcurrency,
    () => {},
    () => closed++,
  );
  emit({
    event: "held",
    connections: sockets.length,
    failed,
    connect_ms: Math.round(performance.now() - started),
  });
  // Hold until the orchestrator closes stdin.
  for await (const _ of Deno.stdin.readable) { /* wait */ }
  emit({ event: "released", closed_meanwhile: closed });
  for (const socket of sockets) socket.close(1000, "bench done");
  await sleep(200);
}

const plan = JSON.parse(Deno.args[0] ?? "{}") as LoadPlan;
if (plan.mode === "fanout") await runFanout(plan);
else if (plan.mode === "idle") await runIdle(plan);
else throw new Error(`unknown plan mode ${JSON.stringify((plan as { mode?: string }).mode)}`);
Deno.exit(0);
