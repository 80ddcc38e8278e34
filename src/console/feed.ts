import type { RecentRecord } from "../log/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { ConsoleTap } from "./tap.ts";

/** A view as the console lists it. */
export interface ConsoleView {
  readonly id: string;
  readonly entity: string;
  readonly kind: string;
}

/** A connected client as the console lists it. */
export interface ConsoleSession {
  readonly id: string;
  /** The client address (behind a trusted proxy, the forwarded one). */
  readonly peer: string;
  /** Monotonic ms when it connected. */
  readonly openedAt: number;
  readonly subscriptionCount: number;
  readonly queuedFrames: number;
  readonly closed: boolean;
}

/** What the feed reads, each tick, of the running server. */
export interface ConsoleReadings {
  /** `GET /status`'s body: readiness, sources, pipeline, connections, cluster. */
  status(): Promise<Record<string, unknown>> | Record<string, unknown>;
  readonly views: readonly ConsoleView[];
  sessions(): Iterable<ConsoleSession>;
  /** Frames a client may queue: one past half of it is marked slow. */
  readonly queueMaxFrames: number;
  /** The latest warnings and errors; none without a log ring. */
  recentLogs(afterSeq: number): readonly RecentRecord[];
  /** The port WebSocket clients connect to, when it is not the page's own (admin port). */
  wsPort(): number | undefined;
}

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

/** One chart point: rates over the last interval, and the connection count. */
export interface ConsolePoint {
  readonly at: number;
  readonly events_per_s: number;
  readonly frames_per_s: number;
  readonly connections: number;
  readonly handler_errors_per_s: number;
  readonly cancellations_per_s: number;
  /** Mean and longest projector batch of the interval, ms (0 with no batch). */
  readonly latency_avg_ms: number;
  readonly latency_max_ms: number;
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
  const historyPoints = options.historyPoints ?? 600;
  const maxClients = options.maxClients ?? 200;
  const consoles = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const history: ConsolePoint[] = [];
  let timer: Disposable | undefined;
  /** The reading under way (the status is read asynchronously). */
  let sampling: Promise<void> | undefined;
  let last: { at: number; events: number; errors: number; cancellations: number } | undefined;
  let logSeq = 0;
  let latest: Record<string, unknown> | undefined;

  function eventsOf(status: Record<string, unknown>): number {
    const sources = (status.sources ?? []) as { events?: number }[];
    return sources.reduce((sum, source) => sum + (source.events ?? 0), 0);
  }

  function clients(now: number) {
    const all = [...readings.sessions()].filter((session) => !session.closed);
    const slowAt = Math.max(1, Math.floor(readings.queueMaxFrames / 2));
    all.sort((a, b) => b.queuedFrames - a.queuedFrames || b.openedAt - a.openedAt);
    return {
      count: all.length,
      list: all.slice(0, maxClients).map((session) => ({
        id: session.id,
        address: session.peer,
        subscriptions: session.subscriptionCount,
        queued_frames: session.queuedFrames,
        age_s: Math.max(0, Math.round((now - session.openedAt) / 1000)),
        slow: session.queuedFrames >= slowAt,
      })),
    };
  }

  /** Reads the server once and turns the counters into one chart point. */
  async function sample(): Promise<Record<string, unknown>> {
    const status = await readings.status();
    const now = clock.monotonic();
    const events = eventsOf(status);
    const { handlerErrors, handlerCancellations } = tap.counts;
    const seconds = last === undefined ? 0 : Math.max(0.001, (now - last.at) / 1000);
    const rate = (value: number) => (seconds === 0 ? 0 : Math.round((value / seconds) * 10) / 10);
    const framesByView = tap.takeFrames();
    const batches = tap.takeBatches();
    let frames = 0;
    for (const count of framesByView.values()) frames += count;
    const point: ConsolePoint = {
      at: clock.now(),
      events_per_s: rate(events - (last?.events ?? events)),
      frames_per_s: rate(frames),
      connections: Number(status.connections ?? 0),
      handler_errors_per_s: rate(handlerErrors - (last?.errors ?? handlerErrors)),
      cancellations_per_s: rate(
        handlerCancellations - (last?.cancellations ?? handlerCancellations),
      ),
      latency_avg_ms: batches.count === 0 ? 0 : round3(batches.totalMs / batches.count),
      latency_max_ms: round3(batches.maxMs),
    };
    last = { at: now, events, errors: handlerErrors, cancellations: handlerCancellations };
    history.push(point);
    if (history.length > historyPoints) history.shift();
    const logs = readings.recentLogs(logSeq);
    if (logs.length > 0) logSeq = logs[logs.length - 1]!.seq;
    return {
      status,
      views: readings.views.map((view) => ({
        ...view,
        subscribers: tap.counts.subscriptions.get(view.id) ?? 0,
        frames_per_s: rate(framesByView.get(view.id) ?? 0),
      })),
      clients: clients(now),
      point,
      logs,
      ws_port: readings.wsPort() ?? null,
    };
  }

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
    sampling = sample().then((update) => {
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
          if (first) {
            // Counters from before this console opened are not a rate of now.
            tap.takeFrames();
            tap.takeBatches();
            last = undefined;
          }
          // The new console gets the whole history and the last full reading (all the
          // recent log records with it), then every update with the others.
          const hello = { ...latest, history, logs: readings.recentLogs(0) };
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

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
