import { type Clock, yieldToIo } from "../util/mod.ts";

/** Something with frames to hand to its socket: a client's outbound queue. */
export interface Pumpable {
  /** Hands queued frames to the socket (as many as its send buffer takes); returns how many. */
  pump(): number;
  /** Bytes handed to the socket and not yet written. */
  readonly unsentBytes: number;
  /** True when the socket had nothing unwritten when the last pump began (it keeps up). */
  readonly startedEmpty: boolean;
}

/**
 * Hands every client's queued frames to its socket in slices, and lets the runtime write
 * one slice before handing it the next.
 *
 * Why: in Deno every `WebSocket.send` becomes a write task on the one thread that also
 * serves HTTP, and a request waits behind the writes queued before it. Measured with the
 * benchmark's baseline (a bare `Deno.serve` broadcast loop, 1000 clients): with 20 000
 * frames handed over at once, `/ready` took 240 ms (p50). Bounding what is handed over
 * to one slice (≤ `sliceFrames` frames or `sliceMs` of work) bounds that wait. Fan-out
 * starts in the same turn as the publish (a microtask), so a quiet server adds no latency.
 */
export interface SendScheduler {
  /** Asks for `queue.pump()` to run soon; scheduling a queue twice pumps it once. */
  schedule(queue: Pumpable): void;
  /** True while frames wait for a slice or a slice is being written. */
  readonly busy: boolean;
  /** Resolves once nothing waits. */
  idle(): Promise<void>;
}

/** Options for {@link createSendScheduler}. */
export interface SendSchedulerOptions {
  readonly clock: Clock;
  /** Longest stretch of pumping before a slice under sustained load is written; default 1 ms. */
  readonly sliceMs?: number;
  /** Most frames handed to sockets per slice under sustained load; default 256. */
  readonly sliceFrames?: number;
  /**
   * The first slice after a quiet spell may be this much larger, so one event fanned out
   * to a thousand clients goes out in one piece (slicing it would only delay its last
   * clients); default 16.
   */
  readonly burstFactor?: number;
  /** A run starting this long after the previous one ended follows a quiet spell; default 10 ms. */
  readonly quietMs?: number;
  /**
   * Longest wait for a slice to be written before handing over the next anyway, so a
   * client that stopped reading cannot stall the others (its own queue then fills and
   * the slow-consumer rule applies); default 20 ms.
   */
  readonly maxWriteWaitMs?: number;
  /** How to yield; default a real event-loop turn ({@link yieldToIo}). */
  readonly yieldToEventLoop?: () => Promise<void>;
  /** Told when a pump throws; the other queues are still pumped. */
  readonly onError?: (error: unknown) => void;
}

/** Creates the scheduler shared by every client of one server. */
export function createSendScheduler(options: SendSchedulerOptions): SendScheduler {
  const { clock } = options;
  const sliceMs = options.sliceMs ?? 1;
  const sliceFrames = options.sliceFrames ?? 256;
  const burstFactor = options.burstFactor ?? 16;
  const quietMs = options.quietMs ?? 10;
  let lastRunEnded = -Infinity;
  const maxWriteWaitMs = options.maxWriteWaitMs ?? 20;
  const yieldTurn = options.yieldToEventLoop ?? yieldToIo;
  const ready = new Set<Pumpable>();
  let running = false;
  let idleWaiters: (() => void)[] = [];

  /**
   * Yields until the slice is written, or the wait runs out. The runtime runs write tasks
   * in the order they were created, so one queue stands for the whole slice (checking
   * every queue each turn cost more than the writes): the last one whose socket had
   * nothing unwritten before its pump, so a client that is not reading never holds the
   * others back. Without such a queue, one turn is yielded.
   */
  async function awaitWritten(sentinel: Pumpable | undefined): Promise<void> {
    if (sentinel === undefined) return yieldTurn();
    const deadline = clock.monotonic() + maxWriteWaitMs;
    do await yieldTurn(); while (sentinel.unsentBytes > 0 && clock.monotonic() < deadline);
  }

  async function run(): Promise<void> {
    let sentinel: Pumpable | undefined;
    let frames = 0;
    let sliceStart = clock.monotonic();
    // After a quiet spell the first slice is a burst's worth; under sustained load every
    // slice is small, so requests waiting behind the writes are served within a few ms.
    let scale = sliceStart - lastRunEnded >= quietMs ? burstFactor : 1;
    // A Set visits entries added while it is iterated, so queues scheduled during a
    // wait are pumped by the same run.
    for (const queue of ready) {
      ready.delete(queue);
      try {
        const sent = queue.pump();
        frames += sent;
        if (sent > 0 && queue.startedEmpty) sentinel = queue;
      } catch (error) {
        options.onError?.(error);
      }
      if (frames >= sliceFrames * scale || clock.monotonic() - sliceStart >= sliceMs * scale) {
        await awaitWritten(sentinel);
        sentinel = undefined;
        frames = 0;
        scale = 1;
        sliceStart = clock.monotonic();
      }
    }
    if (frames > 0) await awaitWritten(sentinel);
    lastRunEnded = clock.monotonic();
    if (ready.size > 0) return run(); // scheduled during the last wait
    running = false;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  }

  return {
    schedule(queue) {
      ready.add(queue);
      if (running) return;
      running = true;
      queueMicrotask(() => void run());
    },
    get busy() {
      return running;
    },
    idle() {
      if (!running) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
