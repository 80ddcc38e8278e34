import type { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace";
import type { OtelSettings, OtlpTarget } from "./otel_env.ts";

/** The sampler `OTEL_TRACES_SAMPLER` (and its argument) names. */
export function toSampler(settings: OtelSettings["sampler"]): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(settings.ratio);
  switch (settings.name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio();
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio() });
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** The configuration every OTLP exporter (traces, metrics, logs) takes. */
export type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

/** An OTLP exporter's configuration for `target`. */
export function exporterConfig(target: OtlpTarget): ExporterConfig {
  return {
    url: target.url,
    headers: { ...target.headers },
    timeoutMillis: target.timeoutMs,
    // The enum lives in otlp-exporter-base, which the import map does not name.
    compression: (target.gzip ? "gzip" : "none") as unknown as NonNullable<
      ExporterConfig["compression"]
    >,
  };
}

/** The URL without credentials, for logs. */
export function safeUrl(target: OtlpTarget | undefined): string {
  if (target === undefined) return "off";
  const url = new URL(target.url);
  url.username = "";
  url.password = "";
  return url.href;
}
