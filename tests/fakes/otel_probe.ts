/**
 * What the OpenTelemetry set-up tests share: log output captured as text, a check of
 * whether the global API hands out live spans, and a little telemetry of every kind.
 * @module
 */
import { trace } from "@opentelemetry/api";
import { getLogger } from "../../src/log/mod.ts";
import type { Telemetry } from "../../src/telemetry/mod.ts";

/** Log output captured as text (a `writable` for `initWithOtel`). */
export function captureOutput(): {
  writable: WritableStream<Uint8Array>;
  text(): string;
  lines(): Record<string, unknown>[];
} {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      chunks.push(decoder.decode(chunk, { stream: true }));
    },
  });
  return {
    writable,
    text: () => chunks.join(""),
    lines: () =>
      chunks.join("").split("\n").filter((l) => l !== "").map((l) =>
        JSON.parse(l) as Record<string, unknown>
      ),
  };
}

/** True when the global API hands out real (recording) spans. */
export function globalTracingIsLive(): boolean {
  const span = trace.getTracer("probe").startSpan("probe");
  const live = span.isRecording(); // an SDK span stops recording once ended
  span.end();
  return live;
}

/**
 * A little of everything: a counter, a connection span with a child span and a log line
 * inside it. Returns the connection span's traceparent (undefined when tracing is off).
 */
export async function exercise(telemetry: Telemetry): Promise<string | undefined> {
  telemetry.ws.connectionOpened();
  telemetry.projector.framePublished("state", "Token");
  return await telemetry.tracing.inSpan("ws.connection", { "client.id": "c1" }, async (span) => {
    await Promise.resolve(); // the span stays current across an await
    telemetry.tracing.inSpan("ws.subscribe.state", { view: "Token/state" }, () => {});
    getLogger(["pharos", "ws"]).info("Client {client_id} subscribed", { client_id: "c1" });
    return span.traceparent;
  }, { root: true, kind: "server" });
}
