import assert from "node:assert/strict";
import { context, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { createOtelTracing, TRACER_NAME } from "./otel_tracing.ts";
import { nextTurn } from "../../tests/wait.ts";

/** A provider recording to memory, and an ALS context manager registered for the test. */
function setUp(options: { contextManager?: boolean; sampler?: "off" } = {}) {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    ...(options.sampler === "off" ? { sampler: new AlwaysOffSampler() } : {}),
  });
  const manager = new AsyncLocalStorageContextManager();
  if (options.contextManager !== false) {
    assert.ok(context.setGlobalContextManager(manager.enable()), "no other context manager");
  }
  const tracing = createOtelTracing(provider.getTracer(TRACER_NAME));
  return {
    tracing,
    provider,
    spans: () => exporter.getFinishedSpans(),
    span(name: string): ReadableSpan {
      const found = exporter.getFinishedSpans().filter((s) => s.name === name);
      assert.equal(found.length, 1, `one ${name} span among ${found.map((s) => s.name)}`);
      return found[0]!;
    },
    async [Symbol.asyncDispose]() {
      if (options.contextManager !== false) context.disable();
      await provider.shutdown();
    },
  };
}

/** A timer hop: context must survive it. */
const tick = nextTurn;

Deno.test("inSpan nests children across await and returns the result unchanged", async () => {
  await using t = setUp();
  const outcome = await t.tracing.inSpan("ws.connection", { "client.id": "c1" }, async (span) => {
    span.setAttribute("peer.address", "127.0.0.1:1");
    await tick();
    const inner = t.tracing.inSpan("ws.subscribe.state", { view: "Token/state" }, () => 42);
    await tick();
    const later = await t.tracing.inSpan("ws.subscribe.list", {}, async () => {
      await tick();
      return "listed";
    });
    return { inner, later };
  });
  assert.deepEqual(outcome, { inner: 42, later: "listed" });

  const parent = t.span("ws.connection");
  const state = t.span("ws.subscribe.state");
  const list = t.span("ws.subscribe.list");
  assert.equal(parent.parentSpanContext, undefined);
  for (const child of [state, list]) {
    assert.equal(child.spanContext().traceId, parent.spanContext().traceId);
    assert.equal(child.parentSpanContext?.spanId, parent.spanContext().spanId);
    assert.equal(child.ended, true);
  }
  assert.deepEqual(parent.attributes, { "client.id": "c1", "peer.address": "127.0.0.1:1" });
  assert.equal(state.attributes["view"], "Token/state");
  assert.equal(parent.status.code, SpanStatusCode.UNSET);
  assert.equal(parent.instrumentationScope.name, "pharos");
});

Deno.test("inSpan returns the very promise fn returned and ends the span before the caller resumes", async () => {
  await using t = setUp();
  const promise = Promise.resolve("same");
  const returned = t.tracing.inSpan("vm.process_event", {}, () => promise);
  assert.equal(returned, promise);
  await returned;
  assert.equal(t.span("vm.process_event").ended, true);
});

Deno.test("a throw or a rejection marks the span ERROR and records the exception", async (t) => {
  await using s = setUp();
  await t.step("sync throw", () => {
    const error = new RangeError("bad slot");
    assert.throws(
      () =>
        s.tracing.inSpan("projector.mutation", {}, () => {
          throw error;
        }),
      (thrown) => thrown === error,
    );
    const span = s.span("projector.mutation");
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.status.message, "RangeError: bad slot");
    assert.equal(span.events.length, 1);
    assert.equal(span.events[0]!.name, "exception");
    assert.equal(span.events[0]!.attributes?.["exception.type"], "RangeError");
    assert.equal(span.events[0]!.attributes?.["exception.message"], "bad slot");
  });
  await t.step("async rejection", async () => {
    const error = new TypeError("no such view");
    await assert.rejects(
      s.tracing.inSpan("projector.publish", {}, async () => {
        await tick();
        throw error;
      }),
      (thrown) => thrown === error,
    );
    const span = s.span("projector.publish");
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.ended, true);
    assert.equal(span.events[0]?.attributes?.["exception.message"], "no such view");
  });
  await t.step("a non-Error thrown value", () => {
    assert.throws(() =>
      s.tracing.inSpan("bus.cleanup", {}, () => {
        throw "plain";
      })
    );
    const span = s.span("bus.cleanup");
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.status.message, "plain");
  });
  await t.step("recordError through the handle without throwing", () => {
    s.tracing.inSpan("source", {}, (span) => span.recordError(new Error("reconnecting")));
    assert.equal(s.span("source").status.code, SpanStatusCode.ERROR);
  });
});

Deno.test("root: true starts a new trace even inside another span", async () => {
  await using t = setUp();
  await t.tracing.inSpan("runtime", {}, async () => {
    await tick();
    t.tracing.inSpan("vm.process_event", {}, () => {}, { root: true });
    t.tracing.inSpan("projector", {}, () => {});
  });
  const runtime = t.span("runtime");
  const event = t.span("vm.process_event");
  assert.equal(event.parentSpanContext, undefined);
  assert.notEqual(event.spanContext().traceId, runtime.spanContext().traceId);
  assert.equal(t.span("projector").parentSpanContext?.spanId, runtime.spanContext().spanId);
});

Deno.test("detached runs without the active span, also for callbacks it registers", async () => {
  await using t = setUp();
  let later: () => unknown = () => "not run";
  await t.tracing.inSpan("GET /", {}, () => {
    assert.equal(t.tracing.activeSpan()?.name, "GET /");
    t.tracing.detached(() => {
      assert.equal(t.tracing.activeSpan(), undefined);
      const done = Promise.resolve();
      later = () => done.then(() => t.tracing.activeSpan());
    });
  });
  assert.equal(await later(), undefined, "a continuation registered inside sees no span");
});

Deno.test("parent continues a W3C traceparent; an invalid one falls back", async () => {
  await using t = setUp();
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const spanId = "00f067aa0ba902b7";
  t.tracing.inSpan("vm.process_event", { slot: 7 }, () => {}, {
    root: true,
    parent: `00-${traceId}-${spanId}-01`,
    kind: "consumer",
  });
  const span = t.span("vm.process_event");
  assert.equal(span.spanContext().traceId, traceId);
  assert.equal(span.parentSpanContext?.spanId, spanId);
  assert.equal(span.parentSpanContext?.isRemote, true);
  assert.equal(span.kind, SpanKind.CONSUMER);

  await t.tracing.inSpan("ws.connection", {}, async () => {
    await tick();
    t.tracing.inSpan("bad.parent.root", {}, () => {}, { root: true, parent: "garbage" });
    t.tracing.inSpan("bad.parent.child", {}, () => {}, { parent: "00-zz-yy-01" });
  });
  const connection = t.span("ws.connection");
  assert.equal(t.span("bad.parent.root").parentSpanContext, undefined);
  assert.equal(
    t.span("bad.parent.child").parentSpanContext?.spanId,
    connection.spanContext().spanId,
  );
});

Deno.test("span kinds map to OpenTelemetry kinds", async () => {
  await using t = setUp();
  const kinds = ["internal", "server", "client", "producer", "consumer"] as const;
  for (const kind of kinds) t.tracing.inSpan(`k.${kind}`, {}, () => {}, { kind });
  assert.deepEqual(
    kinds.map((kind) => t.span(`k.${kind}`).kind),
    [SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER],
  );
});

Deno.test("startSpan: run activates it across await, end is idempotent, traceparent formats", async () => {
  await using t = setUp();
  const connection = t.tracing.startSpan("ws.connection", { "client.id": "c9" }, {
    root: true,
    kind: "server",
  });
  const sc = () => t.spans().length;
  assert.match(connection.traceparent ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  await connection.run(async () => {
    await tick();
    await t.tracing.inSpan("ws.subscribe.derived", {}, async () => {
      await tick();
      assert.equal(t.tracing.activeSpan()?.name, "ws.subscribe.derived");
    });
    assert.equal(t.tracing.activeSpan()?.name, "ws.connection");
  });
  assert.equal(t.tracing.activeSpan(), undefined, "run restores the previous context");
  assert.equal(sc(), 1, "the open span is not exported before end");
  connection.setAttribute("closed.code", 1000);
  connection.end();
  connection.end();
  const span = t.span("ws.connection");
  const child = t.span("ws.subscribe.derived");
  assert.equal(child.parentSpanContext?.spanId, span.spanContext().spanId);
  assert.equal(span.attributes["closed.code"], 1000);
  assert.equal(span.kind, SpanKind.SERVER);
  const { traceId, spanId } = span.spanContext();
  assert.equal(connection.traceparent, `00-${traceId}-${spanId}-01`);

  // The traceparent continues the trace elsewhere (as the ingest path hands it over).
  t.tracing.inSpan("later", {}, () => {}, { root: true, parent: connection.traceparent! });
  assert.equal(t.span("later").spanContext().traceId, traceId);
  assert.equal(t.span("later").parentSpanContext?.spanId, spanId);
});

Deno.test("activeSpan reports name and ids of the current span, undefined outside", async () => {
  await using t = setUp();
  assert.equal(t.tracing.activeSpan(), undefined);
  await t.tracing.inSpan("projector.mutation", { entity: "Token" }, async (handle) => {
    await tick();
    const active = t.tracing.activeSpan();
    assert.ok(active);
    assert.equal(active.name, "projector.mutation");
    assert.equal(handle.traceparent, `00-${active.traceId}-${active.spanId}-01`);
  });
  // A span made by other code with the tracer directly is named from the SDK span.
  t.provider.getTracer("host").startActiveSpan("host.work", (span) => {
    assert.equal(t.tracing.activeSpan()?.name, "host.work");
    assert.equal(t.tracing.activeSpan()?.spanId, span.spanContext().spanId);
    span.end();
  });
  assert.equal(t.tracing.activeSpan(), undefined);
});

Deno.test("unsampled spans keep propagating ids but are not exported", async () => {
  await using t = setUp({ sampler: "off" });
  const traceparent = t.tracing.inSpan("vm.process_event", {}, (span) => span.traceparent);
  assert.match(traceparent ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.equal(t.spans().length, 0);
});

Deno.test("without a context manager spans still record (as roots) and nothing throws", async () => {
  await using t = setUp({ contextManager: false });
  const value = await t.tracing.inSpan("outer", {}, async () => {
    await tick();
    return t.tracing.inSpan("inner", {}, () => "ok");
  });
  assert.equal(value, "ok");
  assert.equal(t.spans().length, 2);
});
