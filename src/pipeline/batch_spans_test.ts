import assert from "node:assert/strict";
import type { PharosEvent } from "../stack/mod.ts";
import type { VmBatchResult } from "../vm/mod.ts";
import { FakeClock } from "../../tests/fakes/fake_clock.ts";
import { transfer } from "../../tests/fakes/manual_source.ts";
import { createRecordingTracing } from "../../tests/fakes/recording_tracing.ts";
import { BatchSpans, MAX_SPAN_ENTITIES } from "./batch_spans.ts";
import { EventTreeChooser } from "./event_trees.ts";
import type { IntakeBatch } from "./intake.ts";

const PRODUCER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const REQUEST = "00-11111111111111111111111111111111-2222222222222222-01";

function untraced(count: number, slot = 1): PharosEvent[] {
  return Array.from({ length: count }, (_, i) => transfer(`m${i}`, slot + i));
}

/** A VM result for events `from` to `next` of `batch`, one mutation each. */
function ran(batch: IntakeBatch, from = 0, next = batch.events.length): VmBatchResult {
  const mutations = [];
  const mutationEvents = [];
  for (let i = from; i < next; i++) {
    mutations.push({ entity: "Token", key: `k${i}`, patch: {}, append: [] });
    mutationEvents.push(i);
  }
  return { next, mutations, mutationEvents, failures: [], endedAt: undefined };
}

function batchOf(events: PharosEvent[], source = "ingest", arrivals: string[] = []): IntakeBatch {
  return { events, sources: events.map(() => source), arrivedAt: 0, arrivals };
}

Deno.test("event trees: traced events, a sampled share of the rest, a bucket for both", async (t) => {
  await t.step("every traced event, and one in 1 / ratio of the others", () => {
    const clock = new FakeClock();
    const chooser = new EventTreeChooser(clock, {
      eventRatio: 0.1,
      eventsPerSecond: 1000,
      batchesPerSecond: 10,
    });
    const events = untraced(30);
    events[3] = { ...events[3]!, traceparent: PRODUCER };
    assert.equal(chooser.mayChoose(events, 0), true);
    const chosen = events.flatMap((event, i) => chooser.choose(event) ? [i] : []);
    // The first untraced event is sampled, then one in ten; the traced one does not count.
    assert.deepEqual(chosen, [0, 3, 11, 21]);
  });

  await t.step("no more trees a second than the bucket holds; it refills with time", () => {
    const clock = new FakeClock();
    const chooser = new EventTreeChooser(clock, {
      eventRatio: 1,
      eventsPerSecond: 5,
      batchesPerSecond: 10,
    });
    const events = untraced(100);
    assert.equal(chooser.mayChoose(events, 0), true);
    assert.equal(events.filter((event) => chooser.choose(event)).length, 5);
    assert.equal(chooser.mayChoose(events, 0), false, "no token left: no timings asked for");
    clock.advance(400);
    assert.equal(chooser.mayChoose(events, 0), true);
    assert.equal(events.filter((event) => chooser.choose(event)).length, 2, "2 tokens in 0.4 s");
  });

  await t.step("a slice with neither a traced event nor a sample due asks for no timings", () => {
    const clock = new FakeClock();
    const chooser = new EventTreeChooser(clock, {
      eventRatio: 0.01,
      eventsPerSecond: 20,
      batchesPerSecond: 10,
    });
    assert.equal(chooser.mayChoose(untraced(1), 0), true, "the first event is sampled");
    assert.equal(chooser.choose(untraced(1)[0]!), true);
    assert.equal(chooser.mayChoose(untraced(50), 0), false);
    chooser.skipped(50);
    assert.equal(chooser.mayChoose(untraced(50), 0), true, "the 100th event is due");
    const none = new EventTreeChooser(clock, {
      eventRatio: 0,
      eventsPerSecond: 20,
      batchesPerSecond: 10,
    });
    assert.equal(none.mayChoose(untraced(10_000), 0), false, "ratio 0: untraced events never");
  });
});

Deno.test("batch spans: what a batch covered, linked to where its events came from", async (t) => {
  await t.step("one consumer span per batch, with messaging attributes and links", () => {
    const clock = new FakeClock();
    const tracing = createRecordingTracing(true);
    const spans = new BatchSpans({ tracing, clock, perSecond: 10 });
    const events = untraced(3, 40);
    events[1] = { ...events[1]!, traceparent: PRODUCER };
    const batch = batchOf(events, "ingest", [REQUEST]);
    spans.add({
      batch,
      from: 0,
      result: ran(batch),
      startedAt: 5,
      endedAt: 7,
      eventSpans: undefined,
    });
    spans.batchDone();
    const [span, ...others] = tracing.named("process pipeline");
    assert.equal(others.length, 0);
    assert.deepEqual(span!.attributes, {
      "messaging.system": "pharos",
      "messaging.operation.type": "process",
      "messaging.operation.name": "process",
      "messaging.destination.name": "pipeline",
      "messaging.batch.message_count": 3,
      "pharos.batch.count": 1,
      "pharos.batch.sources": "ingest",
      "pharos.batch.positions": "ingest: 3 events, slots 40-42",
      "pharos.batch.entities": "Token/k0,Token/k1,Token/k2",
      "pharos.batch.entities_truncated": false,
      "pharos.batch.traced_events": 0,
      "pharos.batch.failures": 0,
      "pharos.batch.handler_host_runs": 0,
    });
    assert.deepEqual(span!.links, [REQUEST, PRODUCER]);
    assert.equal(span!.root, true);
    assert.deepEqual([span!.startTime, span!.endTime], [5, 7]);
  });

  await t.step("batches faster than the limit share a span; a timer ends it", () => {
    const clock = new FakeClock();
    const tracing = createRecordingTracing(true);
    const spans = new BatchSpans({ tracing, clock, perSecond: 10 });
    for (let i = 0; i < 25; i++) {
      const batch = batchOf(untraced(4, i * 4), i % 2 === 0 ? "a" : "b");
      const now = clock.monotonic();
      spans.add({
        batch,
        from: 0,
        result: ran(batch),
        startedAt: now,
        endedAt: now + 1,
        eventSpans: undefined,
      });
      spans.batchDone();
      clock.advance(10);
    }
    // 250 ms of batches every 10 ms: a span at 0 ms, then by timer at 100 ms (the batches of
    // 10 to 90 ms) and 200 ms (100 to 190 ms).
    const ended = () => tracing.named("process pipeline").filter((span) => span.ended);
    const recorded = ended();
    assert.deepEqual(recorded.map((s) => s.attributes["pharos.batch.count"]), [1, 9, 10]);
    clock.advance(100);
    const all = ended();
    assert.equal(tracing.named("process pipeline").length, all.length, "none left open");
    assert.deepEqual(all.map((s) => s.attributes["pharos.batch.count"]), [1, 9, 10, 5]);
    const events = all.reduce(
      (n, s) => n + Number(s.attributes["messaging.batch.message_count"]),
      0,
    );
    assert.equal(events, 100, "every event is in exactly one span");
    assert.equal(all[1]!.attributes["pharos.batch.sources"], "b,a");
    assert.equal(clock.pendingTimers, 0);
  });

  await t.step("entity names stop at the cap and say so; failures mark the span", () => {
    const clock = new FakeClock();
    const tracing = createRecordingTracing(true);
    const spans = new BatchSpans({ tracing, clock, perSecond: 10 });
    const batch = batchOf(untraced(MAX_SPAN_ENTITIES + 5));
    const result = {
      ...ran(batch),
      failures: [{ event: 2, entity: "Token", code: "bad", error: new Error("bad") }],
    } as unknown as VmBatchResult;
    spans.add({ batch, from: 0, result, startedAt: 0, endedAt: 1, eventSpans: undefined });
    spans.flush();
    const [span] = tracing.named("process pipeline");
    assert.equal(
      String(span!.attributes["pharos.batch.entities"]).split(",").length,
      MAX_SPAN_ENTITIES,
    );
    assert.equal(span!.attributes["pharos.batch.entities_truncated"], true);
    assert.equal(span!.attributes["pharos.batch.failures"], 1);
    assert.equal(span!.errors.length, 1);
  });

  await t.step("per-event trees made for the batch are linked, so the batch leads to them", () => {
    const clock = new FakeClock();
    const tracing = createRecordingTracing(true);
    const spans = new BatchSpans({ tracing, clock, perSecond: 10 });
    const batch = batchOf(untraced(2));
    const tree = tracing.startSpan("vm.process_event", {});
    spans.add({
      batch,
      from: 0,
      result: ran(batch),
      startedAt: 0,
      endedAt: 1,
      eventSpans: [tree, undefined],
    });
    spans.flush();
    const [span] = tracing.named("process pipeline");
    assert.deepEqual(span!.links, [tree.traceparent]);
    assert.equal(span!.attributes["pharos.batch.traced_events"], 1);
  });
});
