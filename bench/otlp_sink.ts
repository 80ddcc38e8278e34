/**
 * A local OTLP/HTTP endpoint for the "telemetry on" run: it accepts traces, metrics and
 * logs and counts what arrived, without decoding (decoding is not what is measured).
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
}

/** Starts the sink on a loopback port. */
export function startOtlpSink(): OtlpSink {
  const requests: Record<string, number> = {};
  let bytes = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.arrayBuffer();
    const path = new URL(req.url).pathname;
    requests[path] = (requests[path] ?? 0) + 1;
    bytes += body.byteLength;
    return new Response(new Uint8Array(0), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    counts: () => ({ requests: { ...requests }, bytes }),
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
