import { MAX_ARRIVALS } from "./intake.ts";
import type { IntakeBatch } from "./intake.ts";
import type { OpenSpan, SpanAttributes, Tracing } from "../telemetry/mod.ts";
import type { Clock } from "../util/mod.ts";
import type { VmBatchResult } from "../vm/mod.ts";

/** Entity keys one batch span names at most; it says when there were more. */
export const MAX_SPAN_ENTITIES = 32;

/** Options for {@link BatchSpans}. */
export interface BatchSpansOptions {
  readonly tracing: Tracing;
  readonly clock: Clock;
  /** Most batch spans per second (`PHAROS_TRACE_BATCHES_PER_SECOND`). */
  readonly perSecond: number;
}

/** One slice of a batch as it ran, for the batch span. */
export interface RanSlice {
  readonly batch: IntakeBatch;
  readonly from: number;
  readonly result: VmBatchResult;
  readonly startedAt: number;
  readonly endedAt: number;
  /** The per-event spans made for the slice (`spans[i - from]`), or undefined for none. */
  readonly eventSpans: readonly (OpenSpan | undefined)[] | undefined;
}

/** What one source's events in the span covered. */
interface SourceSpread {
  events: number;
  firstSlot: number | undefined;
  lastSlot: number | undefined;
}

/** What the span being gathered covers so far. */
class Window {
  readonly span: OpenSpan;
  endedAt: number;
  batches = 0;
  events = 0;
  failures = 0;
  firstError: unknown = undefined;
  traced = 0;
  hostRuns = 0;
  readonly sources = new Map<string, SourceSpread>();
  readonly entities = new Set<string>();
  entitiesTruncated = false;
  readonly links: string[] = [];
  #lastLinked: string | undefined;
  constructor(span: OpenSpan, startedAt: number) {
    this.span = span;
    this.endedAt = startedAt;
  }
  link(traceparent: string): void {
    // An ingest request's events all carry its traceparent: compare with the last one first.
    if (traceparent === this.#lastLinked) return;
    this.#lastLinked = traceparent;
    if (this.links.length < MAX_ARRIVALS && !this.links.includes(traceparent)) {
      this.links.push(traceparent);
      this.span.addLink(traceparent);
    }
  }
}

/**
 * The pipeline's batch spans, after OpenTelemetry's messaging conventions for batch
 * processing: a `process pipeline` consumer span per batch, counting its events
 * (`messaging.batch.message_count`), naming the sources, slots and entities it covered,
 * and linked to the contexts its events came in with (the producers' `traceparent`s, the
 * ingest requests' spans) and to the per-event trees made for some of them. At most
 * `perSecond` of them: batches that run faster than that share one span
 * (`pharos.batch.count` says how many), ended by a timer when the batches stop. The span is
 * started with its first slice and is active while its slices run and are published, so
 * the latency histograms recorded meanwhile take it as their exemplar, and the batch's log
 * lines carry its trace id.
 */
export class BatchSpans {
  readonly #tracing: Tracing;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #window: Window | undefined;
  #lastEmittedAt = -Infinity;
  #timer: Disposable | undefined;

  constructor(options: BatchSpansOptions) {
    this.#tracing = options.tracing;
    this.#clock = options.clock;
    this.#intervalMs = 1000 / options.perSecond;
  }

  /**
   * Runs `fn` (a slice's handlers, or its publication) inside the span being gathered,
   * starting one at `startedAt` when none is.
   */
  run<T>(startedAt: number, fn: () => T): T {
    return this.#open(startedAt).span.run(fn);
  }

  #open(startedAt: number): Window {
    return this.#window ??= new Window(
      this.#tracing.startSpan("process pipeline", {}, {
        root: true,
        kind: "consumer",
        startTime: startedAt,
      }),
      startedAt,
    );
  }

  /** Adds one slice that ran. Reads each event's source and slot; stops naming keys at the cap. */
  add(slice: RanSlice): void {
    const { batch, from, result } = slice;
    const window = this.#open(slice.startedAt);
    if (from === 0) {
      window.batches++;
      for (const arrival of batch.arrivals) window.link(arrival);
    }
    window.endedAt = slice.endedAt;
    window.events += result.next - from;
    window.hostRuns += result.hostRuns?.length ?? 0;
    if (result.failures.length > 0) {
      window.firstError ??= result.failures[0]!.error;
      window.failures += result.failures.length;
    }
    spreadSources(window, batch, from, result.next);
    nameEntities(window, result);
    for (const span of slice.eventSpans ?? []) {
      const traceparent = span?.traceparent;
      if (traceparent === undefined) continue;
      window.traced++;
      window.link(traceparent);
    }
  }

  /**
   * A batch is done: its span is recorded now when the last one was at least an interval
   * ago, or else by a timer at that time (so batches that keep coming share it).
   */
  batchDone(): void {
    if (this.#window === undefined || this.#timer !== undefined) return;
    const dueIn = this.#lastEmittedAt + this.#intervalMs - this.#clock.monotonic();
    if (dueIn <= 0) this.flush();
    else {
      this.#timer = this.#clock.setTimer(dueIn, () => {
        this.#timer = undefined;
        this.flush();
      });
    }
  }

  /** Records the span gathered so far, if any. */
  flush(): void {
    this.#timer?.[Symbol.dispose]();
    this.#timer = undefined;
    const window = this.#window;
    if (window === undefined) return;
    this.#window = undefined;
    this.#lastEmittedAt = this.#clock.monotonic();
    const { span } = window;
    for (const [key, value] of Object.entries(attributesOf(window))) span.setAttribute(key, value);
    if (window.firstError !== undefined) span.recordError(window.firstError);
    span.end(window.endedAt);
  }
}

function spreadSources(window: Window, batch: IntakeBatch, from: number, to: number): void {
  const { events, sources } = batch;
  let name: string | undefined;
  let spread: SourceSpread | undefined;
  for (let i = from; i < to; i++) {
    // Consecutive events mostly share a source: look it up only when it changes.
    if (sources[i] !== name) {
      name = sources[i]!;
      spread = window.sources.get(name);
      if (spread === undefined) {
        spread = { events: 0, firstSlot: undefined, lastSlot: undefined };
        window.sources.set(name, spread);
      }
    }
    spread!.events++;
    const event = events[i]!;
    if (event.slot !== undefined) {
      spread!.firstSlot ??= event.slot;
      spread!.lastSlot = event.slot;
    }
    if (event.traceparent !== undefined) window.link(event.traceparent);
  }
}

function nameEntities(window: Window, result: VmBatchResult): void {
  if (window.entitiesTruncated) return;
  for (const mutation of result.mutations) {
    const name = `${mutation.entity}/${mutation.key}`;
    if (window.entities.has(name)) continue;
    if (window.entities.size >= MAX_SPAN_ENTITIES) {
      window.entitiesTruncated = true;
      return;
    }
    window.entities.add(name);
  }
}

/** `ingest: 500 events, slots 10-20; demo: 3 events`. */
function describeSources(sources: ReadonlyMap<string, SourceSpread>): string {
  return [...sources].map(([name, { events, firstSlot, lastSlot }]) => {
    const slots = firstSlot === undefined ? "" : `, slots ${firstSlot}-${lastSlot}`;
    return `${name}: ${events} event${events === 1 ? "" : "s"}${slots}`;
  }).join("; ");
}

function attributesOf(window: Window): SpanAttributes {
  return {
    "messaging.system": "pharos",
    "messaging.operation.type": "process",
    "messaging.operation.name": "process",
    "messaging.destination.name": "pipeline",
    "messaging.batch.message_count": window.events,
    "pharos.batch.count": window.batches,
    "pharos.batch.sources": [...window.sources.keys()].join(","),
    "pharos.batch.positions": describeSources(window.sources),
    "pharos.batch.entities": [...window.entities].join(","),
    "pharos.batch.entities_truncated": window.entitiesTruncated,
    "pharos.batch.traced_events": window.traced,
    "pharos.batch.failures": window.failures,
    "pharos.batch.handler_host_runs": window.hostRuns,
  };
}
