/**
 * A small protobuf decoder for the OTLP/HTTP export requests the test receiver reads:
 * traces, metrics and logs, with the field numbers of the OpenTelemetry protocol's `.proto`
 * files (opentelemetry-proto v1). Written here rather than taken from protobufjs: that
 * package carries an npm build script, and Deno warns about it on a fresh clone's first
 * `deno task start`, although only this test fake used it.
 *
 * Decoded messages are plain objects with the fields' camelCase names. Absent fields stay
 * absent; 64-bit integers are decimal strings, bytes are `Uint8Array`s, enums are numbers,
 * repeated fields are arrays (packed or not). Unknown fields are skipped.
 * @module
 */

/** The scalar field types the OTLP messages use. */
type Scalar =
  | "string"
  | "bytes"
  | "bool"
  | "int32"
  | "uint32"
  | "sint32"
  | "int64"
  | "fixed32"
  | "fixed64"
  | "sfixed64"
  | "double";

/** One field of a message: its name, its type (a scalar or a message) and whether it repeats. */
interface Field {
  readonly name: string;
  readonly type: Scalar | (() => MessageSchema);
  readonly repeated?: boolean;
}

/** A message's fields by number. */
export type MessageSchema = Readonly<Record<number, Field>>;

/** A decoded message. */
export type Decoded = Record<string, unknown>;

const field = (name: string, type: Field["type"], repeated = false): Field => ({
  name,
  type,
  repeated,
});

// --- opentelemetry/proto/common/v1/common.proto, resource/v1/resource.proto

const ANY_VALUE: MessageSchema = {
  1: field("stringValue", "string"),
  2: field("boolValue", "bool"),
  3: field("intValue", "int64"),
  4: field("doubleValue", "double"),
  5: field("arrayValue", () => ARRAY_VALUE),
  6: field("kvlistValue", () => KEY_VALUE_LIST),
  7: field("bytesValue", "bytes"),
};
const ARRAY_VALUE: MessageSchema = { 1: field("values", () => ANY_VALUE, true) };
const KEY_VALUE: MessageSchema = {
  1: field("key", "string"),
  2: field("value", () => ANY_VALUE),
};
const KEY_VALUE_LIST: MessageSchema = { 1: field("values", () => KEY_VALUE, true) };
const ATTRIBUTES = (number: number) => ({ [number]: field("attributes", () => KEY_VALUE, true) });
const SCOPE: MessageSchema = {
  1: field("name", "string"),
  2: field("version", "string"),
  ...ATTRIBUTES(3),
};
const RESOURCE: MessageSchema = { ...ATTRIBUTES(1) };

// --- opentelemetry/proto/trace/v1/trace.proto

const SPAN_EVENT: MessageSchema = {
  1: field("timeUnixNano", "fixed64"),
  2: field("name", "string"),
  ...ATTRIBUTES(3),
};
const SPAN_LINK: MessageSchema = {
  1: field("traceId", "bytes"),
  2: field("spanId", "bytes"),
  3: field("traceState", "string"),
  ...ATTRIBUTES(4),
  6: field("flags", "fixed32"),
};
const STATUS: MessageSchema = { 2: field("message", "string"), 3: field("code", "int32") };
const SPAN: MessageSchema = {
  1: field("traceId", "bytes"),
  2: field("spanId", "bytes"),
  3: field("traceState", "string"),
  4: field("parentSpanId", "bytes"),
  5: field("name", "string"),
  6: field("kind", "int32"),
  7: field("startTimeUnixNano", "fixed64"),
  8: field("endTimeUnixNano", "fixed64"),
  ...ATTRIBUTES(9),
  11: field("events", () => SPAN_EVENT, true),
  13: field("links", () => SPAN_LINK, true),
  15: field("status", () => STATUS),
  16: field("flags", "fixed32"),
};
const SCOPE_SPANS: MessageSchema = {
  1: field("scope", () => SCOPE),
  2: field("spans", () => SPAN, true),
};
const RESOURCE_SPANS: MessageSchema = {
  1: field("resource", () => RESOURCE),
  2: field("scopeSpans", () => SCOPE_SPANS, true),
};
/** `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`. */
export const EXPORT_TRACE_REQUEST: MessageSchema = {
  1: field("resourceSpans", () => RESOURCE_SPANS, true),
};

// --- opentelemetry/proto/metrics/v1/metrics.proto

const POINT_TIMES: MessageSchema = {
  2: field("startTimeUnixNano", "fixed64"),
  3: field("timeUnixNano", "fixed64"),
};
const NUMBER_POINT: MessageSchema = {
  ...POINT_TIMES,
  4: field("asDouble", "double"),
  6: field("asInt", "sfixed64"),
  ...ATTRIBUTES(7),
  8: field("flags", "uint32"),
};
const HISTOGRAM_POINT: MessageSchema = {
  ...POINT_TIMES,
  4: field("count", "fixed64"),
  5: field("sum", "double"),
  6: field("bucketCounts", "fixed64", true),
  7: field("explicitBounds", "double", true),
  ...ATTRIBUTES(9),
  10: field("flags", "uint32"),
  11: field("min", "double"),
  12: field("max", "double"),
};
const EXPONENTIAL_BUCKETS: MessageSchema = {
  1: field("offset", "sint32"),
  2: field("bucketCounts", "fixed64", true),
};
const EXPONENTIAL_POINT: MessageSchema = {
  ...ATTRIBUTES(1),
  ...POINT_TIMES,
  4: field("count", "fixed64"),
  5: field("sum", "double"),
  6: field("scale", "sint32"),
  7: field("zeroCount", "fixed64"),
  8: field("positive", () => EXPONENTIAL_BUCKETS),
  9: field("negative", () => EXPONENTIAL_BUCKETS),
  10: field("flags", "uint32"),
  12: field("min", "double"),
  13: field("max", "double"),
  14: field("zeroThreshold", "double"),
};
const QUANTILE: MessageSchema = { 1: field("quantile", "double"), 2: field("value", "double") };
const SUMMARY_POINT: MessageSchema = {
  ...POINT_TIMES,
  4: field("count", "fixed64"),
  5: field("sum", "double"),
  6: field("quantileValues", () => QUANTILE, true),
  ...ATTRIBUTES(7),
  8: field("flags", "uint32"),
};
const TEMPORALITY = 2;
const METRIC: MessageSchema = {
  1: field("name", "string"),
  2: field("description", "string"),
  3: field("unit", "string"),
  5: field("gauge", () => ({ 1: field("dataPoints", () => NUMBER_POINT, true) })),
  7: field("sum", () => ({
    1: field("dataPoints", () => NUMBER_POINT, true),
    [TEMPORALITY]: field("aggregationTemporality", "int32"),
    3: field("isMonotonic", "bool"),
  })),
  9: field("histogram", () => ({
    1: field("dataPoints", () => HISTOGRAM_POINT, true),
    [TEMPORALITY]: field("aggregationTemporality", "int32"),
  })),
  10: field("exponentialHistogram", () => ({
    1: field("dataPoints", () => EXPONENTIAL_POINT, true),
    [TEMPORALITY]: field("aggregationTemporality", "int32"),
  })),
  11: field("summary", () => ({ 1: field("dataPoints", () => SUMMARY_POINT, true) })),
};
const SCOPE_METRICS: MessageSchema = {
  1: field("scope", () => SCOPE),
  2: field("metrics", () => METRIC, true),
};
const RESOURCE_METRICS: MessageSchema = {
  1: field("resource", () => RESOURCE),
  2: field("scopeMetrics", () => SCOPE_METRICS, true),
};
/** `opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest`. */
export const EXPORT_METRICS_REQUEST: MessageSchema = {
  1: field("resourceMetrics", () => RESOURCE_METRICS, true),
};

// --- opentelemetry/proto/logs/v1/logs.proto

const LOG_RECORD: MessageSchema = {
  1: field("timeUnixNano", "fixed64"),
  2: field("severityNumber", "int32"),
  3: field("severityText", "string"),
  5: field("body", () => ANY_VALUE),
  ...ATTRIBUTES(6),
  8: field("flags", "fixed32"),
  9: field("traceId", "bytes"),
  10: field("spanId", "bytes"),
  11: field("observedTimeUnixNano", "fixed64"),
  12: field("eventName", "string"),
};
const SCOPE_LOGS: MessageSchema = {
  1: field("scope", () => SCOPE),
  2: field("logRecords", () => LOG_RECORD, true),
};
const RESOURCE_LOGS: MessageSchema = {
  1: field("resource", () => RESOURCE),
  2: field("scopeLogs", () => SCOPE_LOGS, true),
};
/** `opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest`. */
export const EXPORT_LOGS_REQUEST: MessageSchema = {
  1: field("resourceLogs", () => RESOURCE_LOGS, true),
};

// --- The wire format.

const WIRE_VARINT = 0;
const WIRE_64 = 1;
const WIRE_LENGTH = 2;
const WIRE_32 = 5;
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Reads one protobuf-encoded buffer front to back. */
class Reader {
  #at = 0;

  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.#at >= this.bytes.length;
  }

  varint(): bigint {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.#at >= this.bytes.length) throw new RangeError("truncated varint");
      const byte = this.bytes[this.#at++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new RangeError("varint longer than 10 bytes");
  }

  take(length: number): Uint8Array {
    if (this.#at + length > this.bytes.length) throw new RangeError("truncated field");
    const slice = this.bytes.subarray(this.#at, this.#at + length);
    this.#at += length;
    return slice;
  }

  fixed32(): DataView {
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.#at, 4);
    this.take(4);
    return view;
  }

  fixed64(): DataView {
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.#at, 8);
    this.take(8);
    return view;
  }

  /** Skips a field of an unknown number. */
  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_64) this.take(8);
    else if (wire === WIRE_LENGTH) this.take(Number(this.varint()));
    else if (wire === WIRE_32) this.take(4);
    else throw new RangeError(`unsupported wire type ${wire}`);
  }
}

/** Reads one scalar of `type` encoded with `wire`. */
function readScalar(reader: Reader, type: Scalar, wire: number): unknown {
  switch (type) {
    case "string":
      return decoder.decode(reader.take(Number(reader.varint())));
    case "bytes":
      return reader.take(Number(reader.varint())).slice();
    case "bool":
      return reader.varint() !== 0n;
    case "int32":
      return Number(BigInt.asIntN(32, reader.varint()));
    case "uint32":
      return Number(BigInt.asUintN(32, reader.varint()));
    case "sint32": {
      const n = Number(BigInt.asUintN(32, reader.varint()));
      return (n >>> 1) ^ -(n & 1);
    }
    case "int64":
      return BigInt.asIntN(64, reader.varint()).toString();
    case "fixed32":
      return reader.fixed32().getUint32(0, true);
    case "fixed64":
      return reader.fixed64().getBigUint64(0, true).toString();
    case "sfixed64":
      return reader.fixed64().getBigInt64(0, true).toString();
    case "double":
      if (wire !== WIRE_64) throw new RangeError("a double must be a 64-bit field");
      return reader.fixed64().getFloat64(0, true);
  }
}

/** Decodes one message of `schema` from `bytes`. */
export function decodeMessage(bytes: Uint8Array, schema: MessageSchema): Decoded {
  const reader = new Reader(bytes);
  const message: Decoded = {};
  while (!reader.done) {
    const key = Number(reader.varint());
    const number = key >>> 3;
    const wire = key & 7;
    const spec = schema[number];
    if (spec === undefined) {
      reader.skip(wire);
      continue;
    }
    const values: unknown[] = [];
    if (typeof spec.type === "function") {
      values.push(decodeMessage(reader.take(Number(reader.varint())), spec.type()));
    } else if (wire === WIRE_LENGTH && spec.type !== "string" && spec.type !== "bytes") {
      // A packed run of scalars.
      const packed = new Reader(reader.take(Number(reader.varint())));
      const elementWire = spec.type === "double" || spec.type.endsWith("fixed64")
        ? WIRE_64
        : spec.type === "fixed32"
        ? WIRE_32
        : WIRE_VARINT;
      while (!packed.done) values.push(readScalar(packed, spec.type, elementWire));
    } else {
      values.push(readScalar(reader, spec.type, wire));
    }
    if (spec.repeated) {
      const list = (message[spec.name] ??= []) as unknown[];
      list.push(...values);
    } else {
      message[spec.name] = values.at(-1);
    }
  }
  return message;
}
