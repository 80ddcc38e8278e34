import {
  type Attributes,
  isSpanContextValid,
  type SpanContext,
  trace,
  TraceFlags,
} from "@opentelemetry/api";

/** One exemplar: a recorded value and the span it was recorded in. */
export interface Exemplar {
  readonly value: number;
  readonly traceId: string;
  readonly spanId: string;
  /** Wall-clock seconds since the epoch. */
  readonly timestampSeconds: number;
}

/**
 * Exemplars a series keeps: the latest few, so each of its buckets likely has a recent one
 * (a bucket shows the latest exemplar whose value falls in it).
 */
export const EXEMPLARS_PER_SERIES = 16;
/** Series with exemplars at most (the label values are bounded; this bounds them again). */
const MAX_SERIES = 4096;

/**
 * The exemplars of the latency histograms. The OpenTelemetry JS SDK (3.1) keeps none, so
 * Pharos does: a histogram recorded while a sampled span is active (the pipeline's batch
 * span) keeps that span's ids with the value, and `/metrics` in OpenMetrics format shows
 * them on the buckets. Only spans that are exported are offered: a trace id that no
 * backend holds would be a dead link.
 */
export class ExemplarStore {
  readonly #series = new Map<string, Exemplar[]>();
  readonly #now: () => number;
  readonly #active: () => SpanContext | undefined;

  /**
   * `now`: wall-clock milliseconds (the injected clock's `now`); `active`: the context of the
   * span active now, by default OpenTelemetry's (tests pass their own).
   */
  constructor(
    now: () => number,
    active: () => SpanContext | undefined = () => trace.getActiveSpan()?.spanContext(),
  ) {
    this.#now = now;
    this.#active = active;
  }

  /** Keeps `value` of metric `name` with the active span, when one is sampled. */
  offer(name: string, value: number, attributes: Attributes | undefined): void {
    const context = this.#active();
    if (context === undefined || !isSpanContextValid(context)) return;
    if ((context.traceFlags & TraceFlags.SAMPLED) === 0) return;
    const key = seriesKey(name, attributes);
    let kept = this.#series.get(key);
    if (kept === undefined) {
      if (this.#series.size >= MAX_SERIES) return;
      kept = [];
      this.#series.set(key, kept);
    }
    if (kept.length >= EXEMPLARS_PER_SERIES) kept.shift();
    kept.push({
      value,
      traceId: context.traceId,
      spanId: context.spanId,
      timestampSeconds: this.#now() / 1000,
    });
  }

  /** The latest exemplar of a series whose value is in `(above, atMost]`. */
  find(key: string, above: number, atMost: number): Exemplar | undefined {
    const kept = this.#series.get(key);
    if (kept === undefined) return undefined;
    for (let i = kept.length - 1; i >= 0; i--) {
      const exemplar = kept[i]!;
      if (exemplar.value > above && exemplar.value <= atMost) return exemplar;
    }
    return undefined;
  }
}

/**
 * A series' identity: the metric name and its labels sorted by name, each value as the
 * exposition writes it (so a parsed `_bucket` line, minus `le`, gives the same key).
 */
export function seriesKey(name: string, attributes: Attributes | undefined): string {
  const labels = attributes === undefined ? [] : Object.keys(attributes);
  if (attributes === undefined || labels.length === 0) return name;
  const pairs = labels.sort().map((label) =>
    `${label}="${escapeLabelValue(String(attributes[label]))}"`
  );
  return `${name}{${pairs.join(",")}}`;
}

/** Escapes a label value as the Prometheus and OpenMetrics text formats do. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}
