/**
 * How a metric definition becomes instruments on every meter (usually one; two in Deno-native
 * mode), and the bounded attribute-set caches that keep recording free of allocations.
 */
import type { Attributes, Meter, ObservableResult } from "@opentelemetry/api";
import type { TelemetryCatalog } from "./facade.ts";
import type { ExemplarStore } from "./exemplars.ts";
import { type MetricDefinition, toMetricOptions } from "./metric_definitions.ts";

/** Attribute sets are cached per label value (bounded) so hot paths allocate nothing. */
const MAX_CACHED_ATTRIBUTE_SETS = 1024;

/** A lookup of the frozen attribute set of `keys` with given values, built once per value set. */
export function attributeCache<A extends readonly string[]>(
  keys: readonly string[],
): (...values: A) => Attributes {
  const cache = new Map<string, Attributes>();
  return (...values) => {
    const id = values.length === 1 ? values[0]! : values.join("\u0000");
    let attributes = cache.get(id);
    if (attributes === undefined) {
      attributes = Object.freeze(Object.fromEntries(keys.map((key, i) => [key, values[i]])));
      if (cache.size < MAX_CACHED_ATTRIBUTE_SETS) cache.set(id, attributes);
    }
    return attributes;
  };
}

/** An attribute-set cache over one label key. */
export function attributesOf(key: string): (value: string) => Attributes {
  return attributeCache<[string]>([key]);
}

/** Records a value (a count to add, or a histogram sample) to one instrument on every meter. */
export type Add = (value: number, attributes?: Attributes) => void;

/**
 * Creates a synchronous instrument on every meter; the returned function records to all.
 * A histogram marked `exemplars` also offers each value to `exemplars`, when given.
 */
export function synchronous(
  meters: readonly Meter[],
  definition: MetricDefinition,
  exemplars?: ExemplarStore,
): Add {
  const record = recordToAll(meters, definition);
  if (definition.exemplars !== true || exemplars === undefined) return record;
  const { name } = definition;
  return (value, attributes) => {
    record(value, attributes);
    exemplars.offer(name, value, attributes);
  };
}

function recordToAll(meters: readonly Meter[], definition: MetricDefinition): Add {
  const options = toMetricOptions(definition);
  const instruments = meters.map((meter): Add => {
    switch (definition.kind) {
      case "counter": {
        const counter = meter.createCounter(definition.name, options);
        return (value, attributes) => counter.add(value, attributes);
      }
      case "upDownCounter": {
        const counter = meter.createUpDownCounter(definition.name, options);
        return (value, attributes) => counter.add(value, attributes);
      }
      case "histogram": {
        const histogram = meter.createHistogram(definition.name, options);
        return (value, attributes) => histogram.record(value, attributes);
      }
      default:
        throw new TypeError(`${definition.name} is not a synchronous instrument`);
    }
  });
  const [only] = instruments;
  if (instruments.length === 1 && only !== undefined) return only;
  return (value, attributes) => {
    for (const record of instruments) record(value, attributes);
  };
}

/**
 * Creates a counter (or any synchronous instrument) whose series, when it has no labels, starts
 * at 0 so it exists from the first scrape.
 */
export function counter(meters: readonly Meter[], definition: MetricDefinition): Add {
  const add = synchronous(meters, definition);
  if (definition.labels.length === 0) add(0);
  return add;
}

/**
 * Creates an observable instrument on every meter, read at collection time. A callback that
 * throws reports nothing for that collection (the reading is skipped, never the export).
 */
export function observable(
  meters: readonly Meter[],
  definition: MetricDefinition,
  observe: (result: ObservableResult) => void,
): void {
  const options = toMetricOptions(definition);
  const callback = (result: ObservableResult) => {
    try {
      observe(result);
    } catch {
      // A failing reading (a component mid-shutdown) must not break the collection of
      // every other metric; the gauge simply has no point this time.
    }
  };
  for (const meter of meters) {
    const instrument = definition.kind === "observableCounter"
      ? meter.createObservableCounter(definition.name, options)
      : meter.createObservableGauge(definition.name, options);
    instrument.addCallback(callback);
  }
}

/** One area's facade, and how it starts the series of the label values the app announces. */
export interface AreaMetrics<Facade> {
  readonly telemetry: Facade;
  /**
   * Starts at 0 the series labelled by values in `known` (see `Observations.catalog`). Adding
   * 0 creates a series without changing it: a label set already in use keeps its count.
   */
  catalog(known: TelemetryCatalog): void;
}
