import type { Clock } from "../util/mod.ts";
import { type ConsoleReadings, createConsoleSampler } from "./sampler.ts";
import type { ConsoleTap } from "./tap.ts";

/** Options for {@link createConsoleFeed}. */
export interface ConsoleFeedOptions {
  readonly readings: ConsoleReadings;
  readonly tap: ConsoleTap;
  readonly clock: Clock;
  /** Time between two updates. Default 1000 ms. */
  readonly intervalMs?: number;
  /** Points of chart history kept (at one per update). Default 600: ten minutes. */
  readonly historyPoints?: number;
  /** Clients listed at most, the slowest first. Default 200. */
  readonly maxClients?: number;
}

/** The admin feed behind `GET /console/feed`. */
export interface ConsoleFeed {
  /** A `text/event-stream` of updates for one console, until it goes away. */
  stream(): Response;
  /** Consoles open now. */
  readonly open: number;
  /** Ends every stream (shutdown). */
  close(): void;
}

/** A console this far behind (updates not read) is dropped: it reconnects. */
const MAX_UNREAD = 30;
const encoder = new TextEncoder();

/**
 * The console's live data: while at least one console is open, every `intervalMs` it reads
 * the server once (status, views, clients, counters, recent log records), turns counters
 * into rates, and sends the same encoded update to every console as a server-sent event.
 * With no console open there is no timer and the bus counts nothing: it costs nothing. The
 * feed only reads: no request it answers changes state or disconnects anyone.
 */
export function createConsoleFeed(options: ConsoleFeedOptions): ConsoleFeed {
  const { readings, tap, clock } = options;
  const intervalMs = options.intervalMs ?? 1000;
  const sampler = createConsoleSampler({
    readings,
    tap,
    clock,
    historyPoints: options.historyPoints ?? 600,
    maxClients: options.maxClients ?? 200,
  });
  const consoles = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let timer: Disposable | undefined;
  /** The reading under way (the status is read asynchronously). */
  let sampling: Promise<void> | undefined;
  let latest: Record<string, unknown> | undefined;

  function send(controller: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array) {
    if ((controller.desiredSize ?? 0) < -MAX_UNREAD) {
      consoles.delete(controller);
      controller.close();
      return;
    }
    controller.enqueue(bytes);
  }

  /** A timer fired: one update to every open console, then the next while any is open. */
  function tick(): void {
    timer = undefined;
    sampling = sampler.sample().then((update) => {
      latest = update;
      const bytes = encoder.encode(`event: update\ndata: ${JSON.stringify(update)}\n\n`);
      for (const controller of consoles) send(controller, bytes);
    }).finally(() => {
      sampling = undefined;
      if (consoles.size > 0) schedule(intervalMs);
      else stopWatching();
    });
  }

  /** Arms the next tick, unless one is armed or a reading is under way (it arms the next). */
  function schedule(ms: number): void {
    if (timer === undefined && sampling === undefined) timer = clock.setTimer(ms, tick);
  }

  function stopWatching(): void {
    if (consoles.size > 0) return;
    tap.watching = false;
    timer?.[Symbol.dispose]();
    timer = undefined;
  }

  return {
    stream() {
      let self: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          self = controller;
          const first = consoles.size === 0;
          consoles.add(controller);
          tap.watching = true;
          // Counters from before this console opened are not a rate of now.
          if (first) sampler.restart();
          // The new console gets the whole history and the last full reading (all the
          // recent log records with it), then every update with the others.
          const hello = { ...latest, history: sampler.history, logs: readings.recentLogs(0) };
          controller.enqueue(
            encoder.encode(`retry: 2000\nevent: hello\ndata: ${JSON.stringify(hello)}\n\n`),
          );
          schedule(first ? 0 : intervalMs);
        },
        cancel() {
          consoles.delete(self);
          stopWatching();
        },
      }, { highWaterMark: 1 });
      return new Response(body, {
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store",
          "x-accel-buffering": "no",
        },
      });
    },
    get open() {
      return consoles.size;
    },
    close() {
      for (const controller of consoles) {
        try {
          controller.close();
        } catch {
          // already closed by its reader
        }
      }
      consoles.clear();
      stopWatching();
    },
  };
}
