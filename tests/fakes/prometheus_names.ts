/**
 * The standard OTLP → Prometheus metric name translation, as the OpenTelemetry Collector's
 * Prometheus exporter applies it with its defaults (suffixes on, UTF-8 off: the
 * `UnderscoreEscapingWithSuffixes` strategy of the Prometheus `otlptranslator` library the
 * Collector uses; OTel spec "Prometheus and OpenMetrics Compatibility"):
 *
 * 1. Split the name into tokens on every character outside `[a-zA-Z0-9:]` (so `.`, `-`,
 *    `/` and runs of `_` all become one `_`).
 * 2. Unit `main/per` (UCUM): the main unit maps through {@link UNIT_SUFFIXES}, unknown units
 *    are kept (invalid characters → `_`); `1` gives nothing; a part containing `{` or `}`
 *    (an annotation such as `{request}`) is dropped. The per unit maps through
 *    {@link PER_UNIT_SUFFIXES} and becomes `per_<unit>`. A suffix is appended only when the
 *    name does not already contain it as a token (`duration_seconds` + `s` stays, and so does
 *    `seconds_elapsed` + `s`: the Collector checks the tokens, not only the end).
 * 3. Monotonic sums: every `total` token is removed and one `total` appended.
 * 4. Gauges with unit `1`: every `ratio` token is removed and one `ratio` appended.
 * 5. Optional namespace prefix; a leading digit gets a `_` prefix.
 *
 * Histograms (and summaries) keep the base name: `_bucket`, `_sum` and `_count` are series
 * names under it. Non-monotonic sums are Prometheus gauges and get no `_total`.
 * @module
 */

/** The metric fields the translation looks at (a `DecodedMetric` fits). */
export interface PrometheusNameInput {
  name: string;
  unit: string;
  type: "sum" | "gauge" | "histogram" | "exponentialHistogram" | "summary";
  /** Sums only: monotonic sums are Prometheus counters. */
  monotonic?: boolean;
}

/** Options of {@link toPrometheusName}. */
export interface PrometheusNameOptions {
  /** The exporter's `namespace` setting, prefixed as `<namespace>_`. */
  namespace?: string;
}

/** UCUM main units → Prometheus unit words (the Collector's table). */
export const UNIT_SUFFIXES: Readonly<Record<string, string>> = {
  // Time
  d: "days",
  h: "hours",
  min: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  // Bytes
  By: "bytes",
  KiBy: "kibibytes",
  MiBy: "mebibytes",
  GiBy: "gibibytes",
  TiBy: "tibibytes",
  KBy: "kilobytes",
  MBy: "megabytes",
  GBy: "gigabytes",
  TBy: "terabytes",
  // SI
  m: "meters",
  V: "volts",
  A: "amperes",
  J: "joules",
  W: "watts",
  g: "grams",
  // Misc
  Cel: "celsius",
  Hz: "hertz",
  "1": "",
  "%": "percent",
};

/** UCUM units after `/` → singular Prometheus words (`By/s` → `bytes_per_second`). */
export const PER_UNIT_SUFFIXES: Readonly<Record<string, string>> = {
  s: "second",
  m: "minute",
  h: "hour",
  d: "day",
  w: "week",
  mo: "month",
  y: "year",
};

const INVALID = /[^a-zA-Z0-9:]/;

function tokens(text: string): string[] {
  return text.split(INVALID).filter((t) => t !== "");
}

/** Invalid characters → `_`, runs of `_` collapsed, a leading `_` removed. */
function cleanUnit(unit: string): string {
  return unit.replace(/[^a-zA-Z0-9:]/g, "_").replace(/_+/g, "_").replace(/^_/, "");
}

function unitSuffixes(unit: string): { main: string; per: string } {
  const slash = unit.indexOf("/");
  const mainPart = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const perPart = slash < 0 ? "" : unit.slice(slash + 1).trim();
  let main = "";
  if (mainPart !== "" && !/[{}]/.test(mainPart)) main = UNIT_SUFFIXES[mainPart] ?? mainPart;
  let per = "";
  if (perPart !== "" && !/[{}]/.test(perPart)) per = PER_UNIT_SUFFIXES[perPart] ?? perPart;
  if (per !== "") per = `per_${per}`;
  return { main: cleanUnit(main), per: cleanUnit(per) };
}

/**
 * The Prometheus metric name the Collector's Prometheus exporter gives an OTLP metric.
 * Throws when nothing valid is left (e.g. a name made only of invalid characters).
 */
export function toPrometheusName(
  metric: PrometheusNameInput,
  options: PrometheusNameOptions = {},
): string {
  let nameTokens = tokens(metric.name);

  let { main, per } = unitSuffixes(metric.unit);
  if (nameTokens.includes(main)) main = "";
  if (per === "per_") {
    per = "";
  } else {
    per = per.replace(/_$/, "");
    if (nameTokens.includes(per)) per = "";
  }
  if (per !== "") main = main.replace(/_$/, "");
  if (main !== "") nameTokens.push(main);
  if (per !== "") nameTokens.push(per);

  if (metric.type === "sum" && metric.monotonic === true) {
    nameTokens = [...nameTokens.filter((t) => t !== "total"), "total"];
  }
  if (metric.unit === "1" && metric.type === "gauge") {
    nameTokens = [...nameTokens.filter((t) => t !== "ratio"), "ratio"];
  }
  if (options.namespace !== undefined && options.namespace !== "") {
    nameTokens = [options.namespace, ...nameTokens];
  }

  let name = nameTokens.join("_");
  if (/^[0-9]/.test(name)) name = `_${name}`;
  if (name.replaceAll("_", "") === "") {
    throw new RangeError(`metric name ${JSON.stringify(metric.name)} has no valid characters`);
  }
  return name;
}
