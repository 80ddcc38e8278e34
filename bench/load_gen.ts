/**
 * The load generator, run as its own process so the server is what gets measured. It
 * opens the WebSocket clients, ingests events over HTTP and measures each delivery from
 * the moment its event was posted to the moment a client decoded it. Plans come as JSON
 * in the first argument; results go to stdout as JSON lines.
 * @module
 */
import { runEvents } from "./event_load.ts";
import { Histogram, type LatencySummary } from "./histogram.ts";
import {
  Completion,
  createPoster,
  drain,
  emit,
  MAX_SLOTS,
  openClients,
  ownCpuSeconds,
  sendAtRate,
  sendClosedLoop,
  sleep,
} from "./load_common.ts";
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

const decoder = new TextDecoder();
const SLOT_MARK = '"slot":';

async function runFanout(plan: FanoutPlan): Promise<void> {
  const sentAt = new Float64Array(MAX_SLOTS);
  const events = new Completion();
  let histogram = new Histogram();
  let delivered = 0;
  let lastReceipt = 0;
  let closed = 0;

  const onFrame = (data: ArrayBuffer | string) => {
    const now = performance.now();
    const text = typeof data === "string" ? data : decoder.decode(data);
    const at = text.indexOf(SLOT_MARK);
    if (at < 0) return;
    const slot = parseInt(text.slice(at + SLOT_MARK.length, at + SLOT_MARK.length + 12), 10);
    if (!(slot >= 0 && slot < MAX_SLOTS)) return;
    histogram.record(now - sentAt[slot]!);
    delivered++;
    lastReceipt = now;
    events.receive(slot);
  };
  const onClose = () => {
    closed++;
    events.leave();
  };

  const connectStart = performance.now();
  const { sockets, failed } = await openClients({
    url: plan.wsUrl,
    view: plan.view,
    count: plan.clients,
    concurrency: plan.connectConcurrency,
    onFrame,
    onClose,
  });
  events.alive = sockets.length;
  emit({
    event: "connected",
    clients: sockets.length,
    failed,
    connect_ms: Math.round(performance.now() - connectStart),
  });

  const poster = createPoster({
    url: plan.ingestUrl,
    ...(plan.token === undefined ? {} : { token: plan.token }),
    keys: plan.keys,
    retryAfterCapMs: 5,
  }, sentAt);
  /** Posts the next `count` events. */
  const postNext = (count: number) => {
    const from = events.sent;
    events.sent += count;
    return poster.post(from, events.sent);
  };

  for (const phase of plan.phases) {
    const firstSlot = events.sent;
    histogram = new Histogram();
    const deliveredBefore = delivered;
    const closedBefore = closed;
    poster.takeRejected();
    const cpuBefore = ownCpuSeconds();
    emit({ event: "phase-start", phase: phase.name });
    const started = performance.now();
    await (phase.name === "fixed" ? sendFixed(phase) : sendFlood(phase));
    emit({ event: "phase-sent", phase: phase.name });
    // Drain: wait until every live client has every event, or progress stops.
    await drain(() => events.done, () => delivered, plan.drainIdleMs);
    const sent = events.sent - firstSlot;
    const deliveredInPhase = delivered - deliveredBefore;
    const expected = sent * (sockets.length - closedBefore);
    const seconds = (Math.max(lastReceipt, started) - started) / 1000;
    const result: PhaseResult = {
      phase: phase.name,
      events_sent: sent,
      ingest_rejected: poster.takeRejected(),
      expected_deliveries: expected,
      delivered: deliveredInPhase,
      lost: Math.max(0, expected - deliveredInPhase),
      delivered_per_s: seconds > 0 ? Math.round(deliveredInPhase / seconds) : 0,
      seconds: Math.round(seconds * 1000) / 1000,
      latency_ms: histogram.summary(),
      clients_closed: closed - closedBefore,
      loadgen_cpu_pct: Math.round(
        ((ownCpuSeconds() - cpuBefore) / ((performance.now() - started) / 1000)) * 100,
      ),
    };
    emit({ event: "phase-end", result });
  }
  for (const socket of sockets) socket.close(1000, "bench done");
  await sleep(200);

  function sendFixed(phase: Extract<Phase, { name: "fixed" }>): Promise<void> {
    return sendAtRate(phase.rate, phase.seconds, Math.max(1, 1000 / phase.rate / 2), postNext);
  }

  function sendFlood(phase: Extract<Phase, { name: "flood" }>): Promise<void> {
    return sendClosedLoop(phase.seconds, {
      keepGoing: () => events.alive > 0,
      canSend: (inFlight) =>
        events.sent - events.completed + phase.batch <= phase.window && inFlight < phase.maxPosts,
      send: () => postNext(phase.batch),
      progress: () => events.progress(),
    });
  }
}

async function runIdle(plan: IdlePlan): Promise<void> {
  let closed = 0;
  const started = performance.now();
  const { sockets, failed } = await openClients({
    url: plan.wsUrl,
    view: plan.view,
    count: plan.connections,
    concurrency: plan.connectConcurrency,
    onFrame: () => {},
    onClose: () => closed++,
  });
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
else if (plan.mode === "events") await runEvents(plan);
else throw new Error(`unknown plan mode ${JSON.stringify((plan as { mode?: string }).mode)}`);
Deno.exit(0);
