/**
 * The load generator's event-throughput plan: subscribers of one view, each of which must
 * get one patch frame per accepted event. Subscribers are raw-socket clients
 * (raw_subscriber.ts), cheap per frame. Saturation phases count frames per subscriber
 * without decoding them (a subscriber gets frames in slot order, so its n-th frame is the
 * n-th event; its last frame is checked at the end); the fixed-rate phase decodes each
 * frame's slot and times it from just before its POST.
 *
 * With `plan.owned` (the row-rule runs), events name an owner, connections carry owners'
 * tokens, and under a row rule (or subscribed with its owner's key) each subscriber gets
 * only its owner's events: every `owners`-th slot, still in order, so counting works the
 * same.
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
  /** Its owner's index: the group whose events it gets under a row rule. */
  readonly group: number;
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

/**
 * The event slot of a live frame: a patch, or the upsert that brings a row into a row
 * group (its first event there); undefined for anything else (snapshots, gzip).
 */
function liveSlotOf(data: Uint8Array | undefined): number | undefined {
  if (data === undefined || data.length === 0 || data[0] === GZIP_MAGIC) return undefined;
  const text = decoder.decode(data);
  const op = text.indexOf(OP_MARK);
  if (op < 0) return undefined;
  const opAt = op + OP_MARK.length;
  if (!text.startsWith("patch", opAt) && !text.startsWith("upsert", opAt)) return undefined;
  const at = text.indexOf(SLOT_MARK);
  if (at < 0) return undefined;
  const slot = parseInt(text.slice(at + SLOT_MARK.length, at + SLOT_MARK.length + 12), 10);
  return slot > 0 && slot < MAX_SLOTS ? slot : undefined;
}

/**
 * Completion when each event goes to its owner's subscribers only (a row rule, or keyed
 * subscriptions): slot `s` belongs to owner `s % owners` (keys are a multiple of owners,
 * key `k` has owner `k % owners`).
 */
class GroupCompletion extends Completion {
  readonly #alive: number[];
  constructor(owners: number) {
    super();
    this.#alive = new Array<number>(owners).fill(0);
  }
  join(group: number): void {
    this.alive++;
    this.#alive[group]!++;
  }
  leaveGroup(group: number): void {
    this.#alive[group]!--;
    this.leave();
  }
  override receivers(slot: number): number {
    return this.#alive[slot % this.#alive.length]!;
  }
}

/** Runs `plan`'s phases in order, printing a `phase-start` and a `phase-end` line for each. */
export async function runEvents(plan: EventsPlan): Promise<void> {
  const sentAt = new Float64Array(MAX_SLOTS);
  const owned = plan.owned;
  const owners = owned?.owners ?? 1;
  if (plan.keys % owners !== 0) throw new RangeError("keys must be a multiple of owners");
  if (owned?.keyed === true && plan.keys !== owners) {
    throw new RangeError("keyed: keys must equal owners");
  }
  const grouped = owned?.ownEventsOnly === true ? new GroupCompletion(owners) : undefined;
  const events = grouped ?? new Completion();
  /** Slots between one frame of a subscriber and its next. */
  const stride = grouped === undefined ? 1 : owners;
  /** The first slot from `slot` on that `subscriber` gets. */
  const firstFor = (subscriber: Subscriber, slot: number) =>
    grouped === undefined ? slot : slot + (subscriber.group - (slot % owners) + owners) % owners;
  /** Where connection `i` connects: with its owner's token when events are owned. */
  const urlFor = (i: number) =>
    owned === undefined
      ? plan.wsUrl
      : `${plan.wsUrl}?hs_token=${encodeURIComponent(owned.tokens[i % owners]!)}`;
  const idle: RawSubscriber[] = [];
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
      const carried = liveSlotOf(data);
      if (carried === undefined) return; // the snapshot before its first live frame
      if (histogram !== undefined && slot !== 0 && carried !== slot) reordered++;
      slot = carried; // where this subscriber really is, whatever it missed
      histogram?.record(now - sentAt[carried]!);
    }
    subscriber.next = slot + stride;
    subscriber.frames++;
    frames++;
    lastReceipt = now;
    events.receive(slot);
  };
  const onClose = (subscriber: Subscriber, code: number) => {
    subscriber.closed = true;
    closed++;
    closeCodes[code] = (closeCodes[code] ?? 0) + 1;
    if (grouped === undefined) events.leave();
    else grouped.leaveGroup(subscriber.group);
  };

  const poster = createPoster({
    url: plan.ingestUrl,
    token: plan.token,
    keys: plan.keys,
    ...(owned === undefined ? {} : { owners }),
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

  let opened = 0;
  /** Opens subscribers until `total` are live (replacing any the server closed). */
  async function subscribe(total: number): Promise<void> {
    const wanted = total - subscribers.filter((s) => !s.closed).length;
    let failed = 0;
    await inPool(Math.max(0, wanted), plan.connectConcurrency, async () => {
      const index = opened++;
      const subscriber: Subscriber = { group: index % owners, next: 0, frames: 0, closed: false };
      try {
        subscriber.connection = await openRawSubscriber({
          url: urlFor(index),
          view: plan.view,
          ...(owned?.keyed === true ? { key: `mint${index % owners}` } : {}),
          onMessage: (payload, at) => onFrame(subscriber, payload, at),
          onClose: (code) => onClose(subscriber, code),
          readPauseMs: () => readPauseMs,
        });
      } catch {
        failed++;
        return;
      }
      subscribers.push(subscriber);
      if (grouped === undefined) events.alive++;
      else grouped.join(subscriber.group);
    });
    if (failed > 0) throw new Error(`${failed} of ${wanted} subscriptions failed`);
  }

  /** Opens the plan's idle connections (a token, no subscription), once. */
  async function openIdle(): Promise<void> {
    const count = owned?.idle ?? 0;
    let failed = 0;
    await inPool(count, plan.connectConcurrency, async () => {
      try {
        idle.push(
          await openRawSubscriber({
            url: urlFor(opened++),
            view: undefined,
            onMessage: () => {},
            onClose: () => {},
          }),
        );
      } catch {
        failed++;
      }
    });
    if (failed > 0) throw new Error(`${failed} of ${count} idle connections failed`);
  }

  const hasSlot = (slot: number) =>
    subscribers.every((s) => s.closed || s.next > firstFor(s, slot));
  /**
   * A barrier: posts one event at a time (one per owner under a row rule) until every
   * subscriber has the latest it gets, so every snapshot is behind them, and starts
   * completion afresh from there.
   */
  async function sync(): Promise<void> {
    decoding = true;
    const deadline = performance.now() + SYNC_TIMEOUT_MS;
    while (performance.now() < deadline) {
      const slot = events.sent;
      await postNext(stride);
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
      (_, i) => {
        const from = first + i * phase.batch;
        return transferBody(
          from,
          from + phase.batch,
          plan.keys,
          owned === undefined ? undefined : owners,
        );
      },
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

  await openIdle();
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
    let expected = 0;
    let lost = 0;
    let extra = 0;
    let invalid = 0;
    for (const subscriber of live) {
      // Under a row rule, the slots of its owner: every `owners`-th from its first.
      const first = firstFor(subscriber, firstSlot);
      const mine = first >= events.sent ? 0 : Math.ceil((events.sent - first) / stride);
      expected += mine;
      lost += Math.max(0, mine - subscriber.frames);
      extra += Math.max(0, subscriber.frames - mine);
      const last = liveSlotOf(subscriber.connection?.lastMessage());
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
      expected_frames: expected,
      received_frames: received,
      lost,
      extra,
      reordered,
      invalid,
      // Events as the subscribers saw them: accepted events, scaled by the share delivered.
      events_per_s: seconds > 0 && expected > 0
        ? Math.round((received / expected) * accepted / seconds)
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
  await Promise.all([
    ...subscribers.map((s) => s.closed ? undefined : s.connection?.close()),
    ...idle.map((connection) => connection.close()),
  ]);
}
