/**
 * The load generator's event-throughput plan: subscribers of one view, each of which must
 * get one patch frame per accepted event. Subscribers are raw-socket clients
 * (raw_subscriber.ts), cheap per frame. Saturation phases count frames per subscriber
 * without decoding them (a subscriber gets frames in slot order, so its n-th frame is the
 * n-th event; its last frame is checked at the end); the fixed-rate phase decodes each
 * frame's slot and times it from just before its POST.
 * @module
 */
import { Histogram, type LatencySummary } from "./histogram.ts";
import {
  Completion,
  createPoster,
  drain,
  emit,
  inPool,
  MAX_SLOTS,
  ownCpuSeconds,
  sendAtRate,
  sendClosedLoop,
  sleep,
  transferBody,
} from "./load_common.ts";
import type { EventPhase, EventsPlan } from "./plan.ts";
import { openRawSubscriber, type RawSubscriber } from "./raw_subscriber.ts";

/** What one event-throughput phase measured. */
export interface EventPhaseResult {
  readonly phase: string;
  readonly kind: EventPhase["kind"];
  readonly subscribers: number;
  /** Events posted and answered 202 (503s are retried with the same body). */
  readonly events_accepted: number;
  readonly posts: number;
  /** 503 answers (each retried). */
  readonly ingest_rejected: number;
  /** `events_accepted` × subscribers. */
  readonly expected_frames: number;
  readonly received_frames: number;
  /** Frames missing after the drain, summed over subscribers. */
  readonly lost: number;
  /** Frames beyond one per event, summed over subscribers. */
  readonly extra: number;
  /**
   * Timed phases: frames whose slot was not the one after the previous frame's. Posts
   * overlap (one every few milliseconds), so the server may take them in another order:
   * a diagnostic, not a fault.
   */
  readonly reordered: number;
  /**
   * Counted phases: subscribers whose last frame was not a patch for an event of the
   * phase (frames are counted, not decoded; this checks they were the events' frames).
   */
  readonly invalid: number;
  /** Events applied per second as a subscriber saw them (frames ÷ subscribers ÷ seconds). */
  readonly events_per_s: number;
  readonly frames_per_s: number;
  /** From the phase's first post to its last frame. */
  readonly seconds: number;
  /** Event→frame latency (fixed-rate phases only). */
  readonly latency_ms: LatencySummary;
  readonly clients_closed: number;
  /** Close codes of the subscribers the server closed, with counts. */
  readonly close_codes: Readonly<Record<number, number>>;
  readonly loadgen_cpu_pct: number;
}

interface Subscriber {
  /** The slot its next frame carries; 0 until its first live frame. */
  next: number;
  /** Frames counted in the current phase. */
  frames: number;
  closed: boolean;
  connection?: RawSubscriber;
}

const SLOT_MARK = '"slot":';
const OP_MARK = '"op":"';
const GZIP_MAGIC = 0x1f;
const SYNC_TIMEOUT_MS = 10_000;
const decoder = new TextDecoder();

/** The event slot of a live patch frame; undefined for anything else (snapshots, gzip). */
function patchSlotOf(data: Uint8Array | undefined): number | undefined {
  if (data === undefined || data.length === 0 || data[0] === GZIP_MAGIC) return undefined;
  const text = decoder.decode(data);
  const op = text.indexOf(OP_MARK);
  if (op < 0 || !text.startsWith("patch", op + OP_MARK.length)) return undefined;
  const at = text.indexOf(SLOT_MARK);
  if (at < 0) return undefined;
  const slot = parseInt(text.slice(at + SLOT_MARK.length, at + SLOT_MARK.length + 12), 10);
  return slot > 0 && slot < MAX_SLOTS ? slot : undefined;
}

/** Runs `plan`'s phases in order, printing a `phase-start` and a `phase-end` line for each. */
export async function runEvents(plan: EventsPlan): Promise<void> {
  const sentAt = new Float64Array(MAX_SLOTS);
  const events = new Completion();
  events.sent = events.completed = 1; // slots start at 1
  const subscribers: Subscriber[] = [];
  let histogram: Histogram | undefined;
  /** Frames are decoded (during the sync barrier and timed phases), else only counted. */
  let decoding = false;
  let frames = 0;
  let lastReceipt = 0;
  let closed = 0;
  let reordered = 0;
  let posts = 0;
  let closeCodes: Record<number, number> = {};
  let readPauseMs = 0;

  const onFrame = (subscriber: Subscriber, data: Uint8Array, now: number) => {
    let slot = subscriber.next;
    if (slot === 0 || decoding) {
      const carried = patchSlotOf(data);
      if (carried === undefined) return; // the snapshot before its first live frame
      if (histogram !== undefined && slot !== 0 && carried !== slot) reordered++;
      slot = carried; // where this subscriber really is, whatever it missed
      histogram?.record(now - sentAt[carried]!);
    }
    subscriber.next = slot + 1;
    subscriber.frames++;
    frames++;
    lastReceipt = now;
    events.receive(slot);
  };
  const onClose = (subscriber: Subscriber, code: number) => {
    subscriber.closed = true;
    closed++;
    closeCodes[code] = (closeCodes[code] ?? 0) + 1;
    events.leave();
  };

  const poster = createPoster({
    url: plan.ingestUrl,
    token: plan.token,
    keys: plan.keys,
    retryAfterCapMs: plan.retryAfterCapMs,
  }, sentAt);
  /** Posts the next `count` events (`body`: prebuilt for exactly those). */
  const postNext = (count: number, body?: Uint8Array<ArrayBuffer>) => {
    const from = events.sent;
    if (from + count >= MAX_SLOTS) throw new RangeError(`more than ${MAX_SLOTS} events`);
    events.sent += count;
    posts++;
    return poster.post(from, events.sent, body);
  };

  /** Opens subscribers until `total` are live (replacing any the server closed). */
  async function subscribe(total: number): Promise<void> {
    const wanted = total - subscribers.filter((s) => !s.closed).length;
    let failed = 0;
    await inPool(Math.max(0, wanted), plan.connectConcurrency, async () => {
      const subscriber: Subscriber = { next: 0, frames: 0, closed: false };
      try {
        subscriber.connection = await openRawSubscriber({
          url: plan.wsUrl,
          view: plan.view,
          onMessage: (payload, at) => onFrame(subscriber, payload, at),
          onClose: (code) => onClose(subscriber, code),
          readPauseMs: () => readPauseMs,
        });
      } catch {
        failed++;
        return;
      }
      subscribers.push(subscriber);
      events.alive++;
    });
    if (failed > 0) throw new Error(`${failed} of ${wanted} subscriptions failed`);
  }

  const hasSlot = (slot: number) => subscribers.every((s) => s.closed || s.next > slot);
  /**
   * A barrier: posts one event at a time until every subscriber has the latest, so every
   * snapshot is behind them, and starts completion afresh from there.
   */
  async function sync(): Promise<void> {
    decoding = true;
    const deadline = performance.now() + SYNC_TIMEOUT_MS;
    while (performance.now() < deadline) {
      const slot = events.sent;
      await postNext(1);
      const until = Math.min(deadline, performance.now() + 1000);
      while (performance.now() < until && !hasSlot(slot)) await sleep(2);
      if (hasSlot(slot)) {
        events.completed = events.sent;
        decoding = false;
        return;
      }
    }
    throw new Error(`subscribers did not receive the sync event in ${SYNC_TIMEOUT_MS} ms`);
  }

  /** Bodies for the next `prebuiltEvents` events, `batch` a body, built before the clock starts. */
  function prebuild(
    phase: Extract<EventPhase, { kind: "saturate" }>,
  ): (Uint8Array<ArrayBuffer> | undefined)[] {
    const first = events.sent;
    return Array.from(
      { length: Math.floor(phase.prebuiltEvents / phase.batch) },
      (_, i) => transferBody(first + i * phase.batch, first + (i + 1) * phase.batch, plan.keys),
    );
  }

  function saturate(
    phase: Extract<EventPhase, { kind: "saturate" }>,
    bodies: (Uint8Array<ArrayBuffer> | undefined)[],
  ): Promise<void> {
    const window = phase.maxPosts * phase.batch;
    let next = 0;
    return sendClosedLoop(phase.seconds, {
      keepGoing: () => events.alive > 0,
      canSend: () => events.sent - events.completed + phase.batch <= window,
      send: () => {
        const body = bodies[next];
        bodies[next++] = undefined; // let it go once posted
        return postNext(phase.batch, body);
      },
      progress: () => events.progress(),
    });
  }

  for (const phase of plan.phases) {
    await subscribe(phase.subscribers);
    await sync();
    const live = subscribers.filter((s) => !s.closed);
    for (const subscriber of live) subscriber.frames = 0;
    const firstSlot = events.sent;
    const framesBefore = frames;
    const closedBefore = closed;
    const postsBefore = posts;
    reordered = 0;
    closeCodes = {};
    poster.takeRejected();
    const bodies = phase.kind === "saturate" ? prebuild(phase) : [];
    histogram = phase.kind === "fixed" ? new Histogram() : undefined;
    decoding = histogram !== undefined;
    readPauseMs = phase.kind === "saturate" ? phase.readPauseMs : 0;
    const cpuBefore = ownCpuSeconds();
    emit({ event: "phase-start", phase: phase.name });
    const started = performance.now();
    await (phase.kind === "saturate"
      ? saturate(phase, bodies)
      : sendAtRate(phase.rate, phase.seconds, phase.postIntervalMs, (count) => postNext(count)));
    await drain(() => events.done, () => frames, plan.drainIdleMs);
    readPauseMs = 0;
    const timed = histogram;
    histogram = undefined;
    decoding = false;
    const accepted = events.sent - firstSlot;
    let lost = 0;
    let extra = 0;
    let invalid = 0;
    for (const subscriber of live) {
      lost += Math.max(0, accepted - subscriber.frames);
      extra += Math.max(0, subscriber.frames - accepted);
      const last = patchSlotOf(subscriber.connection?.lastMessage());
      const ofPhase = last !== undefined && last >= firstSlot && last < events.sent;
      if (timed === undefined && subscriber.frames > 0 && !ofPhase) invalid++;
    }
    const received = frames - framesBefore;
    const seconds = (Math.max(lastReceipt, started) - started) / 1000;
    const result: EventPhaseResult = {
      phase: phase.name,
      kind: phase.kind,
      subscribers: live.length,
      events_accepted: accepted,
      posts: posts - postsBefore,
      ingest_rejected: poster.takeRejected(),
      expected_frames: accepted * live.length,
      received_frames: received,
      lost,
      extra,
      reordered,
      invalid,
      events_per_s: seconds > 0 && live.length > 0
        ? Math.round(received / live.length / seconds)
        : 0,
      frames_per_s: seconds > 0 ? Math.round(received / seconds) : 0,
      seconds: Math.round(seconds * 1000) / 1000,
      latency_ms: (timed ?? new Histogram()).summary(),
      clients_closed: closed - closedBefore,
      close_codes: closeCodes,
      loadgen_cpu_pct: Math.round(
        ((ownCpuSeconds() - cpuBefore) / ((performance.now() - started) / 1000)) * 100,
      ),
    };
    emit({ event: "phase-end", result });
  }
  await Promise.all(subscribers.map((s) => s.closed ? undefined : s.connection?.close()));
}
