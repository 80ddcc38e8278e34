import {
  type Attributes,
  type Context,
  context,
  defaultTextMapGetter,
  isSpanContextValid,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions as ApiSpanOptions,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type {
  ActiveSpan,
  OpenSpan,
  SpanAttributes,
  SpanHandle,
  SpanOptions,
  Tracing,
} from "./facade.ts";

/** The tracer (instrumentation scope) name every Pharos span is recorded under. */
export const TRACER_NAME = "pharos";

const KINDS: Readonly<Record<NonNullable<SpanOptions["kind"]>, SpanKind>> = Object.freeze({
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
});

/** Formats a span's W3C `traceparent`, or undefined for an invalid (no-op) span. */
export function toTraceparent(span: Span): string | undefined {
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/** Marks `span` ERROR and records `error` as an exception event. */
function recordError(span: Span, error: unknown): void {
  if (error instanceof Error) {
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.name}: ${error.message}` });
  } else {
    const message = String(error);
    span.recordException(message);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
}

/**
 * Tracing over an OpenTelemetry tracer. Parent/child nesting across `await` needs a context
 * manager (`AsyncLocalStorageContextManager`, or the Deno runtime's) registered globally: without
 * one, `context.with` is a no-op and every span is a root. `initWithOtel` registers one; a host
 * that brings its own providers registers its own.
 */
export function createOtelTracing(tracer: Tracer, options: { exporting?: boolean } = {}): Tracing {
  // One propagator instance is stateless; using it directly (not the global propagator) keeps
  // `parent` working when the host registered none.
  const propagator = new W3CTraceContextPropagator();
  // Names of the spans started here, for `activeSpan()` on providers whose spans hide theirs.
  const names = new WeakMap<Span, string>();

  // The last traceparent continued, and its context: an ingest batch hands every event
  // the request's traceparent, so consecutive events parse it once.
  let lastTraceparent: string | undefined;
  let lastExtracted: Context | undefined;

  /** The producer context `traceparent` names, or undefined when it is not valid. */
  function extract(traceparent: string): Context | undefined {
    if (traceparent === lastTraceparent) return lastExtracted;
    const extracted = propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
    const sc = trace.getSpanContext(extracted);
    lastTraceparent = traceparent;
    lastExtracted = sc !== undefined && isSpanContextValid(sc) ? extracted : undefined;
    return lastExtracted;
  }

  /** The context a new span starts in (its parent), per {@link SpanOptions}. */
  function parentContext(options: SpanOptions | undefined): Context {
    if (options?.parentSpan instanceof OtelOpenSpan) return options.parentSpan.context;
    const base = options?.root === true ? ROOT_CONTEXT : context.active();
    if (options?.parent !== undefined) {
      // A valid `parent` wins over `root`: the producer's trace is the one to continue. An
      // invalid one is ignored (the span is then a root or a child, as asked).
      const extracted = extract(options.parent);
      if (extracted !== undefined) {
        return base === ROOT_CONTEXT ? extracted : trace.setSpanContext(
          base,
          trace.getSpanContext(extracted)!,
        );
      }
    }
    return base;
  }

  /** A link to the context `traceparent` names, or undefined when it is not valid. */
  function toLink(traceparent: string): Link | undefined {
    const extracted = extract(traceparent);
    return extracted === undefined ? undefined : { context: trace.getSpanContext(extracted)! };
  }

  function start(name: string, attributes: SpanAttributes, options: SpanOptions | undefined) {
    const parent = parentContext(options);
    // Built field by field: the event path starts three spans per event, and conditional
    // spreads made two throwaway objects for each.
    const spanOptions: ApiSpanOptions = {
      // The SDK copies attributes into the span, so cached, frozen sets can be passed as is.
      attributes: attributes as Attributes,
      kind: KINDS[options?.kind ?? "internal"],
    };
    if (options?.startTime !== undefined) spanOptions.startTime = options.startTime;
    if (
      options?.root === true && options.parent === undefined && options.parentSpan === undefined
    ) spanOptions.root = true;
    const span = tracer.startSpan(name, spanOptions, parent);
    // SDK spans carry their name; only providers whose spans hide it need the side table.
    if (typeof (span as { name?: unknown }).name !== "string") names.set(span, name);
    return { span, parent };
  }

  function toHandle(span: Span): SpanHandle {
    return {
      setAttribute: (key, value) => void span.setAttribute(key, value),
      recordError: (error) => recordError(span, error),
      get traceparent() {
        return toTraceparent(span);
      },
    };
  }

  return {
    exporting: options.exporting ?? true,
    inSpan<T>(
      name: string,
      attributes: SpanAttributes,
      fn: (span: SpanHandle) => T,
      options?: SpanOptions,
    ): T {
      const { span, parent } = start(name, attributes, options);
      const ctx = trace.setSpan(parent, span);
      const handle = toHandle(span);
      let result: T;
      try {
        result = context.with(ctx, fn, undefined, handle);
      } catch (error) {
        recordError(span, error);
        span.end();
        throw error;
      }
      if (isPromiseLike(result)) {
        // Handlers go on the caller's own promise, registered before the caller can add
        // theirs, so the span ends before the caller continues; the promise itself is
        // returned unchanged. The derived promise never rejects (the error goes nowhere
        // new: the caller still holds and handles the original).
        result.then(
          () => span.end(),
          (error: unknown) => {
            recordError(span, error);
            span.end();
          },
        );
        return result;
      }
      span.end();
      return result;
    },

    startSpan(name: string, attributes: SpanAttributes, options?: SpanOptions): OpenSpan {
      return new OtelOpenSpan(start(name, attributes, options).span, toLink);
    },

    detached<T>(fn: () => T): T {
      return context.with(ROOT_CONTEXT, fn);
    },

    activeTraceparent(): string | undefined {
      const span = trace.getActiveSpan();
      return span === undefined ? undefined : toTraceparent(span);
    },

    activeSpan(): ActiveSpan | undefined {
      const span = trace.getActiveSpan();
      if (span === undefined) return undefined;
      const sc = span.spanContext();
      if (!isSpanContextValid(sc)) return undefined;
      const sdkName = (span as { name?: unknown }).name;
      return {
        name: names.get(span) ?? (typeof sdkName === "string" ? sdkName : ""),
        traceId: sc.traceId,
        spanId: sc.spanId,
      };
    },
  };
}

/**
 * A long-lived span (one per connection): a class, so each one is two fields on a shared
 * prototype rather than six closures and a dictionary-mode object.
 */
class OtelOpenSpan implements OpenSpan {
  #span: Span;
  #ended = false;
  #context: Context | undefined;
  readonly #toLink: (traceparent: string) => Link | undefined;
  constructor(span: Span, toLink: (traceparent: string) => Link | undefined) {
    this.#span = span;
    this.#toLink = toLink;
  }
  addLink(traceparent: string): void {
    const link = this.#toLink(traceparent);
    if (link !== undefined) this.#span.addLink(link);
  }
  /** A context with this span as parent, for children started without entering it. */
  get context(): Context {
    return this.#context ??= trace.setSpan(ROOT_CONTEXT, this.#span);
  }
  setAttribute(key: string, value: string | number | boolean): void {
    this.#span.setAttribute(key, value);
  }
  recordError(error: unknown): void {
    recordError(this.#span, error);
  }
  get traceparent(): string | undefined {
    return toTraceparent(this.#span);
  }
  get recording(): boolean {
    return this.#span.isRecording();
  }
  run<T>(fn: () => T): T {
    // Built per call, not kept: an OTel context costs ~450 B (three closures and a Map).
    return context.with(trace.setSpan(context.active(), this.#span), fn);
  }
  end(endTime?: number): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#span.end(endTime);
    this.#context = undefined;
  }
}
