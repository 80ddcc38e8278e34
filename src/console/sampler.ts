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

/** Options of {@link createConsoleSampler}. */
export interface ConsoleSamplerOptions {
  readonly readings: ConsoleReadings;
  readonly tap: ConsoleTap;
  readonly clock: Clock;
  /** Points of chart history kept (at one per reading). */
  readonly historyPoints: number;
  /** Clients listed at most, the slowest first. */
  readonly maxClients: number;
}

/** Reads the running server for the console feed, and keeps the chart history. */
export interface ConsoleSampler {
  /**
   * Reads the server once (status, views, clients, counters, log records since the last
   * reading) and turns the counters into one chart point, added to the history.
   */
  sample(): Promise<Record<string, unknown>>;
  /** Forgets the counters read so far: the next reading's rates start from it. */
  restart(): void;
  /** The chart points, oldest first. */
  readonly history: readonly ConsolePoint[];
}

/** The totals the previous reading saw, for the rates of the next. */
interface LastReading {
  readonly at: number;
  readonly events: number;
  readonly errors: number;
  readonly cancellations: number;
}

/** Creates the sampler behind one console feed. */
export function createConsoleSampler(options: ConsoleSamplerOptions): ConsoleSampler {
  const { readings, tap, clock, historyPoints, maxClients } = options;
  const history: ConsolePoint[] = [];
  let last: LastReading | undefined;
  let logSeq = 0;

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
      clients: clientsOf(readings, now, maxClients),
      point,
      logs,
      ws_port: readings.wsPort() ?? null,
    };
  }

  return {
    sample,
    restart() {
      tap.takeFrames();
      tap.takeBatches();
      last = undefined;
    },
    history,
  };
}

/** Events received so far, over every source of a `/status` body. */
function eventsOf(status: Record<string, unknown>): number {
  const sources = (status.sources ?? []) as { events?: number }[];
  return sources.reduce((sum, source) => sum + (source.events ?? 0), 0);
}

/** The open clients, the slowest (most frames queued) first, at most `maxClients` listed. */
function clientsOf(readings: ConsoleReadings, now: number, maxClients: number) {
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

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
