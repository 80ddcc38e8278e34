import assert from "node:assert/strict";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { until } from "../../tests/wait.ts";
import { recordLogs } from "../../tests/fakes/recording_log.ts";
import type { Logger } from "../log/mod.ts";
import { createOtlpLogs } from "./otlp_logs.ts";
import {
  createExportOutcomes,
  ResilientMetricExporter,
  ResilientSpanExporter,
} from "./resilient_export.ts";

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

/** An exporter that answers after `ms` on `clock` with `result`. */
function answering(clock: FakeClock, ms: number, result: ExportResult) {
  return {
    export: (_items: unknown, done: (result: ExportResult) => void) => {
      clock.advance(ms);
      done(result);
    },
    shutdown: () => Promise.resolve(),
    forceFlush: () => Promise.resolve(),
  };
}

Deno.test("each export batch is one debug line under pharos.telemetry", async (t) => {
  const clock = new FakeClock();
  const outcomes = (signal: "traces" | "metrics", log?: Logger) =>
    createExportOutcomes({
      signal,
      clock,
      count: () => {},
      ...(log === undefined ? {} : { log }),
    });
  const spans = await someSpans();

  await t.step("traces: items, outcome and duration; a failure adds its error", async () => {
    await using logs = await recordLogs(["pharos", "telemetry"]);
    const ok = new ResilientSpanExporter(
      answering(clock, 12.5, { code: ExportResultCode.SUCCESS }),
      outcomes("traces", logs.log),
    );
    await exportOnce(ok, [...spans, ...spans]);
    const failing = new ResilientSpanExporter(
      answering(clock, 3, { code: ExportResultCode.FAILED, error: new Error("HTTP 503") }),
      outcomes("traces", logs.log),
    );
    await exportOnce(failing, spans);
    assert.deepEqual(logs.at("debug").map((r) => r.properties), [
      { signal: "traces", items: 2, outcome: "succeeded", duration_ms: 12.5 },
      { signal: "traces", items: 1, outcome: "failed", duration_ms: 3, error: "HTTP 503" },
    ]);
    assert.match(logs.text(), /^OpenTelemetry traces export of 2 items succeeded in 12\.5 ms/);
    assert.equal(logs.at("warning").length, 1, "the failure is still warned about");
  });

  await t.step("metrics: the items are the data points", async () => {
    await using logs = await recordLogs(["pharos", "telemetry"]);
    const exporter = new ResilientMetricExporter(
      answering(clock, 1, { code: ExportResultCode.SUCCESS }),
      outcomes("metrics", logs.log),
    );
    const metrics = {
      resource: resourceFromAttributes({}),
      scopeMetrics: [
        { scope: { name: "a" }, metrics: [{ dataPoints: [{}, {}] }, { dataPoints: [{}] }] },
        { scope: { name: "b" }, metrics: [{ dataPoints: [{}] }] },
      ],
    } as unknown as ResourceMetrics;
    await new Promise((resolve) => exporter.export(metrics, resolve));
    assert.deepEqual(logs.at("debug").map((r) => r.properties), [
      { signal: "metrics", items: 4, outcome: "succeeded", duration_ms: 1 },
    ]);
  });

  await t.step("logs: the line is written, but never exported itself (no loop)", async () => {
    const exported: string[] = [];
    let batches = 0;
    const otlp = createOtlpLogs({
      target: { url: "http://127.0.0.1:9/v1/logs", headers: {}, timeoutMs: 1000, gzip: false },
      queue: {
        maxQueueSize: 100,
        maxExportBatchSize: 100,
        scheduledDelayMs: 5,
        exportTimeoutMs: 1000,
      },
      resource: resourceFromAttributes({}),
      outcomes: createExportOutcomes({ signal: "logs", clock, count: () => {} }),
      exporter: {
        export: (records, done) => {
          batches++;
          for (const record of records) exported.push(String(record.body));
          done({ code: ExportResultCode.SUCCESS });
        },
        shutdown: () => Promise.resolve(),
        forceFlush: () => Promise.resolve(),
      },
    });
    const written: LogRecord[] = [];
    // As logging's `also` hook: every record allowed goes to stdout and to the exporter.
    await configure({
      reset: true,
      sinks: {
        out: (record: LogRecord) => {
          written.push(record);
          otlp.emit(record);
        },
      },
      loggers: [
        { category: ["pharos"], lowestLevel: "debug", sinks: ["out"] },
        { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
      ],
    });
    try {
      const log = getLogger(["pharos", "test"]);
      log.info("first");
      await until(() => batches === 1, "the first batch");
      // The barrier: a record made after the first batch's debug line, exported after it.
      log.info("second");
      await until(() => exported.includes("second"), "the second export");
      assert.deepEqual(exported, ["first", "second"]);
      const lines = written.filter((r) => r.category.join(".") === "pharos.telemetry");
      assert.ok(lines.length >= 1, "the batch line is written");
      assert.deepEqual(lines[0]!.properties["signal"], "logs");
      assert.deepEqual(lines[0]!.properties["items"], 1);
    } finally {
      await otlp.shutdown();
      await reset();
    }
  });

  await t.step("at info nothing is logged for an export", async () => {
    await using recorded = await recordLogs(["pharos", "telemetry"], "info");
    const exporter = new ResilientSpanExporter(
      answering(clock, 1, { code: ExportResultCode.SUCCESS }),
      outcomes("traces"),
    );
    await exportOnce(exporter, spans);
    assert.deepEqual(recorded.records, []);
  });
});
