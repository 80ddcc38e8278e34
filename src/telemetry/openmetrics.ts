import type { Exemplar, ExemplarStore } from "./exemplars.ts";

/** `Content-Type` of `GET /metrics` in OpenMetrics format. */
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** The formats `/metrics` answers in. */
export type MetricsFormat = "prometheus" | "openmetrics";

/**
 * The format an `Accept` header asks for: OpenMetrics when it names
 * `application/openmetrics-text` (as Prometheus's scraper does first), Prometheus text otherwise.
 */
export function metricsFormatFor(accept: string | null): MetricsFormat {
  return accept !== null && /application\/openmetrics-text/i.test(accept)
    ? "openmetrics"
    : "prometheus";
}

const COUNTER_TYPE = /^# TYPE (\S+_total) counter$/gm;
const UNIT = /^# UNIT (\S+) (\S+)$/;
const TYPE_OR_HELP = /^# (TYPE|HELP) (\S+)(.*)$/;
const BUCKET = /^(\S+)_bucket\{(.*)\} (\S+)$/;
/** One `name="value"` pair of a label set, the value with its escapes. */
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Turns the Prometheus text exposition (0.0.4) of `PrometheusSerializer` into OpenMetrics
 * 1.0: counter families are named without `_total` (their samples keep it), `HELP` escapes
 * quotes too, a `UNIT` that does not end its family's name is left out, there are no blank
 * lines, the latency histograms' buckets carry the latest
 * exemplar that falls in them (`# {trace_id="…",span_id="…"} value timestamp`), and
 * `# EOF` ends it.
 */
export function toOpenMetrics(text: string, exemplars: ExemplarStore | undefined): string {
  const counters = new Set([...text.matchAll(COUNTER_TYPE)].map((match) => match[1]!));
  const out: string[] = [];
  // The bucket below the current one, per series, for the exemplar's value range.
  let series = "";
  let lowerBound = -Infinity;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const unit = UNIT.exec(line);
    // OpenMetrics requires a family's unit to end its name; the SDK's own metrics
    // (`otel_sdk_processor_span_queue_capacity`, unit `{span}`) do not: their UNIT goes.
    if (unit !== null && !unit[1]!.endsWith(`_${unit[2]}`)) continue;
    const meta = TYPE_OR_HELP.exec(line);
    if (meta !== null) {
      const [, keyword, name, rest] = meta as unknown as [string, string, string, string];
      const family = counters.has(name) ? name.slice(0, -"_total".length) : name;
      out.push(`# ${keyword} ${family}${keyword === "HELP" ? rest.replaceAll('"', '\\"') : rest}`);
      continue;
    }
    const bucket = exemplars === undefined ? null : BUCKET.exec(line);
    if (bucket === null) {
      out.push(line);
      continue;
    }
    const [, name, labelText] = bucket as unknown as [string, string, string];
    const { key, le } = bucketOf(name, labelText);
    if (key !== series) {
      series = key;
      lowerBound = -Infinity;
    }
    const exemplar = exemplars!.find(key, lowerBound, le);
    lowerBound = le;
    out.push(exemplar === undefined ? line : `${line} ${formatExemplar(exemplar)}`);
  }
  out.push("# EOF");
  return `${out.join("\n")}\n`;
}

/** A bucket line's series key (its labels but `le`) and upper bound. */
function bucketOf(name: string, labelText: string): { key: string; le: number } {
  const labels: Record<string, string> = {};
  let le = NaN;
  for (const [, label, value] of labelText.matchAll(LABEL)) {
    if (label === "le") le = value === "+Inf" ? Infinity : Number(value);
    // Kept escaped, as `seriesKey` escapes: the keys then compare as written.
    else labels[label!] = value!;
  }
  const pairs = Object.keys(labels).sort().map((label) => `${label}="${labels[label]}"`);
  return { key: pairs.length === 0 ? name : `${name}{${pairs.join(",")}}`, le };
}

function formatExemplar(exemplar: Exemplar): string {
  return `# {trace_id="${exemplar.traceId}",span_id="${exemplar.spanId}"} ${exemplar.value} ${
    exemplar.timestampSeconds.toFixed(3)
  }`;
}
