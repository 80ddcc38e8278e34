import { BATCH_BOUNDS, PIPELINE_DEFAULTS } from "../config/mod.ts";
import type { PharosEvent } from "../stack/mod.ts";
import { type Clock, Fifo } from "../util/mod.ts";

/**
 * Events taken from the queue together, in arrival order: `events[i]` came from
 * `sources[i]`. Parallel arrays rather than one object per event, so a batch of 256
 * costs two allocations.
 */
export interface IntakeBatch {
  readonly events: readonly PharosEvent[];
  readonly sources: readonly string[];
  /**
   * When the oldest of the events reached the intake (the clock's monotonic ms): where the
   * delivery lag of the batch's frames starts.
   */
  readonly arrivedAt: number;
  /**
   * Where the batch's events came in: the distinct `traceparent`s that were active when
   * they were queued (an ingest request's span), at most {@link MAX_ARRIVALS}; empty unless
   * the intake was given `arrivalContext`.
   */
  readonly arrivals: readonly string[];
}

/** Arrival contexts one batch keeps at most (OpenTelemetry's default limit of links a span has). */
export const MAX_ARRIVALS = 128;

/** Options for {@link createIntake}. */
export interface IntakeOptions {
  readonly clock: Clock;
  /** Runs the handlers for one batch (VM, then projector); should not reject. */
  readonly process: (batch: IntakeBatch) => Promise<void>;
  /** Told when `process` rejects anyway; the batch is dropped and the pipeline goes on. */
  readonly onError: (batch: IntakeBatch, error: unknown) => void;
  /** Events waiting at most; default {@link PIPELINE_DEFAULTS}. */
  readonly capacity?: number;
  /**
   * Most events in one batch; read before each batch, so the caller can shrink batches
   * when every event fans out to thousands of clients. Default {@link INTAKE_DEFAULTS}.
   */
  readonly maxBatch?: number | (() => number);
  /**
   * Longest stretch of processing before yielding to timers and network I/O, ms; default
   * {@link INTAKE_DEFAULTS}.
   */
  readonly sliceMs?: number;
  /**
   * How to yield; default a zero-delay timer from `clock` (FakeClock tests drive it). The
   * pipeline passes `yieldToIo`, which gives the same event-loop turn without the timer's
   * ~2 ms of idling.
   */
  readonly yieldToEventLoop?: () => Promise<void>;
  /**
   * Runs the drain loop; default as is. The pipeline passes `tracing.detached` so the loop
   * (started by whichever request offered the first event) does not run inside that
   * request's span for as long as the burst lasts.
   */
  readonly detach?: <T>(fn: () => T) => T;
  /**
   * The trace context events are queued in, read once per offer, submit or push; default
   * none. The pipeline passes the active span's `traceparent` while spans are exported.
   */
  readonly arrivalContext?: () => string | undefined;
}

/**
 * The bounded queue between sources and the handlers. All sources feed it, one drain
 * loop empties it in order, batch by batch (never waiting for a batch to fill: it takes
 * what is queued), and yields to the event loop between batches once `sliceMs` of work
 * has passed, so HTTP routes (`/health`, `/ready`) and WebSockets stay responsive while
 * events flood in.
 */
export interface Intake {
  /** Queues one event, waiting while the queue is full; resolves once it is processed. */
  submit(source: string, event: PharosEvent): Promise<void>;
  /**
   * Queues all `events` if there is room for all of them now, else none; never waits.
   * The ingest endpoints answer 503 when this returns false.
   */
  offer(source: string, events: readonly PharosEvent[]): boolean;
  /**
   * Queues `events` whole, in order, waiting while the queue has no room for them (a cluster
   * log consumer's backpressure; an empty queue always takes them); `done` is called once
   * they have all been processed. Throws an {@link IntakeClosedError} once closed.
   */
  push(source: string, events: readonly PharosEvent[], done?: () => void): Promise<void>;
  /** Resolves once nothing is queued or being processed. */
  idle(): Promise<void>;
  /**
   * Takes the next batch off the queue now, ahead of its turn, so its handlers can start
   * while the current batch is published (the handler host's prefetch); the drain loop
   * processes it next. Undefined when nothing is queued, or a batch is already taken ahead.
   */
  takeAhead(): IntakeBatch | undefined;
  /** Events waiting (not counting the batch being processed). */
  readonly pending: number;
  readonly capacity: number;
  /** Stops taking events (submit and offer refuse) and waits for the queue to drain. */
  close(): Promise<void>;
}

/** One offer or submit: its events stay in the caller's array, taken from `next` on. */
interface Chunk {
  readonly source: string;
  readonly events: readonly PharosEvent[];
  next: number;
  /** When it was queued (the clock's monotonic ms). */
  readonly arrivedAt: number;
  /** Resolves the submit once its event's batch is processed. */
  readonly done: (() => void) | undefined;
  /** The trace context it was queued in. */
  readonly arrival: string | undefined;
}

/** The intake's default slice length (the pipeline shares it). */
export const INTAKE_DEFAULTS = Object.freeze({ sliceMs: BATCH_BOUNDS.sliceMs });

/** Thrown by `submit` once the intake is closed. */
export class IntakeClosedError extends Error {
  override readonly name = "IntakeClosedError";
}

/** Creates the intake queue. */
export function createIntake(options: IntakeOptions): Intake {
  const { clock } = options;
  const capacity = options.capacity ?? PIPELINE_DEFAULTS.capacity;
  const sliceMs = options.sliceMs ?? INTAKE_DEFAULTS.sliceMs;
  const maxBatch = options.maxBatch ?? PIPELINE_DEFAULTS.maxBatchEvents;
  const batchLimit = typeof maxBatch === "number" ? () => maxBatch : maxBatch;
  const detach = options.detach ?? ((fn) => fn());
  const arrivalContext = options.arrivalContext ?? (() => undefined);
  const chunks = new Fifo<Chunk>();
  let queued = 0;
  let draining: Promise<void> | undefined;
  let closed = false;
  const spaceWaiters: (() => void)[] = [];

  // A timer or an I/O operation, not a microtask or setImmediate: only those let Deno poll
  // the network, so this is what keeps /ready answering during a flood.
  const yieldToEventLoop = options.yieldToEventLoop ??
    (() => new Promise<void>((resolve) => clock.setTimer(0, resolve)));

  // Whether the event loop has had a timer turn (and so a chance to poll I/O) since the
  // current slice began. A producer awaiting each event in a tight loop (a fast replay)
  // runs on microtasks only: each of its events starts a new drain, so a per-drain clock
  // would never see a long slice. The zero-delay marker timer catches that case, while
  // sparse events arriving from the network find a turn already taken and never wait.
  let turnTaken = true;
  let sliceStart = 0;
  let marker: Disposable | undefined;

  function beginWork(): void {
    if (!turnTaken) return;
    turnTaken = false;
    sliceStart = clock.monotonic();
    marker = clock.setTimer(0, () => {
      marker = undefined;
      turnTaken = true;
    });
  }

  async function yieldIfSliceSpent(): Promise<void> {
    if (turnTaken || clock.monotonic() - sliceStart < sliceMs) return;
    await yieldToEventLoop();
    turnTaken = true;
  }

  /** Takes up to `limit` events off the queue, with the submits they complete. */
  function take(limit: number): { batch: IntakeBatch; completed: (() => void)[] } {
    const events: PharosEvent[] = [];
    const sources: string[] = [];
    const completed: (() => void)[] = [];
    const arrivals: string[] = [];
    // The oldest arrival of the chunks taken from (a submit that waited for room arrived
    // before it was queued, so queue order is not quite arrival order).
    let arrivedAt = Infinity;
    while (events.length < limit && chunks.size > 0) {
      const chunk = chunks.peek()!;
      if (chunk.arrivedAt < arrivedAt) arrivedAt = chunk.arrivedAt;
      const { arrival } = chunk;
      if (
        arrival !== undefined && arrivals.length < MAX_ARRIVALS && !arrivals.includes(arrival)
      ) arrivals.push(arrival);
      const end = Math.min(chunk.events.length, chunk.next + limit - events.length);
      for (let i = chunk.next; i < end; i++) {
        events.push(chunk.events[i]!);
        sources.push(chunk.source);
      }
      chunk.next = end;
      if (end < chunk.events.length) break;
      if (chunk.done !== undefined) completed.push(chunk.done);
      chunks.shift();
    }
    queued -= events.length;
    if (arrivedAt === Infinity) arrivedAt = clock.monotonic(); // nothing was queued
    return { batch: { events, sources, arrivedAt, arrivals }, completed };
  }

  /** A batch taken ahead by {@link Intake.takeAhead}, processed next. */
  let ahead: ReturnType<typeof take> | undefined;

  /** Takes the next batch, and lets as many waiting submitters in as it made room for. */
  function takeNext(): ReturnType<typeof take> {
    const next = take(Math.max(1, batchLimit()));
    for (let i = 0; i < next.batch.events.length && spaceWaiters.length > 0; i++) {
      spaceWaiters.shift()!();
    }
    return next;
  }

  async function drain(): Promise<void> {
    while (queued > 0 || ahead !== undefined) {
      const { batch, completed } = ahead ?? takeNext();
      ahead = undefined;
      beginWork();
      try {
        await options.process(batch);
      } catch (error) {
        options.onError(batch, error);
      }
      for (const done of completed) done();
      await yieldIfSliceSpent();
    }
    chunks.clear();
  }

  function kick(): void {
    if (draining !== undefined) return;
    draining = detach(drain).finally(() => {
      draining = undefined;
      if (queued > 0) kick();
    });
  }

  function enqueue(chunk: Chunk): void {
    chunks.push(chunk);
    queued += chunk.events.length;
    kick();
  }

  return {
    takeAhead() {
      if (ahead !== undefined || queued === 0 || draining === undefined) return undefined;
      ahead = takeNext();
      return ahead.batch;
    },
    async submit(source, event) {
      // Arrived now, though it may wait for room: that wait is part of its delivery lag.
      const arrivedAt = clock.monotonic();
      while (!closed && queued >= capacity) {
        await new Promise<void>((resolve) => spaceWaiters.push(resolve));
      }
      if (closed) throw new IntakeClosedError("The pipeline is shutting down");
      await new Promise<void>((done) =>
        enqueue({ source, events: [event], next: 0, arrivedAt, done, arrival: arrivalContext() })
      );
    },
    async push(source, events, done) {
      const arrivedAt = clock.monotonic();
      while (!closed && queued > 0 && queued + events.length > capacity) {
        await new Promise<void>((resolve) => spaceWaiters.push(resolve));
      }
      if (closed) throw new IntakeClosedError("The pipeline is shutting down");
      if (events.length === 0) done?.();
      else enqueue({ source, events, next: 0, arrivedAt, done, arrival: arrivalContext() });
    },
    async idle() {
      while (draining !== undefined) await draining;
    },
    offer(source, events) {
      if (closed || queued + events.length > capacity) return false;
      if (events.length > 0) {
        enqueue({
          source,
          events,
          next: 0,
          arrivedAt: clock.monotonic(),
          done: undefined,
          arrival: arrivalContext(),
        });
      }
      return true;
    },
    get pending() {
      return queued;
    },
    capacity,
    async close() {
      closed = true;
      for (const wake of spaceWaiters.splice(0)) wake();
      while (draining !== undefined) await draining;
      marker?.[Symbol.dispose]();
      marker = undefined;
      turnTaken = true;
    },
  };
}
