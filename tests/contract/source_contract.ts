/**
 * The rules every {@link Source} must follow. A kind's test file calls
 * `runSourceContract("name", createHarness)` with a {@link SourceHarness} that builds the
 * source and plays its upstream; the suite drives it through a recording
 * {@link SourceContext} shaped exactly as `src/sources/types.ts` defines it.
 *
 * Steps a kind cannot take are registered as ignored, their name saying why: the harness
 * gives the reason for a missing capability (`unsupported`), and the delivery channel rules
 * out the sink steps for `offer` sources and the offer step for `sink` sources.
 * @module
 */
import assert from "node:assert/strict";
import type { Source, SourceContext, SourceStatus } from "../../src/sources/mod.ts";
import { isSeq, parseEvent, type PharosEvent, toSeq } from "../../src/stack/mod.ts";
import { nextTurn, until } from "../wait.ts";

/**
 * How a kind's events come about:
 * - `live`: `produce()` while the source runs, once it reported `connected` (ingest, upstream);
 * - `recorded`: `produce()` before `start()`: the recording is read when the source starts
 *   (replay);
 * - `own`: the source makes its own events and there is no `produce()` (demo).
 */
export type Production = "live" | "recorded" | "own";

/**
 * Which context member a kind delivers through: `sink` (awaits each event: backpressure) or
 * `offer` (all of a batch or none, never waiting: sources that must answer a producer now).
 */
export type Delivery = "sink" | "offer";

/** One kind's source and its upstream, fresh for each step; disposed at the end of it. */
export interface SourceHarness extends AsyncDisposable {
  readonly production: Production;
  readonly delivery: Delivery;
  /** A new source instance; `resumeFrom` (a `_seq`) only when `supportsResume`. */
  create(resumeFrom?: string): Source;
  /**
   * Makes the upstream produce `events`, in order (POST them to the instance `create()` made
   * last, publish them on the feed, append them to the recording, …). One call is one batch
   * for `offer` kinds. Resolves once the upstream has sent them; it does not throw when the
   * source refuses them (stopped, pipeline full). Present exactly when `production` is not `own`.
   */
  produce?(events: readonly PharosEvent[]): Promise<void>;
  /**
   * Breaks the upstream for good (kills the feed, deletes the recording), for kinds that can
   * lose theirs. Called before `start()` for every such kind, and also while running for
   * `live` ones.
   */
  breakUpstream?(): Promise<void>;
  /**
   * Moves time on, for a kind that makes its own events on a clock (demo, on a `FakeClock`):
   * the contract calls it while it waits for deliveries, and before it checks that nothing
   * more happened (after stop(), or while the sink is held), so absence is checked over
   * time that passed, not time slept. Absent for kinds whose events come from `produce()`.
   */
  advance?(): Promise<void>;
  /**
   * After stop() resolved: resolves once nothing the upstream sent can reach the source any
   * more (upstream: the feed saw its socket close). Absent where stop() resolving is that
   * barrier already (a replay's read loop has ended; ingest answers each POST itself).
   */
  disconnected?(): Promise<void>;
  /** True when the source has `cursor()` and resumes from it (new instance or restart). */
  readonly supportsResume: boolean;
  /** Why a capability is missing; required for each one that is, so no step is skipped silently. */
  readonly unsupported?: {
    readonly breakUpstream?: string;
    readonly resume?: string;
  };
}

/** Creates a fresh harness (and upstream) for one step. */
export type CreateSourceHarness = () => SourceHarness | Promise<SourceHarness>;

/** Waits for `check`, moving the kind's own clock on meanwhile (see {@link SourceHarness.advance}). */
export async function eventually(
  harness: Pick<SourceHarness, "advance">,
  check: () => boolean,
  what: string,
): Promise<void> {
  await until(async () => {
    if (check()) return true;
    await harness.advance?.();
    return check();
  }, what);
}

/**
 * Contract events `from` … `from + count - 1`: `data.n` is the number, and four per slot
 * with explicit indexes, so every event has the `_seq` `toSeq(slot, index)`.
 */
export function contractEvents(from: number, count: number): PharosEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return {
      type: "ContractTick",
      key: `k${n % 3}`,
      slot: 5000 + Math.floor(n / 4),
      index: n % 4,
      data: { n },
    };
  });
}

function seqOf(event: PharosEvent): string {
  assert.ok(event.slot !== undefined && event.index !== undefined, "a contract event has a _seq");
  return toSeq(event.slot, event.index);
}

type StatusRecord = readonly [SourceStatus, string | undefined];

/** A {@link SourceContext} that records what the source does with it. */
interface Recorder {
  readonly context: SourceContext;
  /** Events whose sink call resolved, or that an accepted offer carried, in order. */
  readonly delivered: PharosEvent[];
  readonly statuses: StatusRecord[];
  /** Calls made after `seal()` (the source had been stopped): each one breaks the contract. */
  readonly late: string[];
  readonly sinkCalls: number;
  readonly offerCalls: number;
  /** Most sink calls pending at once. */
  readonly maxInFlight: number;
  /** Sink call number `from` (1-based) and later wait until `release()`. */
  hold(from: number): void;
  release(): void;
  /** Sink call number `call` (1-based) rejects with `error`. */
  failSinkCall(call: number, error: Error): void;
  /** While true, `offer` refuses every batch, as a full pipeline does. */
  refuseOffers: boolean;
  /** Marks the source as stopped: any call from here on is recorded in `late`. */
  seal(): void;
}

function createRecorder(): Recorder {
  const delivered: PharosEvent[] = [];
  const statuses: StatusRecord[] = [];
  const late: string[] = [];
  let sinkCalls = 0;
  let offerCalls = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let sealed = false;
  let gate: { from: number; promise: Promise<void>; open: () => void } | undefined;
  let failure: { call: number; error: Error } | undefined;
  const recorder: Recorder = {
    context: {
      async sink(event) {
        const call = ++sinkCalls;
        if (sealed) late.push(`sink(${JSON.stringify(event.data)})`);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          if (gate !== undefined && call >= gate.from) await gate.promise;
          if (failure?.call === call) throw failure.error;
          delivered.push(event);
        } finally {
          inFlight--;
        }
      },
      offer(events) {
        offerCalls++;
        if (sealed) late.push(`offer(${events.length} events)`);
        if (recorder.refuseOffers) return false;
        delivered.push(...events);
        return true;
      },
      capacity: 10_000,
      onStatus(status, message) {
        if (sealed) late.push(`onStatus(${status}, ${message})`);
        statuses.push([status, message]);
      },
    },
    delivered,
    statuses,
    late,
    get sinkCalls() {
      return sinkCalls;
    },
    get offerCalls() {
      return offerCalls;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    hold(from) {
      const { promise, resolve } = Promise.withResolvers<void>();
      gate = { from, promise, open: resolve };
    },
    release() {
      gate?.open();
      gate = undefined;
    },
    failSinkCall(call, error) {
      failure = { call, error };
    },
    refuseOffers: false,
    seal() {
      sealed = true;
    },
  };
  return recorder;
}

const lastStatus = (recorder: Recorder) => recorder.statuses.at(-1)?.[0];

/** A status saying something went wrong, with the message saying what. */
function isFailure([status, message]: StatusRecord): boolean {
  return (status === "error" || status === "reconnecting") && (message ?? "").trim() !== "";
}

/**
 * Starts `source` on `recorder` with `events` from its upstream: produced before start() for
 * recorded kinds, after `connected` for live ones. start() must resolve (never reject) and
 * have reported a status by then, so the health board never shows a source as unknown.
 */
async function begin(
  harness: SourceHarness,
  source: Source,
  recorder: Recorder,
  events?: readonly PharosEvent[],
): Promise<void> {
  if (events !== undefined && harness.production === "recorded") await harness.produce!(events);
  await assert.doesNotReject(source.start(recorder.context), "start() must not reject");
  assert.ok(recorder.statuses.length > 0, "start() resolved without reporting a status");
  if (events !== undefined && harness.production === "live") {
    await eventually(
      harness,
      () => recorder.statuses.some(([status]) => status === "connected"),
      "the source to report connected",
    );
    await harness.produce!(events);
  }
}

/** Stops `source`, then seals `recorder` and keeps the upstream busy: nothing may follow. */
async function stopAndWatch(harness: SourceHarness, source: Source, recorder: Recorder) {
  await assert.doesNotReject(source.stop(), "stop() must not reject");
  recorder.seal();
  await afterStop(harness);
}

/**
 * The barrier after stop(): the upstream produces more (and the kind's own clock moves on),
 * and anything the source still did with its context is then recorded as late.
 */
async function afterStop(harness: SourceHarness): Promise<void> {
  if (harness.produce !== undefined) await harness.produce(contractEvents(900, 4));
  await harness.advance?.();
  await harness.disconnected?.();
}

/**
 * Waits until nothing produced so far can still reach `recorder`: a live kind's upstream
 * produces one more event (`marker`), which must arrive after every earlier one; a recorded
 * kind reports `disconnected` once it has read its recording to the end. Returns the
 * marker, for the live kinds, so the caller counts it among what was produced.
 */
async function caughtUp(
  harness: SourceHarness,
  recorder: Recorder,
  marker: PharosEvent,
): Promise<PharosEvent | undefined> {
  if (harness.production === "recorded") {
    await eventually(
      harness,
      () => lastStatus(recorder) === "disconnected",
      "the end of the recording (disconnected)",
    );
    return undefined;
  }
  await harness.produce!([marker]);
  await eventually(
    harness,
    () => recorder.delivered.some((event) => event.data.n === marker.data.n),
    "the marker event, produced after the others",
  );
  return marker;
}

/** What holds after every step: only the declared channel used, nothing after stop(). */
function assertClean(harness: SourceHarness, ...recorders: Recorder[]): void {
  for (const recorder of recorders) {
    assert.deepEqual(recorder.late, [], "the source used its context after stop() resolved");
    if (harness.delivery === "sink") {
      assert.equal(recorder.offerCalls, 0, "a sink source never offers");
    } else {
      assert.equal(recorder.sinkCalls, 0, "an offer source never waits on the sink");
    }
  }
}

const ns = (events: readonly PharosEvent[]) => events.map((event) => event.data.n);

/** The union of deliveries is `expected` by `_seq`: nothing twice, nothing missing, in order. */
function assertExactlyOnce(delivered: readonly PharosEvent[], expected: readonly PharosEvent[]) {
  const seqs = delivered.map(seqOf);
  const repeated = seqs.filter((seq, i) => seqs.indexOf(seq) !== i);
  assert.deepEqual(repeated, [], "events delivered twice across the resume");
  const missing = expected.map(seqOf).filter((seq) => !seqs.includes(seq));
  assert.deepEqual(missing, [], "events lost across the resume");
  assert.deepEqual(seqs, expected.map(seqOf), "deliveries in _seq order");
}

/** Checks the harness declares a reason for every capability it lacks, and no other. */
function assertConsistent(name: string, harness: SourceHarness): void {
  const own = harness.production === "own";
  assert.equal(
    harness.produce === undefined,
    own,
    `${name}: produce() must be present exactly when production is not "own"`,
  );
  assert.equal(
    harness.advance !== undefined,
    own,
    `${name}: advance() must be present exactly when production is "own"`,
  );
  assert.equal(
    harness.breakUpstream === undefined,
    harness.unsupported?.breakUpstream !== undefined,
    `${name}: give unsupported.breakUpstream exactly when breakUpstream() is missing`,
  );
  assert.equal(
    !harness.supportsResume,
    harness.unsupported?.resume !== undefined,
    `${name}: give unsupported.resume exactly when supportsResume is false`,
  );
}

/** Registers the source contract suite as one `Deno.test` named after the kind. */
export function runSourceContract(name: string, createHarness: CreateSourceHarness): void {
  Deno.test(`source contract: ${name}`, async (t) => {
    const probe = await createHarness();
    const { production, delivery, supportsResume } = probe;
    const canBreak = probe.breakUpstream !== undefined;
    const unsupported = probe.unsupported ?? {};
    try {
      assertConsistent(name, probe);
    } finally {
      await probe[Symbol.asyncDispose]();
    }
    const produced = production !== "own";
    const viaSink = delivery === "sink";

    /** A step, or an ignored one whose name says why the kind cannot take it. */
    const step = (title: string, skipReason: string | undefined, fn: () => Promise<void>) =>
      t.step({
        name: skipReason === undefined ? title : `${title} (skipped: ${skipReason})`,
        ignore: skipReason !== undefined,
        fn,
      });
    const offerOnly = `${name} delivers through offer(), never awaiting the sink`;
    const sinkOnly = `${name} delivers through the sink, never offer()`;

    await step(
      "1. start() resolves with a status; events reach the sink valid, whole and in order",
      undefined,
      async () => {
        await using harness = await createHarness();
        const recorder = createRecorder();
        const source = harness.create();
        assert.ok(typeof source.name === "string" && source.name !== "", "a name");
        assert.ok(typeof source.kind === "string" && source.kind !== "", "a kind");
        assert.ok(typeof source.stream === "string" && source.stream !== "", "a stream, for logs");
        assert.equal(
          typeof source.cursor === "function",
          supportsResume,
          "cursor() exists exactly when the kind resumes",
        );
        if (supportsResume) assert.equal(source.cursor!(), undefined, "no cursor before events");
        const events = produced ? contractEvents(0, 10) : undefined;
        await begin(harness, source, recorder, events);
        await eventually(
          harness,
          () => recorder.delivered.length >= (events?.length ?? 10),
          "the events to be delivered",
        );
        if (events !== undefined) {
          const marker = await caughtUp(harness, recorder, contractEvents(10, 1)[0]!);
          const all = marker === undefined ? events : [...events, marker];
          assert.deepEqual(ns(recorder.delivered), ns(all), "in the order produced, once");
          assert.deepEqual(recorder.delivered, all, "delivered as produced");
        }
        assert.ok(
          recorder.statuses.some(([status]) => status === "connected"),
          "reported connected while delivering",
        );
        for (const event of recorder.delivered) {
          assert.deepEqual(parseEvent(event), event, "a valid event without extra fields");
        }
        const slots = recorder.delivered.map((event) => event.slot);
        for (let i = 1; i < slots.length; i++) {
          assert.ok(
            slots[i] !== undefined && slots[i]! >= slots[i - 1]!,
            `slots never decrease: ${slots.join(",")}`,
          );
        }
        await source.stop();
        assertClean(harness, recorder);
      },
    );

    await step(
      "2. stop() resolves and reports disconnected; nothing reaches the context after it",
      undefined,
      async () => {
        await using harness = await createHarness();
        const recorder = createRecorder();
        const source = harness.create();
        await begin(harness, source, recorder, produced ? contractEvents(0, 4) : undefined);
        await eventually(harness, () => recorder.delivered.length >= 4, "some deliveries");
        await stopAndWatch(harness, source, recorder);
        assert.equal(lastStatus(recorder), "disconnected", "disconnected once stopped");
        await assert.doesNotReject(source.stop(), "a second stop() resolves too");
        assertClean(harness, recorder);
      },
    );

    await step(
      "2b. stop() during a slow sink call: nothing reaches the sink after it resolves",
      viaSink ? undefined : offerOnly,
      async () => {
        await using harness = await createHarness();
        const recorder = createRecorder();
        const source = harness.create();
        recorder.hold(2);
        await begin(harness, source, recorder, produced ? contractEvents(0, 8) : undefined);
        await eventually(harness, () => recorder.sinkCalls >= 2, "a sink call in flight");
        const stopping = source.stop();
        await nextTurn(); // stop() is under way while the sink call is still held
        recorder.release();
        await assert.doesNotReject(stopping, "stop() must not reject");
        recorder.seal();
        await afterStop(harness);
        assert.equal(recorder.sinkCalls, 2, "no sink call after the one in flight");
        assert.equal(lastStatus(recorder), "disconnected");
        assertClean(harness, recorder);
      },
    );

    await step(
      "3a. an upstream broken before start(): start() resolves, the failure is a status",
      canBreak ? undefined : unsupported.breakUpstream,
      async () => {
        await using harness = await createHarness();
        const recorder = createRecorder();
        await harness.breakUpstream!();
        const source = harness.create();
        await begin(harness, source, recorder);
        await eventually(
          harness,
          () => recorder.statuses.some(isFailure),
          "an error or reconnecting status with a message",
        );
        assert.deepEqual(recorder.delivered, []);
        await stopAndWatch(harness, source, recorder);
        assert.ok(
          ["disconnected", "error"].includes(lastStatus(recorder)!),
          `not connected once stopped: ${JSON.stringify(recorder.statuses)}`,
        );
        assertClean(harness, recorder);
      },
    );

    await step(
      "3b. an upstream that breaks while running: a status with a message, never a rejection",
      !canBreak
        ? unsupported.breakUpstream
        : production !== "live"
        ? `${name} reads its upstream from what it opened at start(), so it breaks only before`
        : undefined,
      async () => {
        await using harness = await createHarness();
        const recorder = createRecorder();
        const source = harness.create();
        await begin(harness, source, recorder, contractEvents(0, 3));
        await eventually(harness, () => recorder.delivered.length === 3, "the first events");
        const mark = recorder.statuses.length;
        await harness.breakUpstream!();
        await eventually(
          harness,
          () => recorder.statuses.slice(mark).some(isFailure),
          "an error or reconnecting status with a message",
        );
        await stopAndWatch(harness, source, recorder);
        assert.ok(["disconnected", "error"].includes(lastStatus(recorder)!));
        assertClean(harness, recorder);
      },
    );

    await step(
      "3c. a sink that rejects: a status with a message, never a rejection",
      viaSink ? undefined : `${offerOnly}; offer() answers false rather than failing (step 5)`,
      async () => {
        await using harness = await createHarness();
        const recorder = createRecorder();
        const source = harness.create();
        recorder.failSinkCall(1, new Error("contract: the pipeline is down"));
        await begin(harness, source, recorder, produced ? contractEvents(0, 4) : undefined);
        await eventually(
          harness,
          () => recorder.statuses.some(isFailure),
          "an error or reconnecting status with a message",
        );
        await stopAndWatch(harness, source, recorder);
        assert.ok(["disconnected", "error"].includes(lastStatus(recorder)!));
        assertClean(harness, recorder);
      },
    );

    /**
     * Runs A until the third sink call is held, stops there, then runs B on `next` (the
     * instance to resume), and checks the union of both runs is A + B exactly once.
     */
    const resumeAcross = async (
      harness: SourceHarness,
      first: Source,
      next: (cursor: string) => Source,
    ) => {
      const a = contractEvents(0, 6);
      const b = contractEvents(6, 5);
      const one = createRecorder();
      one.hold(3);
      await begin(harness, first, one, a);
      await eventually(harness, () => one.sinkCalls >= 3, "the third sink call");
      const stopping = first.stop();
      await nextTurn(); // stop() is under way while the third sink call is still held
      one.release();
      await stopping;
      one.seal();
      assert.ok(one.delivered.length < a.length, "stopped in the middle of the stream");
      const cursor = first.cursor!();
      assert.ok(cursor !== undefined && isSeq(cursor), `a _seq cursor: ${cursor}`);
      assert.equal(cursor, seqOf(one.delivered.at(-1)!), "the _seq of the last delivered event");

      const second = next(cursor);
      assert.equal(second.cursor!(), cursor, "the resumed source starts at the cursor");
      const two = createRecorder();
      await begin(harness, second, two, b);
      await eventually(
        harness,
        () => two.delivered.some((event) => seqOf(event) === seqOf(b.at(-1)!)),
        "the last event produced",
      );
      // Nothing more arrives: a repeated event would come before a later one.
      const marker = await caughtUp(harness, two, contractEvents(11, 1)[0]!);
      const produced = marker === undefined ? [...a, ...b] : [...a, ...b, marker];
      await second.stop();
      assertExactlyOnce([...one.delivered, ...two.delivered], produced);
      const last = seqOf(produced.at(-1)!);
      assert.equal(second.cursor!(), last, "the cursor follows the last event delivered");
      assertClean(harness, one, two);
    };

    await step(
      "4a. resume: a new instance from cursor() delivers nothing twice and loses nothing",
      supportsResume ? undefined : unsupported.resume,
      async () => {
        await using harness = await createHarness();
        await resumeAcross(harness, harness.create(), (cursor) => harness.create(cursor));
      },
    );

    await step(
      "4b. resume: the same instance started again goes on after its cursor",
      supportsResume ? undefined : unsupported.resume,
      async () => {
        await using harness = await createHarness();
        const source = harness.create();
        await resumeAcross(harness, source, () => source);
      },
    );

    await step(
      "5. a slow sink is waited for: never more than one sink call in flight",
      viaSink ? undefined : offerOnly,
      async () => {
        await using harness = await createHarness();
        const recorder = createRecorder();
        const source = harness.create();
        recorder.hold(1);
        const events = produced ? contractEvents(0, 6) : undefined;
        await begin(harness, source, recorder, events);
        await eventually(harness, () => recorder.sinkCalls >= 1, "the first sink call");
        // A kind on its own clock moves it on: its next events fall due and must wait. (For
        // the others, what arrives while the first call is held is caught by maxInFlight.)
        await harness.advance?.();
        assert.equal(recorder.sinkCalls, 1, "no second sink call while the first is pending");
        recorder.release();
        await eventually(
          harness,
          () => recorder.delivered.length >= 6,
          "the rest, once the sink is free",
        );
        if (events !== undefined) assert.deepEqual(ns(recorder.delivered), ns(events));
        assert.equal(recorder.maxInFlight, 1, "one sink call in flight at a time");
        await source.stop();
        assertClean(harness, recorder);
      },
    );

    await step(
      "5. a refused offer: nothing of that batch is delivered, then or later",
      viaSink ? sinkOnly : undefined,
      async () => {
        await using harness = await createHarness();
        const recorder = createRecorder();
        const source = harness.create();
        await begin(harness, source, recorder, []);
        recorder.refuseOffers = true;
        // An offer source answers its producer at once: produce() returning is the barrier.
        await harness.produce!(contractEvents(0, 3));
        assert.ok(recorder.offerCalls >= 1, "the batch was offered");
        assert.deepEqual(recorder.delivered, []);
        recorder.refuseOffers = false;
        const accepted = contractEvents(3, 3);
        await harness.produce!(accepted);
        await eventually(harness, () => recorder.delivered.length >= 3, "the next batch");
        const marker = await caughtUp(harness, recorder, contractEvents(6, 1)[0]!);
        assert.deepEqual(
          ns(recorder.delivered),
          ns([...accepted, marker!]),
          "only the accepted batches",
        );
        await source.stop();
        assertClean(harness, recorder);
      },
    );
  });
}
