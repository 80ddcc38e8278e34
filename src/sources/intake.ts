import type { PharosEvent } from "../stack/mod.ts";
import type { Clock } from "../util/mod.ts";

/** One event waiting for the handlers, with the source it came from. */
export interface IntakeItem {
  readonly source: string;
  readonly event: PharosEvent;
}

/** Options for {@link createIntake}. */
export interface IntakeOptions {
  readonly clock: Clock;
  /** Runs the handlers for one event (VM, then projector); should not reject. */
  readonly process: (item: IntakeItem) => Promise<void>;
  /** Told when `process` rejects anyway; the event is dropped and the pipeline goes on. */
  readonly onError: (item: IntakeItem, error: unknown) => void;
  /** Events waiting at most; default 10 000. */
  readonly capacity?: number;
  /** Longest stretch of processing before yielding to timers and network I/O; default 4 ms. */
  readonly sliceMs?: number;
  /**
   * How to yield; default a zero-delay timer from `clock` (FakeClock tests drive it). The
   * app passes `yieldToIo`, which gives the same event-loop turn without the timer's ~2 ms
   * of idling.
   */
  readonly yieldToEventLoop?: () => Promise<void>;
  /** Called when the queue has just been emptied: the end of a burst. */
  readonly onIdle?: () => void;
}

/**
 * The bounded queue between sources and the handlers. All sources feed it, one drain
 * loop empties it in order, and that loop yields to the event loop every `sliceMs` so
 * HTTP routes (`/health`, `/ready`) and WebSockets stay responsive while events flood in.
 */
export interface Intake {
  /** Queues one event, waiting while the queue is full; resolves once it is processed. */
  submit(source: string, event: PharosEvent): Promise<void>;
  /**
   * Queues all `events` if there is room for all of them now, else none; never waits.
   * The ingest endpoints answer 503 when this returns false.
   */
  offer(source: string, events: readonly PharosEvent[]): boolean;
  /** Events waiting. */
  readonly pending: number;
  readonly capacity: number;
  /** Stops taking events (submit and offer refuse) and waits for the queue to drain. */
  close(): Promise<void>;
}

interface Entry extends IntakeItem {
  readonly done?: () => void;
}

/** Thrown by `submit` once the intake is closed. */
export class IntakeClosedError extends Error {
  override readonly name = "IntakeClosedError";
}

/** Creates the intake queue. */
export function createIntake(options: IntakeOptions): Intake {
  const { clock } = options;
  const capacity = options.capacity ?? 10_000;
  const sliceMs = options.sliceMs ?? 2;
  let queue: Entry[] = [];
  let head = 0;
  let draining: Promise<void> | undefined;
  let closed = false;
  const spaceWaiters: (() => void)[] = [];
  const pending = () => queue.length - head;

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

  async function drain(): Promise<void> {
    while (head < queue.length) {
      const entry = queue[head]!;
      queue[head] = undefined as unknown as Entry;
      head++;
      if (head > 1024 && head * 2 > queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
      spaceWaiters.shift()?.();
      beginWork();
      try {
        await options.process(entry);
      } catch (error) {
        options.onError(entry, error);
      }
      entry.done?.();
      await yieldIfSliceSpent();
    }
    queue = [];
    head = 0;
    options.onIdle?.();
  }

  function kick(): void {
    if (draining !== undefined) return;
    draining = drain().finally(() => {
      draining = undefined;
      if (pending() > 0) kick();
    });
  }

  return {
    async submit(source, event) {
      while (!closed && pending() >= capacity) {
        await new Promise<void>((resolve) => spaceWaiters.push(resolve));
      }
      if (closed) throw new IntakeClosedError("The pipeline is shutting down");
      await new Promise<void>((done) => {
        queue.push({ source, event, done });
        kick();
      });
    },
    offer(source, events) {
      if (closed || pending() + events.length > capacity) return false;
      for (const event of events) queue.push({ source, event });
      if (events.length > 0) kick();
      return true;
    },
    get pending() {
      return pending();
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
