/**
 * A local OTLP/HTTP endpoint for the "telemetry on" run: it accepts traces, metrics and
 * logs and counts what arrived. Of the traces it reads only each span's start time (a walk
 * over the protobuf fields, no decoding), so the spans a server exported during a phase can
 * be counted once it has exited.
 * @module
 */

/** What the sink received. */
export interface SinkCounts {
  readonly requests: Record<string, number>;
  readonly bytes: number;
}

/** A running sink. */
export interface OtlpSink extends AsyncDisposable {
  readonly url: string;
  counts(): SinkCounts;
  /** Spans received so far that started from `fromMs` to `toMs` (epoch milliseconds). */
  spansStarted(fromMs: number, toMs: number): number;
}

/** Reads a protobuf varint at `at`: [value, next offset]. Lengths and tags fit 2^53. */
function varint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at];
    scale *= 128;
  }
}

/**
 * Calls `onField(number, start, end)` for each length-delimited field of the message in
 * `bytes[from, to)`, and `onFixed64(number, at)` for each 64-bit one; skips the rest.
 */
function walk(
  bytes: Uint8Array,
  from: number,
  to: number,
  onField: (field: number, start: number, end: number) => void,
  onFixed64: (field: number, at: number) => void = () => {},
): void {
  let at = from;
  while (at < to) {
    const [tag, next] = varint(bytes, at);
    at = next;
    const wire = tag & 7;
    const field = Math.floor(tag / 8);
    if (wire === 0) at = varint(bytes, at)[1];
    else if (wire === 1) {
      onFixed64(field, at);
      at += 8;
    } else if (wire === 2) {
      const [length, start] = varint(bytes, at);
      onField(field, start, start + length);
      at = start + length;
    } else if (wire === 5) at += 4;
    else throw new Error(`unexpected protobuf wire type ${wire}`);
  }
}

/** Each span's start time in an ExportTraceServiceRequest, epoch milliseconds. */
function spanStarts(bytes: Uint8Array, into: number[]): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // resource_spans (1) → scope_spans (2) → spans (2) → start_time_unix_nano (7, fixed64)
  walk(bytes, 0, bytes.length, (f1, s1, e1) => {
    if (f1 !== 1) return;
    walk(bytes, s1, e1, (f2, s2, e2) => {
      if (f2 !== 2) return;
      walk(bytes, s2, e2, (f3, s3, e3) => {
        if (f3 !== 2) return;
        walk(bytes, s3, e3, () => {}, (f4, at) => {
          if (f4 === 7) into.push(Number(view.getBigUint64(at, true) / 1_000_000n));
        });
      });
    });
  });
}

/** Starts the sink on a loopback port. */
export function startOtlpSink(): OtlpSink {
  const requests: Record<string, number> = {};
  let bytes = 0;
  const starts: number[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const gzipped = req.headers.get("content-encoding") === "gzip" && req.body !== null;
    const body = gzipped
      ? await new Response(req.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer()
      : await req.arrayBuffer();
    const path = new URL(req.url).pathname;
    requests[path] = (requests[path] ?? 0) + 1;
    bytes += body.byteLength;
    if (path === "/v1/traces") spanStarts(new Uint8Array(body), starts);
    return new Response(new Uint8Array(0), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    counts: () => ({ requests: { ...requests }, bytes }),
    spansStarted: (fromMs, toMs) => starts.filter((at) => at >= fromMs && at <= toMs).length,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
