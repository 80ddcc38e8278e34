/**
 * A real OTLP/HTTP receiver for tests: `Deno.serve` on 127.0.0.1, port 0, accepting
 * `POST /v1/traces`, `POST /v1/metrics` and `POST /v1/logs` as `application/x-protobuf` (optionally
 * `content-encoding: gzip`), decoded with the official opentelemetry-proto definitions
 * (the protobufjs root shipped by `@opentelemetry/otlp-transformer@0.57.2`, import map
 * name `otlp-proto`). That decoder is independent of the 0.301 exporters' hand-written
 * encoder, so a test that passes here proves the bytes are what a real collector reads.
 *
 * ```ts
 * await using receiver = await startOtlpReceiver();
 * // point the exporter at `${receiver.url}/v1/traces` …
 * await receiver.waitFor((r) => r.spans().some((s) => s.name === "runtime"), 5000);
 * ```
 */
import {
  decodeMessage,
  EXPORT_LOGS_REQUEST,
  EXPORT_METRICS_REQUEST,
  EXPORT_TRACE_REQUEST,
} from "./otlp_proto.ts";
import { until } from "../wait.ts";

/** An attribute value as decoded from OTLP `AnyValue` (int64 values become numbers). */
export type AttributeValue =
  | string
  | number
  | boolean
  | null
  | AttributeValue[]
  | { [key: string]: AttributeValue };

/** Attributes as a plain record. */
export type Attributes = Record<string, AttributeValue>;

/** OTLP span kinds, lower-cased without the `SPAN_KIND_` prefix. */
export type DecodedSpanKind =
  | "unspecified"
  | "internal"
  | "server"
  | "client"
  | "producer"
  | "consumer";

/** OTLP status codes, lower-cased without the `STATUS_CODE_` prefix. */
export type DecodedStatusCode = "unset" | "ok" | "error";

/** One span as a collector would see it. Ids are lowercase hex; absent ids are `""`. */
export interface DecodedSpan {
  name: string;
  traceId: string;
  spanId: string;
  /** Lowercase hex, or `""` for a root span. */
  parentSpanId: string;
  kind: DecodedSpanKind;
  attributes: Attributes;
  status: { code: DecodedStatusCode; message: string };
  events: { name: string; attributes: Attributes; timeUnixNano: string }[];
  links: { traceId: string; spanId: string; attributes: Attributes }[];
  /** Nanoseconds since the epoch, as a decimal string (int64 does not fit a number). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** `end - start` in milliseconds. */
  durationMs: number;
  /** The resource of the `ResourceSpans` the span arrived in. */
  resource: Attributes;
  /** The instrumentation scope (tracer name and version). */
  scope: { name: string; version: string };
}

/** The OTLP metric data kinds. */
export type DecodedMetricType = "sum" | "gauge" | "histogram" | "exponentialHistogram" | "summary";

/** Aggregation temporality of sums and histograms. */
export type DecodedTemporality = "cumulative" | "delta" | "unspecified";

/** One data point. Which fields are set depends on the metric type. */
export interface DecodedPoint {
  attributes: Attributes;
  /** Sum and gauge points (`asInt` or `asDouble`). */
  value?: number;
  /** Histogram, exponential histogram and summary points. */
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  /** Explicit-bucket histograms: upper bounds and the per-bucket counts (bounds + 1 long). */
  bounds?: number[];
  bucketCounts?: number[];
  /** Summary points. */
  quantiles?: { quantile: number; value: number }[];
  startTimeUnixNano: string;
  timeUnixNano: string;
}

/** One metric of one export request. Cumulative exports repeat a metric per request. */
export interface DecodedMetric {
  name: string;
  unit: string;
  description: string;
  type: DecodedMetricType;
  /** Sums only. */
  monotonic?: boolean;
  /** Sums and (exponential) histograms. */
  temporality?: DecodedTemporality;
  points: DecodedPoint[];
  resource: Attributes;
  scope: { name: string; version: string };
}

/** One log record as a collector would see it. Ids are lowercase hex; absent ids are `""`. */
export interface DecodedLogRecord {
  /** Nanoseconds since the epoch, as a decimal string. */
  timeUnixNano: string;
  observedTimeUnixNano: string;
  /** OTLP severity number (1–24; 9 = INFO, 13 = WARN, 17 = ERROR), 0 when unset. */
  severityNumber: number;
  severityText: string;
  /** The body (a string for Pharos's records), `null` when absent. */
  body: AttributeValue;
  attributes: Attributes;
  traceId: string;
  spanId: string;
  flags: number;
  /** The resource of the `ResourceLogs` the record arrived in. */
  resource: Attributes;
  /** The instrumentation scope (logger name and version). */
  scope: { name: string; version: string };
}

/** What the receiver saw of one HTTP request, accepted or not. */
export interface ReceivedRequest {
  method: string;
  path: string;
  /** The status the receiver answered. */
  status: number;
  contentType: string;
  /** `content-encoding` header, or `""`. */
  contentEncoding: string;
  /** Body size as sent (compressed size when gzipped). */
  bodyBytes: number;
  userAgent: string;
}

/** Options of {@link startOtlpReceiver}. */
export interface OtlpReceiverOptions {
  /** Answer every export with this HTTP status instead of 200 (nothing is stored). */
  failWith?: number;
  /** Listen on this port (a collector coming back where one was down); default any free port. */
  port?: number;
}

/** A running receiver. Dispose it (`await using`) to stop the server. */
export interface OtlpReceiver extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`; exporters post to `${url}/v1/{traces,metrics,logs}`. */
  readonly url: string;
  /** Every span accepted so far, in arrival order. */
  spans(): DecodedSpan[];
  /** Every log record accepted so far, in arrival order. */
  logs(): DecodedLogRecord[];
  /** Every metric accepted so far, one entry per metric per export request, in arrival order. */
  metrics(): DecodedMetric[];
  /** The most recently received metric called `name` (the latest cumulative value). */
  lastMetric(name: string): DecodedMetric | undefined;
  /** Every request seen so far (accepted, failed on purpose, or rejected). */
  received(): ReceivedRequest[];
  /** Number of HTTP requests received so far (any path, any outcome). */
  readonly requests: number;
  /** Answer exports with `status` from now on; `undefined` goes back to 200. */
  setFailure(status: number | undefined): void;
  /** Resolves once `predicate(receiver)` holds; rejects with what was received after `timeoutMs`. */
  waitFor(
    predicate: (receiver: OtlpReceiver) => boolean,
    timeoutMs?: number,
    what?: string,
  ): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// The decoded requests (tests/fakes/otlp_proto.ts), typed just enough for what this file reads.

type Long = string; // 64-bit integers as decimal text
type Bytes = Uint8Array;

interface PbAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Long;
  doubleValue?: number;
  arrayValue?: { values?: PbAnyValue[] };
  kvlistValue?: { values?: PbKeyValue[] };
  bytesValue?: Bytes;
}
interface PbKeyValue {
  key?: string;
  value?: PbAnyValue;
}
interface PbResource {
  attributes?: PbKeyValue[];
}
interface PbScope {
  name?: string;
  version?: string;
}
interface PbSpan {
  traceId?: Bytes;
  spanId?: Bytes;
  parentSpanId?: Bytes;
  name?: string;
  kind?: number;
  startTimeUnixNano?: Long;
  endTimeUnixNano?: Long;
  attributes?: PbKeyValue[];
  events?: { timeUnixNano?: Long; name?: string; attributes?: PbKeyValue[] }[];
  links?: { traceId?: Bytes; spanId?: Bytes; attributes?: PbKeyValue[] }[];
  status?: { message?: string; code?: number };
}
interface PbTraceRequest {
  resourceSpans?: {
    resource?: PbResource;
    scopeSpans?: { scope?: PbScope; spans?: PbSpan[] }[];
  }[];
}
interface PbPointBase {
  attributes?: PbKeyValue[];
  startTimeUnixNano?: Long;
  timeUnixNano?: Long;
}
interface PbNumberPoint extends PbPointBase {
  asDouble?: number;
  asInt?: Long;
}
interface PbHistogramPoint extends PbPointBase {
  count?: Long;
  sum?: number;
  min?: number;
  max?: number;
  bucketCounts?: Long[];
  explicitBounds?: number[];
}
interface PbSummaryPoint extends PbPointBase {
  count?: Long;
  sum?: number;
  quantileValues?: { quantile?: number; value?: number }[];
}
interface PbMetric {
  name?: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints?: PbNumberPoint[] };
  sum?: { dataPoints?: PbNumberPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints?: PbHistogramPoint[]; aggregationTemporality?: number };
  exponentialHistogram?: { dataPoints?: PbHistogramPoint[]; aggregationTemporality?: number };
  summary?: { dataPoints?: PbSummaryPoint[] };
}
interface PbMetricsRequest {
  resourceMetrics?: {
    resource?: PbResource;
    scopeMetrics?: { scope?: PbScope; metrics?: PbMetric[] }[];
  }[];
}

interface PbLogRecord {
  timeUnixNano?: Long;
  observedTimeUnixNano?: Long;
  severityNumber?: number;
  severityText?: string;
  body?: PbAnyValue;
  attributes?: PbKeyValue[];
  flags?: number;
  traceId?: Bytes;
  spanId?: Bytes;
}
interface PbLogsRequest {
  resourceLogs?: {
    resource?: PbResource;
    scopeLogs?: { scope?: PbScope; logRecords?: PbLogRecord[] }[];
  }[];
}

/** The enums' values, by number, as this file reports them. */
const SPAN_KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"] as const;
const STATUS_CODES = ["unset", "ok", "error"] as const;
const TEMPORALITIES = ["unspecified", "delta", "cumulative"] as const;

// ---------------------------------------------------------------------------------------------
// Decoding.

function toHex(bytes: Bytes | undefined): string {
  if (bytes === undefined) return "";
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function toValue(value: PbAnyValue | undefined): AttributeValue {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(toValue);
  if (value.kvlistValue !== undefined) return toAttributes(value.kvlistValue.values);
  if (value.bytesValue !== undefined) return toHex(value.bytesValue);
  return null;
}

function toAttributes(list: PbKeyValue[] | undefined): Attributes {
  const out: Attributes = {};
  for (const kv of list ?? []) out[kv.key ?? ""] = toValue(kv.value);
  return out;
}

function toScope(scope: PbScope | undefined): { name: string; version: string } {
  return { name: scope?.name ?? "", version: scope?.version ?? "" };
}

/** An enum's name by its number (the first name for a number it does not know). */
function named<T extends string>(names: readonly T[], value: number | undefined): T {
  return names[value ?? 0] ?? names[0]!;
}

function toTemporality(value: number | undefined): DecodedTemporality {
  return named(TEMPORALITIES, value);
}

/** Decodes an `ExportTraceServiceRequest` body. */
export function decodeTraceRequest(bytes: Uint8Array): DecodedSpan[] {
  const request = decodeMessage(bytes, EXPORT_TRACE_REQUEST) as PbTraceRequest;
  const spans: DecodedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const resource = toAttributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      const scope = toScope(ss.scope);
      for (const span of ss.spans ?? []) {
        const start = span.startTimeUnixNano ?? "0";
        const end = span.endTimeUnixNano ?? "0";
        spans.push({
          name: span.name ?? "",
          traceId: toHex(span.traceId),
          spanId: toHex(span.spanId),
          parentSpanId: toHex(span.parentSpanId),
          kind: named(SPAN_KINDS, span.kind) as DecodedSpanKind,
          attributes: toAttributes(span.attributes),
          status: {
            code: named(STATUS_CODES, span.status?.code) as DecodedStatusCode,
            message: span.status?.message ?? "",
          },
          events: (span.events ?? []).map((e) => ({
            name: e.name ?? "",
            attributes: toAttributes(e.attributes),
            timeUnixNano: e.timeUnixNano ?? "0",
          })),
          links: (span.links ?? []).map((l) => ({
            traceId: toHex(l.traceId),
            spanId: toHex(l.spanId),
            attributes: toAttributes(l.attributes),
          })),
          startTimeUnixNano: start,
          endTimeUnixNano: end,
          durationMs: Number(BigInt(end) - BigInt(start)) / 1e6,
          resource,
          scope,
        });
      }
    }
  }
  return spans;
}

function pointBase(p: PbPointBase): Pick<
  DecodedPoint,
  "attributes" | "startTimeUnixNano" | "timeUnixNano"
> {
  return {
    attributes: toAttributes(p.attributes),
    startTimeUnixNano: p.startTimeUnixNano ?? "0",
    timeUnixNano: p.timeUnixNano ?? "0",
  };
}

function numberPoint(p: PbNumberPoint): DecodedPoint {
  const point: DecodedPoint = pointBase(p);
  if (p.asDouble !== undefined) point.value = p.asDouble;
  else if (p.asInt !== undefined) point.value = Number(p.asInt);
  return point;
}

function histogramPoint(p: PbHistogramPoint): DecodedPoint {
  const point: DecodedPoint = { ...pointBase(p), count: Number(p.count ?? 0) };
  if (p.sum !== undefined) point.sum = p.sum;
  if (p.min !== undefined) point.min = p.min;
  if (p.max !== undefined) point.max = p.max;
  if (p.explicitBounds !== undefined) point.bounds = p.explicitBounds;
  if (p.bucketCounts !== undefined) point.bucketCounts = p.bucketCounts.map(Number);
  return point;
}

function summaryPoint(p: PbSummaryPoint): DecodedPoint {
  const point: DecodedPoint = { ...pointBase(p), count: Number(p.count ?? 0) };
  if (p.sum !== undefined) point.sum = p.sum;
  point.quantiles = (p.quantileValues ?? []).map((q) => ({
    quantile: q.quantile ?? 0,
    value: q.value ?? 0,
  }));
  return point;
}

function toMetric(
  m: PbMetric,
  resource: Attributes,
  scope: { name: string; version: string },
): DecodedMetric {
  const base = {
    name: m.name ?? "",
    unit: m.unit ?? "",
    description: m.description ?? "",
    resource,
    scope,
  };
  if (m.sum !== undefined) {
    return {
      ...base,
      type: "sum",
      monotonic: m.sum.isMonotonic ?? false,
      temporality: toTemporality(m.sum.aggregationTemporality),
      points: (m.sum.dataPoints ?? []).map(numberPoint),
    };
  }
  if (m.gauge !== undefined) {
    return { ...base, type: "gauge", points: (m.gauge.dataPoints ?? []).map(numberPoint) };
  }
  if (m.histogram !== undefined) {
    return {
      ...base,
      type: "histogram",
      temporality: toTemporality(m.histogram.aggregationTemporality),
      points: (m.histogram.dataPoints ?? []).map(histogramPoint),
    };
  }
  if (m.exponentialHistogram !== undefined) {
    return {
      ...base,
      type: "exponentialHistogram",
      temporality: toTemporality(m.exponentialHistogram.aggregationTemporality),
      points: (m.exponentialHistogram.dataPoints ?? []).map((p) => {
        const { bounds: _b, bucketCounts: _c, ...rest } = histogramPoint(p);
        return rest;
      }),
    };
  }
  if (m.summary !== undefined) {
    return { ...base, type: "summary", points: (m.summary.dataPoints ?? []).map(summaryPoint) };
  }
  throw new Error(`metric ${JSON.stringify(m.name)} carries no data`);
}

/** Decodes an `ExportMetricsServiceRequest` body. */
export function decodeMetricsRequest(bytes: Uint8Array): DecodedMetric[] {
  const request = decodeMessage(bytes, EXPORT_METRICS_REQUEST) as PbMetricsRequest;
  const metrics: DecodedMetric[] = [];
  for (const rm of request.resourceMetrics ?? []) {
    const resource = toAttributes(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      const scope = toScope(sm.scope);
      for (const metric of sm.metrics ?? []) metrics.push(toMetric(metric, resource, scope));
    }
  }
  return metrics;
}

/** Decodes an `ExportLogsServiceRequest` body. */
export function decodeLogsRequest(bytes: Uint8Array): DecodedLogRecord[] {
  const request = decodeMessage(bytes, EXPORT_LOGS_REQUEST) as PbLogsRequest;
  const records: DecodedLogRecord[] = [];
  for (const rl of request.resourceLogs ?? []) {
    const resource = toAttributes(rl.resource?.attributes);
    for (const sl of rl.scopeLogs ?? []) {
      const scope = toScope(sl.scope);
      for (const r of sl.logRecords ?? []) {
        records.push({
          timeUnixNano: r.timeUnixNano ?? "0",
          observedTimeUnixNano: r.observedTimeUnixNano ?? "0",
          severityNumber: r.severityNumber ?? 0,
          severityText: r.severityText ?? "",
          body: toValue(r.body),
          attributes: toAttributes(r.attributes),
          traceId: toHex(r.traceId),
          spanId: toHex(r.spanId),
          flags: r.flags ?? 0,
          resource,
          scope,
        });
      }
    }
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// The server.

const PROTOBUF = "application/x-protobuf";

async function inflate(raw: Uint8Array, encoding: string): Promise<Uint8Array> {
  if (encoding === "" || encoding === "identity") return raw;
  if (encoding !== "gzip") throw new RangeError(`unsupported content-encoding ${encoding}`);
  const inflated = new Blob([raw as BlobPart]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

/** Starts a receiver on an ephemeral 127.0.0.1 port. */
export function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const spans: DecodedSpan[] = [];
  const metrics: DecodedMetric[] = [];
  const logRecords: DecodedLogRecord[] = [];
  const log: ReceivedRequest[] = [];
  let failure = options.failWith;

  const handle = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const contentType = (request.headers.get("content-type") ?? "").split(";")[0]!.trim();
    const contentEncoding = (request.headers.get("content-encoding") ?? "").trim().toLowerCase();
    const entry: ReceivedRequest = {
      method: request.method,
      path,
      status: 0,
      contentType,
      contentEncoding,
      bodyBytes: 0,
      userAgent: request.headers.get("user-agent") ?? "",
    };
    log.push(entry);
    const reply = (status: number, body: Uint8Array | string, type: string) => {
      entry.status = status;
      return new Response(body as BodyInit, { status, headers: { "content-type": type } });
    };
    // Read the body first so a client never sees its upload cut short.
    const raw = request.body === null ? new Uint8Array() : await request.bytes();
    entry.bodyBytes = raw.byteLength;
    if (path !== "/v1/traces" && path !== "/v1/metrics" && path !== "/v1/logs") {
      return reply(404, "not found", "text/plain");
    }
    if (request.method !== "POST") return reply(405, "method not allowed", "text/plain");
    if (contentType !== PROTOBUF) {
      return reply(415, `unsupported content-type ${contentType}`, "text/plain");
    }
    if (failure !== undefined) return reply(failure, "failing on purpose", "text/plain");
    let body: Uint8Array;
    try {
      body = await inflate(raw, contentEncoding);
    } catch (error) {
      return reply(400, `bad body: ${(error as Error).message}`, "text/plain");
    }
    try {
      if (path === "/v1/traces") spans.push(...decodeTraceRequest(body));
      else if (path === "/v1/logs") logRecords.push(...decodeLogsRequest(body));
      else metrics.push(...decodeMetricsRequest(body));
    } catch (error) {
      return reply(400, `undecodable ${path} body: ${(error as Error).message}`, "text/plain");
    }
    // An empty Export*ServiceResponse encodes to zero bytes.
    return reply(200, new Uint8Array(), PROTOBUF);
  };

  return new Promise((resolve) => {
    const server = Deno.serve({
      port: options.port ?? 0,
      hostname: "127.0.0.1",
      onListen: ({ port }) => {
        const receiver: OtlpReceiver = {
          url: `http://127.0.0.1:${port}`,
          spans: () => [...spans],
          logs: () => [...logRecords],
          metrics: () => [...metrics],
          lastMetric: (name) => metrics.findLast((m) => m.name === name),
          received: () => log.map((r) => ({ ...r })),
          get requests() {
            return log.length;
          },
          setFailure(status) {
            failure = status;
          },
          async waitFor(predicate, timeoutMs = 5000, what = "the expected telemetry") {
            await until(() => predicate(receiver), what, {
              timeoutMs,
              detail() {
                const seen = {
                  requests: log.map((r) => `${r.method} ${r.path} → ${r.status}`),
                  spans: spans.map((s) => s.name),
                  metrics: [...new Set(metrics.map((m) => m.name))],
                  logs: logRecords.map((r) => `${r.severityText} ${r.scope.name}: ${r.body}`),
                };
                return `received ${JSON.stringify(seen).slice(0, 2000)}`;
              },
            });
          },
          async [Symbol.asyncDispose]() {
            await server.shutdown();
          },
        };
        resolve(receiver);
      },
    }, handle);
  });
}
