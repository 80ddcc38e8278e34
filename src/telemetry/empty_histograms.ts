import type { Attributes } from "@opentelemetry/api";
import { escapeLabelValue } from "./exemplars.ts";
import type { MetricDefinition } from "./metric_definitions.ts";

/** One declared series: a histogram and one set of its labels. */
interface Declared {
  readonly definition: MetricDefinition;
  /** `view="Token/list"`, as the exposition writes the labels (insertion order). */
  readonly labels: string;
}

/**
 * Histogram series `/metrics` shows from start-up, before their first value. The
 * OpenTelemetry SDK exports a histogram series only once a value was recorded, and a
 * made-up 0 would count something that never happened; so the scrape itself adds each
 * declared series that is still missing, with every bucket, its sum and its count at 0
 * (what a histogram that saw nothing is). `event_delivery_lag_seconds{view}` uses it for
 * the stack's views, so an alert or panel over a view finds its series before the view's
 * first frame. OTLP export is unchanged: there the series comes with the first value.
 */
export class EmptyHistograms {
  readonly #declared = new Map<string, Declared>();

  /** Shows `definition`'s series with `attributes` from now on, empty until recorded. */
  declare(definition: MetricDefinition, attributes: Attributes): void {
    const labels = Object.entries(attributes)
      .map(([name, value]) => `${name}="${escapeLabelValue(String(value))}"`)
      .join(",");
    this.#declared.set(`${definition.name}{${labels}}`, { definition, labels });
  }

  /** `text` (Prometheus exposition) with the declared series it lacks, each in its family. */
  fill(text: string): string {
    if (this.#declared.size === 0) return text;
    const lines = text.split("\n");
    for (const { definition, labels } of this.#declared.values()) {
      const { name } = definition;
      if (text.includes(`\n${name}_count{${labels}} `)) continue;
      const empty = emptySeries(definition, labels);
      const typeAt = lines.indexOf(`# TYPE ${name} histogram`);
      if (typeAt < 0) {
        // A family of its own, before the text's final newline.
        const at = lines.at(-1) === "" ? lines.length - 1 : lines.length;
        lines.splice(
          at,
          0,
          `# HELP ${name} ${definition.description}`,
          `# TYPE ${name} histogram`,
          ...empty,
        );
        continue;
      }
      let end = typeAt + 1;
      while (end < lines.length && lines[end]!.startsWith(`${name}_`)) end++;
      lines.splice(end, 0, ...empty);
    }
    return lines.join("\n");
  }
}

/** The sample lines of a histogram series that saw nothing. */
function emptySeries(definition: MetricDefinition, labels: string): string[] {
  const { name } = definition;
  const bounds = [...(definition.buckets ?? []).map(String), "+Inf"];
  return [
    `${name}_count{${labels}} 0`,
    `${name}_sum{${labels}} 0`,
    ...bounds.map((le) => `${name}_bucket{${labels},le="${le}"} 0`),
  ];
}
