import type {
  OpenSpan,
  SpanAttributes,
  SpanHandle,
  SpanOptions,
  Tracing,
} from "../../src/telemetry/mod.ts";

/** One span as the recording tracing saw it. */
export interface RecordedSpan {
  readonly name: string;
  readonly attributes: Record<string, string | number | boolean>;
  /** The span passed as `parentSpan`, if any. */
  readonly parent: RecordedSpan | undefined;
  /** The `parent` traceparent asked for, if any. */
  readonly traceparent: string | undefined;
  readonly root: boolean;
  readonly startTime: number | undefined;
  /** The links added with `addLink`. */
  readonly links: string[];
  endTime: number | undefined;
  ended: boolean;
  readonly errors: unknown[];
}

/** A Tracing that records every span it is asked for, with `exporting` as given. */
export interface RecordingTracing extends Tracing {
  readonly spans: RecordedSpan[];
  /** Spans named `name`. */
  named(name: string): RecordedSpan[];
}

class Recorded implements OpenSpan {
  readonly record: RecordedSpan;
  readonly recording: boolean;
  readonly #traceparent: string;
  constructor(record: RecordedSpan, recording: boolean, serial: number) {
    this.record = record;
    this.recording = recording;
    // A W3C traceparent unique to this span (trace id and span id from its serial number).
    const hex = serial.toString(16);
    this.#traceparent = `00-${hex.padStart(32, "a")}-${hex.padStart(16, "b")}-01`;
  }
  setAttribute(key: string, value: string | number | boolean): void {
    this.record.attributes[key] = value;
  }
  recordError(error: unknown): void {
    this.record.errors.push(error);
  }
  /** A unique traceparent when recording; undefined, as for a dropped span, when not. */
  get traceparent(): string | undefined {
    return this.recording ? this.#traceparent : undefined;
  }
  run<T>(fn: () => T): T {
    return fn();
  }
  addLink(traceparent: string): void {
    this.record.links.push(traceparent);
  }
  end(endTime?: number): void {
    this.record.ended = true;
    this.record.endTime = endTime;
  }
}

/**
 * Creates a recording tracing; `exporting` decides whether the hot paths make spans, and
 * `sampled` whether a span reports itself as recording (as a sampler would decide).
 */
export function createRecordingTracing(
  exporting = true,
  sampled: (name: string) => boolean = () => true,
): RecordingTracing {
  const spans: RecordedSpan[] = [];
  function startSpan(name: string, attributes: SpanAttributes, options?: SpanOptions): Recorded {
    const record: RecordedSpan = {
      name,
      attributes: { ...attributes },
      parent: options?.parentSpan instanceof Recorded ? options.parentSpan.record : undefined,
      traceparent: options?.parent,
      root: options?.root === true,
      startTime: options?.startTime,
      links: [],
      endTime: undefined,
      ended: false,
      errors: [],
    };
    spans.push(record);
    return new Recorded(record, sampled(name), spans.length);
  }
  return {
    exporting,
    spans,
    named: (name) => spans.filter((span) => span.name === name),
    inSpan<T>(
      name: string,
      attributes: SpanAttributes,
      fn: (span: SpanHandle) => T,
      options?: SpanOptions,
    ): T {
      const span = startSpan(name, attributes, options);
      try {
        return fn(span);
      } finally {
        span.end();
      }
    },
    startSpan,
    activeSpan: () => undefined,
    activeTraceparent: () => undefined,
    detached: <T>(fn: () => T): T => fn(),
  };
}
