import assert from "node:assert/strict";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { recordLogs } from "../../tests/fakes/recording_log.ts";
import { createExportOutcomes, ResilientSpanExporter } from "./resilient_export.ts";

/** A port on 127.0.0.1 with nothing listening. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Some finished spans to export. */
async function someSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  provider.getTracer("t").startSpan("a").end();
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

function exportOnce(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

Deno.test("export failures: counted each time, warned at most once per interval, resume logged", async () => {
  await using logs = await recordLogs(["pharos", "telemetry"]);
  const clock = new FakeClock();
  let counted = 0;
  const outcomes = createExportOutcomes({
    signal: "traces",
    clock,
    count: () => counted++,
    log: logs.log,
  });
  outcomes.failed(new Error("connect ECONNREFUSED 127.0.0.1:4318"));
  clock.advance(10_000);
  outcomes.failed(new Error("again"));
  outcomes.failed(undefined);
  assert.equal(counted, 3);
  assert.equal(logs.at("warning").length, 1, "one warning in the first 30 s");
  assert.deepEqual(logs.at("warning")[0]!.properties, {
    signal: "traces",
    count: 1,
    total: 1,
    error: "connect ECONNREFUSED 127.0.0.1:4318",
  });

  clock.advance(20_000);
  outcomes.failed(new Error("still down"));
  assert.equal(logs.at("warning").length, 2);
  assert.equal(logs.at("warning")[1]!.properties["count"], 3, "failures since the last line");
  assert.equal(logs.at("warning")[1]!.properties["total"], 4);

  outcomes.succeeded();
  outcomes.succeeded();
  assert.equal(logs.at("info").length, 1, "one line when export resumes");
  assert.match(logs.text(), /traces export resumed/);
  assert.equal(counted, 4);
});

Deno.test("a span exporter pointed at a closed port fails through the callback, never throws", async () => {
  await using logs = await recordLogs(["pharos", "telemetry"]);
  let counted = 0;
  const inner = new OTLPTraceExporter({
    url: `http://127.0.0.1:${closedPort()}/v1/traces`,
    timeoutMillis: 300,
  });
  const exporter = new ResilientSpanExporter(
    inner,
    createExportOutcomes({ signal: "traces", clock: new FakeClock(), count: () => counted++ }),
  );
  const result = await exportOnce(exporter, await someSpans());
  assert.equal(result.code, ExportResultCode.FAILED);
  assert.equal(counted, 1);
  assert.equal(logs.at("warning").length, 1);
  await exporter.forceFlush();
  await exporter.shutdown();
});

Deno.test("a misbehaving exporter is contained", async (t) => {
  await using _logs = await recordLogs(["pharos", "telemetry"]);
  const spans = await someSpans();
  let counted = 0;
  const outcomes = () =>
    createExportOutcomes({ signal: "traces", clock: new FakeClock(), count: () => counted++ });

  await t.step("export throws synchronously", async () => {
    const exporter = new ResilientSpanExporter({
      export: () => {
        throw new TypeError("serializer exploded");
      },
      shutdown: () => Promise.reject(new Error("shutdown failed")),
      forceFlush: () => Promise.reject(new Error("flush failed")),
    }, outcomes());
    const result = await exportOnce(exporter, spans);
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.equal((result.error as Error).message, "serializer exploded");
    await exporter.forceFlush();
    await exporter.shutdown();
  });

  await t.step("the callback is called twice", async () => {
    counted = 0;
    let calls = 0;
    const exporter = new ResilientSpanExporter({
      export: (_spans, done) => {
        done({ code: ExportResultCode.FAILED });
        done({ code: ExportResultCode.SUCCESS });
      },
      shutdown: () => Promise.resolve(),
    }, outcomes());
    exporter.export(spans, () => calls++);
    assert.equal(calls, 1);
    assert.equal(counted, 1);
    await exporter.forceFlush(); // inner has none: fine
  });
});
